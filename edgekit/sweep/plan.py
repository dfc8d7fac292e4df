"""A sweep suite file, validated, expanded into the cells of a work graph.

    name = "v1-grid"
    out = "models/sweep"                 # the content-addressed artifact cache
    models = ["v1-*"]                    # zoo names or patterns (fnmatch over every paper variant)
    precisions = ["float", "int8"]
    formats = ["tflite"]
    devices = ["host"]                   # device profiles (local executor) or Ray device resources
    threads = [1]
    steps = ["convert", "bench", "eval"]
    [weights]                            # default, and per model name or pattern
    default = "none"
    "v1-0.25-128" = "${EDGEKIT_DATA}/weights/mobilenet_2_5_128_tf.h5"
    [convert]                            # calib, calib_count, ptq, check_count
    [bench]                              # runs, warmup, min_time, rounds
    [eval]                               # data, limit

Everything is checked before any work starts: a typo in a model, device, step or key is one line.
Three kinds of cell, one graph: a *convert* job per model (its missing artifacts), a *bench* per
artifact x device x threads (needs the device alone), an *eval* per artifact (may share).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from edgekit.export.artifact import tool_versions
from edgekit.errors import EdgekitError
from edgekit.files import expand_path, read_toml, typed_table
from edgekit.vocab import DEFAULT_CALIB_COUNT, DEFAULT_PTQ, EXTENSIONS, FORMAT_PRECISIONS, FORMATS, PRECISIONS
from edgekit.zoo.spec import parse_model, zoo_specs

STEPS = ("convert", "bench", "eval")
TOP_KEYS = {"name", "out", "models", "precisions", "formats", "devices", "threads", "steps", "weights",
            "convert", "bench", "eval"}
CONVERT_KEYS = {"calib": str, "calib_count": int, "check_count": int, "ptq": str, "preprocess": str}
BENCH_KEYS = {"runs": int, "warmup": int, "min_time": float, "rounds": int}
EVAL_KEYS = {"data": str, "limit": int}


class SweepError(EdgekitError):
    """A sweep suite that cannot be read, names something unknown, or expands to nothing."""


@dataclass(frozen=True)
class Artifact:
    """One (model, format, precision) export, addressed by everything that decides its bytes."""
    model: str
    format: str
    precision: str
    weights: str
    key: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.model} {self.format}-{self.precision}"


@dataclass(frozen=True)
class Cell:
    """One bench or eval of an artifact (on a device, with threads), keyed for --resume."""
    step: str  # "bench" | "eval"
    artifact: Artifact
    device: str = "host"
    threads: int = 1
    key: str = ""

    @property
    def label(self) -> str:
        where = f" on {self.device}, {self.threads} thr" if self.step == "bench" else ""
        return f"{self.step} {self.artifact.label}{where}"


@dataclass
class Sweep:
    """A sweep file, validated, expanded into artifacts and cells."""
    path: Path
    name: str
    out: Path
    models: list[str]
    precisions: list[str]
    formats: list[str]
    devices: list[str]
    threads: list[int]
    steps: list[str]
    weights: dict[str, str]
    convert: dict = field(default_factory=dict)
    bench: dict = field(default_factory=dict)
    eval: dict = field(default_factory=dict)
    artifacts: list[Artifact] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"path": str(self.path), "name": self.name, "out": str(self.out), "models": self.models,
                "precisions": self.precisions, "formats": self.formats, "devices": self.devices,
                "threads": self.threads, "steps": self.steps, "artifacts": len(self.artifacts),
                "cells": len(self.cells)}


def _strings(data: dict, key: str, default: list[str], known: tuple[str, ...] | None = None) -> list[str]:
    values = data.get(key, default)
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise SweepError(f"sweep: {key} must be a list of strings")
    if known:
        bad = [v for v in values if v not in known]
        if bad:
            raise SweepError(f"sweep: unknown {key[:-1]} {bad[0]!r} (known: {', '.join(known)})")
    return values


def expand_models(patterns: list[str]) -> list[str]:
    """Names and fnmatch patterns -> zoo names, in order, without repeats. A pattern stays in the family its
    literal start names: ``v1-*`` is MobileNet v1's variants, not ``v1-conv-*`` too."""
    from edgekit.zoo.families import FAMILIES
    from edgekit.zoo.user import is_model_path

    specs = list(zoo_specs())
    out: list[str] = []

    def matching(pattern: str) -> list[str]:
        literal = re.split(r"[*?\[]", pattern.lower(), maxsplit=1)[0]
        named = [f for f in FAMILIES if literal.startswith(f + "-") or literal == f]
        family = max(named, key=len) if named else None
        return [s.name for s in specs if fnmatch.fnmatchcase(s.name, pattern.lower())
                and (family is None or s.family == family)]

    for pattern in patterns:
        if is_model_path(pattern):  # the user's own model file
            source = Path(expand_path(pattern, "sweep", SweepError))
            if not source.exists():
                raise SweepError(f"sweep: model file {source} does not exist")
            hits = [str(source)]
        elif any(ch in pattern for ch in "*?["):
            hits = matching(pattern)
            if not hits:
                raise SweepError(f"sweep: model pattern {pattern!r} matches no zoo variant (see 'edgekit models')")
        else:
            hits = [parse_model(pattern).name]  # one line with a suggestion for a typo
        out.extend(h for h in hits if h not in out)
    return out


