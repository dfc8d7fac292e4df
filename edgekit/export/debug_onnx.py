"""Per-layer error of an ONNX QDQ int8 model with ONNX Runtime's ``qdq_loss_debug``.

The QDQ model is augmented to output every intermediate tensor; for each quantized activation we
get its value before QuantizeLinear and after DequantizeLinear (``pre_qdq`` / ``post_qdq``) on the
debug images, and read the scale and zero point from its QuantizeLinear node.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from edgekit.export.onnx import INPUT_NAME, CalibrationReader
from edgekit.export.debug_tflite import layer_of
from edgekit.quant.layer_error import LayerError, sqnr_db


def _qparams(model) -> dict[str, tuple[float, int, str]]:
    """Activation tensor -> (scale, zero point, consuming op) from its QuantizeLinear node."""
    from onnx import numpy_helper

    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in model.graph.node if n.op_type == "Constant"}
    values = {**inits, **consts}
    producer = {out: n.op_type for n in model.graph.node for out in n.output}
    out = {}
    for node in model.graph.node:
        if node.op_type != "QuantizeLinear" or node.input[0] not in producer:
            continue  # weights are initializers: activations only
        scale = values.get(node.input[1])
        zp = values.get(node.input[2]) if len(node.input) > 2 else np.array(0)
        if scale is not None and np.size(scale) == 1:
            out[node.input[0]] = (float(scale), int(np.asarray(zp).ravel()[0]), producer[node.input[0]])
    return out


def _fused_activations(float_model: bytes) -> dict[str, tuple[float, float]]:
    """Tensor -> (low, high) of the Clip/Relu that produced it in the float graph.

    ORT's QDQ graph drops such an activation and lets the output quantization range do the
    clamping, so the value before QuantizeLinear is the raw conv output: the float function at that
    point is that value clamped, not the value itself.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(float_model)
    values = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    values.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in model.graph.node
                   if n.op_type == "Constant"})
    out = {}
    for node in model.graph.node:
        if node.op_type == "Relu":
            out[node.output[0]] = (0.0, float("inf"))
        elif node.op_type == "Clip":
            low = values.get(node.input[1]) if len(node.input) > 1 and node.input[1] else None
            high = values.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
            out[node.output[0]] = (float(low) if low is not None else -float("inf"),
                                   float(high) if high is not None else float("inf"))
    return out


def layer_errors(qdq_model: bytes, check: np.ndarray, float_model: bytes | None = None,
                 scratch: str | None = None) -> list[LayerError]:
    """Per-layer error of a QDQ model against its float twin (ONNX Runtime's qdq_loss_debug), one row per quantized tensor."""
    import onnx
    from onnxruntime.quantization.calibrate import CalibrationDataReader
    from onnxruntime.quantization.qdq_loss_debug import (collect_activations, create_activation_matching,
                                                         modify_model_output_intermediate_tensors)

    CalibrationDataReader.register(CalibrationReader)
    params = _qparams(onnx.load_from_string(qdq_model))
    clamps = _fused_activations(float_model) if float_model else {}
    with tempfile.TemporaryDirectory(prefix="edgekit-qdq-debug-", dir=scratch) as tmp:
        src, aug = os.path.join(tmp, "qdq.onnx"), os.path.join(tmp, "augmented.onnx")
        Path(src).write_bytes(qdq_model)
        modify_model_output_intermediate_tensors(src, aug)
        activations = collect_activations(aug, CalibrationReader(INPUT_NAME, check))
    matched = create_activation_matching(activations)
    rows = []
    for name, pair in matched.items():
        if name not in params or "pre_qdq" not in pair or "post_qdq" not in pair:
            continue
        pre = np.concatenate([np.ravel(x) for x in pair["pre_qdq"]]).astype(np.float64)
        post = np.concatenate([np.ravel(x) for x in pair["post_qdq"]]).astype(np.float64)
        if name in clamps:
            pre = np.clip(pre, *clamps[name])
        scale, zp, op = params[name]
        rmse = float(np.sqrt(np.mean(np.square(pre - post))))
        rows.append(LayerError(layer=layer_of(name), tensor=name, op=op, scale=scale, zero_point=zp,
                               float_min=float(pre.min()), float_max=float(pre.max()), rmse=rmse,
                               rmse_per_scale=rmse / scale if scale else None, sqnr_db=sqnr_db(pre, post)))
    return rows
