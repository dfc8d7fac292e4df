"""Per-layer error of a TFLite int8 conversion with TFLite's own QuantizationDebugger, and mixed
int8/float models (selective quantization) through its ``denylisted_nodes``.

The debugger converts the model with NumericVerify ops after every quantized tensor, runs the
debug images, and reports per tensor the difference between the float value and the dequantized
int8 value; we add the float range seen and SQNR as direct-compare metrics.
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np

from edgekit.errors import EdgekitError, first_line
from edgekit.export.tflite import representative
from edgekit.quant.layer_error import LayerError, sqnr_db


def _dequantized(quant, scale, zero_point):
    return [(np.asarray(q, np.int32) - zero_point) * scale for q in quant]


def _metrics() -> dict:
    def lo(f, q, s, zp):
        return float(min(np.min(x) for x in f))

    def hi(f, q, s, zp):
        return float(max(np.max(x) for x in f))

    def snr(f, q, s, zp):
        ref = np.concatenate([np.ravel(x) for x in f])
        return sqnr_db(ref, np.concatenate([np.ravel(x) for x in _dequantized(q, s, zp)]))

    return {"float_min": lo, "float_max": hi, "sqnr_db": snr}


def layer_of(tensor_name: str) -> str:
    """The Keras layer inside a converter's tensor name: ``mobilenet_0.25_128_1/conv_pw_1_relu_1/Relu6;...``
    (TFLite) or ``.../conv1_bn_1/batchnorm/mul_1:0`` (tf2onnx) -> the second path part."""
    parts = [p for p in tensor_name.split(";")[0].split("/") if p]
    name = parts[1] if len(parts) >= 3 else parts[-1] if parts else tensor_name
    return re.sub(r":\d+$", "", name)


def _converter(saved_model: str, calibration: np.ndarray):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative(calibration)
    return converter


def _samples(batch: np.ndarray):
    """The debugger's dataset: lists of input arrays (not the converter's dicts)."""
    return lambda: ([image[None].astype(np.float32)] for image in batch)


def _debugger(saved_model: str, calibration: np.ndarray, check: np.ndarray, denylist: list[str]):
    import tensorflow as tf

    options = tf.lite.experimental.QuantizationDebugOptions(
        layer_direct_compare_metrics=_metrics(), denylisted_nodes=denylist or None)
    try:
        return tf.lite.experimental.QuantizationDebugger(
            converter=_converter(saved_model, calibration), debug_dataset=_samples(check),
            debug_options=options)
    except Exception as exc:
        raise EdgekitError(f"TFLite QuantizationDebugger failed: {first_line(exc)}") from exc


def layer_errors(saved_model: str, calibration: np.ndarray, check: np.ndarray) -> list[LayerError]:
    """Per-layer error of the int8 conversion of a SavedModel (TFLite's QuantizationDebugger), one row per quantized tensor."""
    debugger = _debugger(saved_model, calibration, check, [])
    debugger.run()
    buf = io.StringIO()
    debugger.layer_statistics_dump(buf)
    rows = []
    for rec in csv.DictReader(io.StringIO(buf.getvalue())):
        scale = float(rec["scale"]) if rec.get("scale") else None
        mse = float(rec["mean_squared_error"])
        rows.append(LayerError(
            layer=layer_of(rec["tensor_name"]), tensor=rec["tensor_name"], op=rec["op_name"], scale=scale,
            zero_point=int(float(rec["zero_point"])) if rec.get("zero_point") else None,
            float_min=float(rec["float_min"]), float_max=float(rec["float_max"]), rmse=float(np.sqrt(mse)),
            rmse_per_scale=float(np.sqrt(mse) / scale) if scale else None, sqnr_db=float(rec["sqnr_db"])))
    return rows


def tensor_names(saved_model: str, calibration: np.ndarray) -> list[str]:
    """Every quantizable op's output tensor, in graph order (what ``denylisted_nodes`` takes)."""
    rows = layer_errors(saved_model, calibration, calibration[:1])
    return [r.tensor for r in rows]


def mixed_model(saved_model: str, calibration: np.ndarray, denylist: list[str]) -> bytes:
    """int8 everywhere but the ``denylist`` tensors' ops, which stay float (float model I/O)."""
    debugger = _debugger(saved_model, calibration, calibration[:1], denylist)
    try:
        return bytes(debugger.get_nondebug_quantized_model())
    except Exception as exc:
        raise EdgekitError(f"selective quantization failed: {first_line(exc)}") from exc