def weights_for(model: str, table: dict[str, str]) -> str:
    """Per-model weights: an exact name wins over a pattern, a pattern over ``default``."""
    if model in table:
        return table[model]
    for pattern, value in table.items():
        if pattern != "default" and fnmatch.fnmatchcase(model, pattern):
            return value
    return table.get("default", "none")


def _weights_identity(model: str, weights: str) -> dict:
    from edgekit.zoo.user import is_model_path

    if is_model_path(model):
        from edgekit.files import sha256_file

        path = Path(model)
        return {"kind": "user", "sha256": sha256_file(path) if path.is_file() else digest(sorted(
            str(p) for p in path.rglob("*")))}
    from edgekit.zoo.weights import resolve

    return resolve(parse_model(model), weights).to_dict() | {"path": None}  # the bytes, not where they lie


def calibration_identity(convert: dict) -> dict:
    """The calibration images exactly (names and bytes of the files convert will pick)."""
    calib = convert.get("calib")
    if not calib:
        return {"calibration": "synthetic"}
    from edgekit.export.calibration import files_sha256
    from edgekit.data.dataset import list_images, spread

    folder = Path(calib)
    try:
        paths = spread(list_images(folder), convert.get("calib_count", DEFAULT_CALIB_COUNT))
    except EdgekitError as exc:
        raise SweepError(f"sweep [convert] calib: {exc}") from None
    files = [str(p.relative_to(folder)) for p in paths]
    return {"calibration_sha256": files_sha256(folder, files), "count": len(files)}


