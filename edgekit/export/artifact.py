"""Artifacts on disk: where they go and their JSON sidecar.

An artifact is never half-written (``edgekit.files``: a temporary file in the target folder, then a
rename), and its sidecar is published before it, so an artifact never exists without the
description of what it is.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from edgekit.environment import package_versions
from edgekit.errors import EdgekitError
from edgekit.files import write_atomic
from edgekit.schema import Record
from edgekit.vocab import EXTENSIONS

SIDECAR_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class Artifact(Record):
    """An exported model file and its sidecar (``<artifact>.json``): what it holds, how it was made,
    and how closely it matches the Keras model it came from (``parity``)."""

    SCHEMA_KEY = "edgekit_sidecar"
    SCHEMA_VERSION = SIDECAR_VERSION

    path: str  # where the artifact was written
    artifact: str  # its file name
    format: str  # "tflite" | "onnx" (vocab.FORMATS)
    precision: str  # vocab.PRECISIONS
    size_bytes: int
    sha256: str
    model: Mapping[str, Any]  # the zoo spec (name, family, alpha, resolution, preprocessing, ...)
    weights: Mapping[str, Any]  # where the weights came from (none / imagenet / a file, with its hash)
    parity: Mapping[str, Any]  # agreement with Keras on held-apart images (max |diff|, top-1 agreement, SQNR)
    calibration: Mapping[str, Any] | None = None  # images and weight rounding, for quantized precisions
    quantization: Mapping[str, Any] | None = None  # the scheme, for quantized precisions
    tools: Mapping[str, str] | None = None  # versions of every converter involved
    created: str | None = None
    convert_seconds: float | None = None

    @property
    def model_name(self) -> str:
        return self.model["name"]


TOOLS = ("edgekit", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert", "numpy", "pillow")


def artifact_path(out_dir: str | Path, model_name: str, fmt: str, precision: str) -> Path:
    """Where ``convert`` writes (model, format, precision): ``<out>/<model>/<format>-<precision>.<ext>``."""
    return Path(out_dir) / model_name / f"{fmt}-{precision}{EXTENSIONS[fmt]}"


def sidecar_path(artifact: str | Path) -> Path:
    """The JSON sidecar beside an artifact."""
    return Path(artifact).with_suffix(".json")


def tool_versions() -> dict[str, str]:
    """Versions of every tool that can touch an artifact's bytes, as recorded in its sidecar."""
    out = package_versions(TOOLS)
    out.update({"tensorflow": v for v in package_versions(("tensorflow-cpu",)).values()})
    return out


def publish(tmp_artifact: Path, target: Path, sidecar: Artifact) -> None:
    """Move a finished, checked artifact into place: sidecar first, then the artifact."""
    write_atomic(sidecar_path(target), (json.dumps(sidecar.to_dict(), indent=2, sort_keys=False) + "\n").encode())
    os.replace(tmp_artifact, target)


class SidecarError(EdgekitError):
    """A sidecar that does not parse, or an artifact that no longer matches its sidecar."""


def read_sidecar(artifact: str | Path, strict: bool = False) -> dict | None:
    """The sidecar of ``artifact`` as a dict, or None for a file without one. An unreadable sidecar is None,
    or with ``strict`` a SidecarError (what measuring and recording use: a damaged sidecar is never ignored)."""
    path = sidecar_path(artifact)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        if strict:
            raise SidecarError(f"{path.name}, the sidecar of {Path(artifact).name}, does not parse "
                               f"({type(exc).__name__}: {str(exc)[:80]}): re-export the artifact, or remove the "
                               f"sidecar to measure the file as a foreign one") from None
        return None
    if not isinstance(data, dict):
        if strict:
            raise SidecarError(f"{path.name}, the sidecar of {Path(artifact).name}, is not a JSON object")
        return None
    return data


def load_artifact(artifact: str | Path) -> Artifact | None:
    """The typed sidecar of ``artifact`` (None for a file we did not make)."""
    sidecar = read_sidecar(artifact)
    return Artifact.from_dict(sidecar) if sidecar and "path" in sidecar else None
