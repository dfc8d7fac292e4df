"""The fingerprint stored with every result: which machine, OS, Python and versions made it.

A latency means nothing without its conditions; two results are comparable only when these agree.
"""

from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("edgekit", "ai-edge-litert", "onnxruntime", "numpy")


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo; elsewhere what platform knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# SIMD extensions that decide which XNNPACK / ONNX Runtime kernels run, int8 ones above all: without a
# dot-product instruction (x86 VNNI, Arm SDOT/I8MM) int8 convolutions gain little over float, and a
# marketing name ("AMD EPYC") does not say which of these a CPU has.
KERNEL_FEATURES = (
    "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
    "amx_int8", "amx_bf16", "asimd", "asimddp", "i8mm", "asimdhp", "bf16", "sve", "sve2",
)


def cpu_features(cpuinfo: str | None = None) -> list[str]:
    """The ``KERNEL_FEATURES`` this CPU has (Linux /proc/cpuinfo ``flags`` or ``Features``; else [])."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return []
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            have = set(value.split())
            return [f for f in KERNEL_FEATURES if f in have]
    return []


def int8_dot_product(features: list[str]) -> str:
    """The widest int8 dot-product instruction among ``features`` ("none": int8 gains little over float)."""
    return next((f for f in ("amx_int8", "avx512_vnni", "avx_vnni", "i8mm", "asimddp") if f in features), "none")


def usable_cores() -> int:
    """Cores this process may run on (respects taskset / cgroup affinity where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def git_revision(where: str | Path | None = None) -> str | None:
    """``<sha>`` or ``<sha>-dirty`` of the git checkout at ``where`` (default: edgekit's own source)."""
    where = where or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=5)
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions(names=PACKAGES) -> dict[str, str]:
    """Installed versions of the distributions ``names`` (those not installed are left out)."""
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


@lru_cache(maxsize=1)
def _machine() -> dict:
    """What cannot change while a process runs: the machine, its CPU, the OS and Python."""
    return {
        "hostname": platform.node(),
        "cpu": cpu_model(),
        "cpu_features": cpu_features(),
        "machine": platform.machine(),
        "cores": os.cpu_count() or 1,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def conditions(argv: list[str]) -> dict:
    """What a benchmark script records beside its figures: the CPU and its features, the int8 dot-product
    instructions, usable cores, edgekit's git revision and the command that made them."""
    import os

    features = cpu_features()
    return {"cpu": cpu_model(), "cpu_features": features, "int8_dot_product": int8_dot_product(features),
            "cores": len(os.sched_getaffinity(0)), "git": git_revision(), "command": " ".join(argv)}


def fingerprint() -> dict:
    """This machine and software, as stored beside each result.

    Only what cannot change inside a process is cached; the CPU affinity, package versions and the
    git state (a checkout can be edited during a long sweep) are read afresh on every call.
    """
    machine = _machine()
    return {
        **{k: machine[k] for k in ("hostname", "cpu", "cpu_features", "machine", "cores")},
        "usable_cores": usable_cores(),
        **{k: machine[k] for k in ("os", "python")},
        "packages": package_versions(),
        "git": git_revision(),
    }
