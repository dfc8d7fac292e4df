"""Stage 7, publish: the sidecar that says what an artifact is, and the atomic move into place.

The artifact's bytes sit in a hidden temporary file beside their target while they are checked; a
checked artifact is published sidecar first, then the file (``export.artifact.publish``), so an
artifact never exists without its description, and a failed or interrupted one leaves nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from edgekit.export import artifact as art


def sidecar(target: Path, item, data: bytes, source, reference, images, result: dict, extra: dict,
            seconds: float, labelled: bool, ptq: str, tools: dict) -> art.Artifact:
    """The typed sidecar of one checked artifact."""
    from edgekit.files import sha256_bytes

    calib, check = images
    result = dict(result)
    io = result.pop("io")
    return art.Artifact.from_dict({
        "edgekit_sidecar": art.SIDECAR_VERSION,
        "artifact": target.name, "format": item.format, "precision": item.precision,
        **({"variant": "mixed"} if item.label != item.precision else {}),
        "size_bytes": len(data), "sha256": sha256_bytes(data),
        "model": source.spec.to_dict(), "task": source.task.name, "macs": reference.macs, "params_folded": reference.params_folded,
        "weights": source.weights.to_dict(), "bn_warmed": reference.bn_warmed,
        "head": "as saved" if source.is_user else "logits",
        "io": io,
        "calibration": ({**calib.to_dict(), "weight_rounding": ptq} if (calib is not None and item.quantized) else None),
        **extra,
        "parity": {**result, "check": {"source": check.source, "count": int(len(check.pixels)), "labelled": labelled}},
        "tools": tools,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "convert_seconds": round(seconds, 2),
        "path": str(target),
    })


def edgetpu_twin(tmp: Path, target: Path, warn, scratch_root: Path | None = None) -> dict:
    """The predicted Edge TPU mapping of an int8 TFLite file; with edgetpu_compiler on PATH, also its
    compiled twin (``<target>_edgetpu.tflite``, written atomically) and the compiler's report."""
    import shutil

    from edgekit import files
    from edgekit.edgetpu import compiler
    from edgekit.edgetpu.check import predict, summary

    out = {"predicted": summary(predict(tmp)), "compiled": None}
    first = out["predicted"]["first_unsupported"]
    if first:
        warn(f"Edge TPU: {out['predicted']['ops_on_cpu']} of {out['predicted']['ops_total']} ops would stay on "
             f"the CPU from op #{first['index']} ({first['op']}): see 'edgekit edgetpu-check'")
    if compiler.available():
        with files.scratch_dir(scratch_root or target.parent, "edgekit-edgetpu-") as scratch:
            staged = Path(scratch) / target.name
            shutil.copyfile(tmp, staged)
            report = compiler.compile_model(staged, Path(scratch))
            compiled = target.with_name(f"{target.stem}_edgetpu.tflite")
            files.write_atomic(compiled, Path(report["output"]).read_bytes())
            out["compiled"] = {**{k: v for k, v in report.items() if k not in ("output", "log")},
                               "artifact": compiled.name}
    else:
        out["compiler"] = f"{compiler.COMPILER} not on PATH: mapping predicted from Coral's documented rules"
    return out
