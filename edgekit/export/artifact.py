"""Artifacts on disk: where they go, their JSON sidecar, and atomic writes.

An artifact is never half-written: bytes go to a hidden temporary file in the target folder,
then ``os.replace`` moves it into place. The sidecar is published before its artifact, so an
artifact never exists without the description of what it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.record.environment import package_versions

EXTENSIONS = {"tflite": ".tflite", "onnx": ".onnx"}
TOOLS = ("edgekit", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert", "numpy", "pillow")


def artifact_path(out_dir: str | Path, model_name: str, fmt: str, precision: str) -> Path:
    return Path(out_dir) / model_name / f"{fmt}-{precision}{EXTENSIONS[fmt]}"


def sidecar_path(artifact: str | Path) -> Path:
    return Path(artifact).with_suffix(".json")


def tool_versions() -> dict[str, str]:
    out = package_versions(TOOLS)
    out.update({"tensorflow": v for v in package_versions(("tensorflow-cpu",)).values()})
    return out


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EdgekitError(f"cannot create output folder {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK):
        raise EdgekitError(f"output folder is not writable: {folder}")


def write_temp(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to a hidden temporary file in ``folder`` (same file system as the target)."""
    ensure_writable(folder)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; artifacts are ordinary files
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes) -> None:
    tmp = write_temp(path.parent, path.name, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def publish(tmp_artifact: Path, target: Path, sidecar: dict) -> None:
    """Move a finished, checked artifact into place: sidecar first, then the artifact."""
    write_atomic(sidecar_path(target), (json.dumps(sidecar, indent=2, sort_keys=False) + "\n").encode())
    os.replace(tmp_artifact, target)


def read_sidecar(artifact: str | Path) -> dict | None:
    path = sidecar_path(artifact)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
