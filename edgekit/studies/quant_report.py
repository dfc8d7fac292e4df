"""``edgekit quant-report``: where does int8 lose accuracy? Per-layer error of a model's int8 export.

Builds the model exactly as ``convert`` does (weights, BN warm-up for random weights, the chosen
weight rounding), then lets each converter's own debugger measure every quantized tensor on the
check images (held apart from calibration): TFLite's QuantizationDebugger, ONNX Runtime's
qdq_loss_debug.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.export.artifact import read_sidecar
from edgekit.export.quiet import quiet
from edgekit.quant.layer_error import HEALTHY, SUSPECT, finish, own_names
from edgekit.vocab import FORMATS



def _target(model_or_artifact: str, opts):
    """``opts`` naming the model to rebuild: a zoo name, a Keras model file, or one of our artifacts (its
    sidecar says which model and weights, or which user model file and preprocessing)."""
    from edgekit.zoo.user import KERAS_SUFFIXES

    path = Path(model_or_artifact)
    weights = opts.source.weights if opts.source.weights not in (None, "none") else None
    if path.suffix.lower() in KERAS_SUFFIXES or (path.is_dir() and (path / "saved_model.pb").is_file()):
        return opts.replace(model=str(path))
    if path.suffix in (".tflite", ".onnx") or path.is_file():
        if not path.is_file():
            raise EdgekitError(f"model file not found: {model_or_artifact}")
        sidecar = read_sidecar(path)
        if not sidecar and path.suffix == ".onnx":
            raise EdgekitError(f"{path.name}: quant-report rebuilds a Keras model layer by layer; for a foreign ONNX "
                               f"model, convert it (edgekit convert --model {path.name} --int8) and compare parity")
        if not sidecar:
            raise EdgekitError(f"{path.name} has no edgekit sidecar: pass the zoo model name and --weights instead")
        model = sidecar["model"]
        if model.get("family") == "user":
            pre = model.get("preprocessing") or {}
            declared = pre.get("name") if str(pre.get("source", "")).startswith("declared") else None
            if model.get("kind") != "keras":
                raise EdgekitError(f"{path.name} came from the ONNX model {model.get('file')}: quant-report needs a "
                                   f"Keras model")
            return opts.replace(model=model["path"], preprocess=declared, weights=None)
        w = sidecar.get("weights") or {}
        return opts.replace(model=model["name"],
                            weights=weights or (w.get("path") if w.get("kind") == "file" else w.get("kind", "none")))
    return opts.replace(model=model_or_artifact, weights=weights or "none")


def quant_report(model_or_artifact: str, opts, fmt: str = "tflite", threshold: float = SUSPECT) -> dict:
    """``opts``: an ``export.options.ConvertOptions`` carrying weights, calib/check folders, counts, crop, ptq, warn.
    The model is built by the export stages themselves (source, calibration, reference)."""
    from edgekit.export import calibration as cal
    from edgekit.export import source as sources
    from edgekit.export.reference import make_reference
    from edgekit.export.exporters import exporter_class
    from edgekit.export.forms import KerasForms

    if fmt not in FORMATS:
        raise EdgekitError(f"unknown format '{fmt}' (known: {', '.join(FORMATS)})")
    opts = _target(model_or_artifact, opts)
    source = sources.resolve(opts.source)
    spec = source.spec
    if source.kind != "keras":
        raise EdgekitError(f"{spec.path.name}: quant-report rebuilds a Keras model layer by layer; convert the ONNX "
                           f"model and compare parity instead")
    calib, check = cal.image_sets(opts.calibration, source.geometry, True, opts.warn, opts.progress)
    reference = make_reference(source, calib, check)
    model, calib_x, check_x = reference.model, reference.calib_x, reference.check_x
    exporter = exporter_class(fmt, "keras")
    with quiet(), tempfile.TemporaryDirectory(prefix="edgekit-qreport-") as tmp:
        forms = KerasForms(model, source, opts, calib_x, check_x, tmp)
        rows = exporter(forms).layer_errors(check_x, split=False)  # the stock int8 graph, layer by layer
    rows = finish(own_names(rows, model), threshold)
    return {
        "model": spec.name, "format": fmt, "weights": source.weights.to_dict(), "weight_rounding": opts.quantization.ptq,
        "calibration": calib.to_dict(), "check": {"source": check.source, "count": int(len(check.pixels))},
        "threshold": threshold, "healthy": round(float(HEALTHY), 3),
        "tool": exporter.debugger,
        "flagged": sum(r.flagged for r in rows), "layers": [r.to_dict() for r in rows],
    }