def digest(obj) -> str:
    """sha256 of ``obj`` as canonical JSON."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def load_sweep(path: str | Path, known_devices: set[str] | None = None) -> Sweep:
    """Read and validate ``path``; ``known_devices`` None skips the device check (Ray checks its nodes)."""
    path = Path(path)
    data = read_toml(path, TOP_KEYS, "sweep", SweepError)
    threads = data.get("threads", [1])
    if not isinstance(threads, list) or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 1
                                                for t in threads):
        raise SweepError(f"sweep {path}: threads must be a list of integers >= 1")
    weights = data.get("weights", {})
    if not isinstance(weights, dict) or not all(isinstance(v, str) for v in weights.values()):
        raise SweepError(f"sweep {path}: [weights] maps model names or patterns to none, imagenet or a file")
    sweep = Sweep(
        path=path, name=str(data.get("name", path.stem)), out=Path(expand_path(str(data.get("out", "models/sweep")), "sweep", SweepError)),
        models=expand_models(_strings(data, "models", [])),
        precisions=_strings(data, "precisions", ["float"], PRECISIONS),
        formats=_strings(data, "formats", ["tflite"], FORMATS),
        devices=_strings(data, "devices", ["host"]), threads=threads,
        steps=_strings(data, "steps", list(STEPS), STEPS),
        weights={k: expand_path(v, "sweep", SweepError) if v not in ("none", "imagenet") and not v.startswith("none:") else v
                 for k, v in weights.items()},
        convert=typed_table(data.get("convert", {}), CONVERT_KEYS, "convert", "sweep", SweepError, paths=("calib",)),
        bench=typed_table(data.get("bench", {}), BENCH_KEYS, "bench", "sweep", SweepError),
        eval=typed_table(data.get("eval", {}), EVAL_KEYS, "eval", "sweep", SweepError, paths=("data",)),
    )
    if known_devices is not None:
        for device in sweep.devices:
            if device not in known_devices:
                raise SweepError(f"sweep {path}: unknown device {device!r} (known: {', '.join(sorted(known_devices))}; "
                                 f"add it to ./edgekit.toml)")
    if "eval" in sweep.steps and not sweep.eval.get("data"):
        raise SweepError(f"sweep {path}: the eval step needs [eval] data = \"labelled image folder\"")
    if "eval" in sweep.steps and not Path(sweep.eval["data"]).is_dir():
        raise SweepError(f"sweep {path}: [eval] data {sweep.eval['data']} is not a folder")
    for fmt in sweep.formats:
        bad = [p for p in sweep.precisions if p not in FORMAT_PRECISIONS[fmt]]
        if bad:
            raise SweepError(f"sweep {path}: {fmt} has no {bad[0]} export (it has {', '.join(FORMAT_PRECISIONS[fmt])})")
    expand(sweep)
    if not sweep.cells and not (sweep.steps == ["convert"] and sweep.artifacts):
        raise SweepError(f"sweep {path} expands to zero cells: give models, precisions, formats, devices, "
                         f"threads and steps")
    return sweep


def expand(sweep: Sweep) -> None:
    """Artifacts (content-addressed) and cells (with keys for --resume)."""
    from edgekit.zoo.user import is_model_path, model_name

    tools = tool_versions()  # the same versions every sidecar records
    calib = calibration_identity(sweep.convert) if any(p != "float" for p in sweep.precisions) else {}
    settings = {k: v for k, v in sweep.convert.items() if k not in ("calib", "ptq")}
    ptq = sweep.convert.get("ptq", DEFAULT_PTQ)  # the effective algorithm: a new default re-converts
    for model in sweep.models:
        weights = weights_for(model, sweep.weights)
        try:
            identity = _weights_identity(model, weights)
        except EdgekitError as exc:
            raise SweepError(f"sweep {sweep.path}: {model}: {exc}") from None
        for fmt in sweep.formats:
            for precision in sweep.precisions:
                key = digest({"model": model, "format": fmt, "precision": precision, "weights": identity,
                              "calibration": {**calib, "ptq": ptq} if precision != "float" else None,
                              "settings": settings, "tools": tools})
                folder = model_name(model) if is_model_path(model) else model
                sweep.artifacts.append(Artifact(model, fmt, precision, None if is_model_path(model) else weights, key,
                                                sweep.out / folder / key[:16] / f"{fmt}-{precision}{EXTENSIONS[fmt]}"))
    for art in sweep.artifacts:
        if "bench" in sweep.steps:
            for device in sweep.devices:
                for threads in sweep.threads:
                    sweep.cells.append(Cell("bench", art, device, threads,
                                            digest({"a": art.key, "device": device, "threads": threads,
                                                    "bench": sweep.bench})))
        if "eval" in sweep.steps:
            sweep.cells.append(Cell("eval", art, "host", 1, digest({"a": art.key, "eval": sweep.eval})))
