"""Coral's ``edgetpu_compiler`` when it is on PATH: compile, then read its summary into numbers.

The compiler is x86-64 Linux only and not on PyPI; without it ``edgekit edgetpu-check`` predicts
the mapping instead (check.py). Its summary is "Key: value" lines such as
``Number of operations that will run on Edge TPU: 29`` and ``On-chip memory used for caching
model parameters: 4.27MiB``; ``-s`` adds a per-op table, which we keep as text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from edgekit.errors import EdgekitError

COMPILER = "edgetpu_compiler"
_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
_FIELDS = {
    "edge tpu compiler version": ("compiler_version", str),
    "number of edge tpu subgraphs": ("subgraphs", int),
    "total number of operations": ("ops_total", int),
    "number of operations that will run on edge tpu": ("ops_on_tpu", int),
    "number of operations that will run on cpu": ("ops_on_cpu", int),
    "on-chip memory used for caching model parameters": ("on_chip_bytes", "size"),
    "on-chip memory remaining for caching model parameters": ("on_chip_remaining_bytes", "size"),
    "off-chip memory used for streaming uncached model parameters": ("off_chip_bytes", "size"),
    "output model": ("output_model", str),
}


class CompilerError(EdgekitError):
    """The Edge TPU compiler is missing or refused the model."""


def available() -> str | None:
    """Whether edgetpu_compiler is on PATH."""
    return shutil.which(COMPILER)


def _size(text: str) -> int | None:
    match = re.match(r"([\d.]+)\s*([KMG]?i?B)", text.strip())
    return int(float(match[1]) * _UNITS.get(match[2], 1)) if match else None


def parse_report(text: str) -> dict:
    """The compiler's summary as numbers; a model with everything on the TPU has no CPU line."""
    out: dict = {}
    for line in text.splitlines():
        if line.startswith("Edge TPU Compiler version"):
            out["compiler_version"] = line.rsplit(" ", 1)[-1].strip()
            continue
        key, sep, value = line.partition(":")
        field = _FIELDS.get(key.strip().lower())
        if not sep or field is None:
            continue
        name, kind = field
        out[name] = _size(value) if kind == "size" else kind(value.strip())
    if "ops_total" in out:
        out.setdefault("ops_on_cpu", 0 if "ops_on_tpu" not in out else out["ops_total"] - out["ops_on_tpu"])
        out.setdefault("ops_on_tpu", out["ops_total"] - out["ops_on_cpu"])
    return out


def compile_model(model: Path, out_dir: Path, timeout: int = 300) -> dict:
    """Run the compiler on ``model`` into ``out_dir``; return the parsed report and the output path."""
    exe = available()
    if exe is None:
        raise CompilerError(f"{COMPILER} is not on PATH (x86-64 Linux: apt install edgetpu-compiler from "
                            f"Coral's package repository); 'edgekit edgetpu-check' predicts the mapping without it")
    try:
        done = subprocess.run([exe, "-s", "-o", str(out_dir), str(model)], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CompilerError(f"{COMPILER} did not finish within {timeout} s") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        raise CompilerError(f"{COMPILER} refused {model.name}: {lines[-1] if lines else done.returncode}")
    report = parse_report(done.stdout)
    report["output"] = str(out_dir / f"{model.stem}_edgetpu.tflite")
    report["log"] = done.stdout
    return report
