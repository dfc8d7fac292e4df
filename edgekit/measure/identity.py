"""What an artifact is, before running it: size, hash, and which model/precision/origin it holds.

Ours say so in their sidecar; Google's hosted files are recognised by name (``zoo.foreign``);
anything else is recorded with its path and hash only. Bench and eval both stamp results with
this, so the results store can be queried by model whoever made the file.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.export.artifact import SidecarError, read_sidecar, sidecar_path
from edgekit.zoo.foreign import recognize
from edgekit.files import sha256_file


def _weights(sidecar: dict) -> str | None:
    weights = sidecar.get("weights") or {}
    kind = weights.get("kind")
    if kind == "file":
        return f"file {Path(weights.get('path', '?')).name}"
    if kind == "user":
        return f"user model {weights.get('file')}"
    return kind


ALLOW_FLAG = "--allow-modified"


def describe_artifact(path: str | Path, allow_modified: bool = False) -> dict:
    """Path, size, sha256 and what an artifact holds (model, format, precision, origin, weights): from our
    sidecar, Google's file names, or nothing.

    An artifact with a sidecar must still be the file the sidecar describes (its sha256): one that changed on
    disk is refused (SidecarError, one line naming ``--allow-modified``), and with ``allow_modified`` it is
    described as a foreign file, the mismatch recorded. A sidecar that does not parse is an error."""
    path = Path(path)
    out = {"artifact": str(path), "artifact_sha256": sha256_file(path), "size_bytes": path.stat().st_size,
           "model": None, "format": None, "precision": None, "origin": None, "weights": None}
    sidecar = read_sidecar(path, strict=True)
    if sidecar and sidecar.get("sha256") and sidecar["sha256"] != out["artifact_sha256"]:
        if not allow_modified:
            raise SidecarError(f"{path.name} changed since edgekit wrote it (sha256 {out['artifact_sha256'][:12]}..., "
                               f"its sidecar says {sidecar['sha256'][:12]}...): re-export it, or pass {ALLOW_FLAG} "
                               f"to measure it as a file of unknown origin")
        out["sidecar_mismatch"] = {"sidecar_sha256": sidecar["sha256"], "sidecar": sidecar_path(path).name}
        sidecar = None
    if sidecar:
        model = sidecar.get("model", {})
        out.update(model=model.get("name"), format=sidecar.get("format"),
                   precision=sidecar.get("precision") + ("-mixed" if sidecar.get("variant") == "mixed" else ""),
                   origin="edgekit", weights=_weights(sidecar), macs=sidecar.get("macs"),
                   params_folded=sidecar.get("params_folded"))
        if model.get("family") == "user":  # the user's own model: its file, hash, classes and preprocessing
            out["user_model"] = {k: model.get(k) for k in ("file", "sha256", "kind", "classes", "class_names")}
    elif (known := recognize(path)):
        out.update({k: known[k] for k in ("model", "format", "precision", "origin", "weights")})
    return out
