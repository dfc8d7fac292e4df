"""ONNX export: float through tf2onnx, int8 QDQ through ONNX Runtime's quantization tools.

tf2onnx 1.17's transpose optimizer crashes on MobileNetV3's scalar "+3" (h-swish / h-sigmoid;
onnx/tensorflow-onnx issue 1729): it expects a 1-D bias after a Conv and finds a scalar, gives up,
and leaves ~100 NCHW<->NHWC Transposes in the graph. We convert without tf2onnx's optimizers,
turn scalar Add/Sub/Mul constants into shape-[1] tensors (same broadcast, so the same function),
then run the optimizers ourselves, so the v3 graph comes out as clean as v1/v2's.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.vocab import DEFAULT_ONNX_ACTIVATIONS, DEFAULT_OPSET, ONNX_CALIBRATION

INPUT_NAME = "input"


def convert_float(model, opset: int = DEFAULT_OPSET, batch: int | None = 1) -> bytes:
    """Keras -> ONNX with a named, fixed-shape input (the model's own H x W x C; batch 1 unless asked otherwise)."""
    import tensorflow as tf
    import tf2onnx
    from tf2onnx import optimizer
    from tf2onnx.graph import GraphUtil

    if not 13 <= opset <= 18:
        raise EdgekitError(f"ONNX opset {opset} is outside the supported 13..18")
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    signature = [tf.TensorSpec((batch, *model.input_shape[1:]), tf.float32, name=INPUT_NAME)]
    raw, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=opset, optimizers={})
    graph = GraphUtil.create_graph_from_onnx_model(raw)
    _scalars_to_vectors(graph)
    graph = optimizer.optimize_graph(graph, catch_errors=False)
    proto = graph.make_model("edgekit", graph_name=raw.graph.name)
    return proto.SerializeToString()


def from_tflite(path, opset: int = DEFAULT_OPSET) -> bytes:
    """A float .tflite file -> ONNX through tf2onnx's TFLite reader (input and output layouts as in the file),
    with our graph optimizations (``convert_float``'s scalar fix) applied."""
    import tf2onnx
    from tf2onnx import optimizer
    from tf2onnx.graph import GraphUtil

    if not 13 <= opset <= 18:
        raise EdgekitError(f"ONNX opset {opset} is outside the supported 13..18")
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    try:
        raw, _ = tf2onnx.convert.from_tflite(str(path), opset=opset)
    except Exception as exc:  # tf2onnx's own errors on an op it cannot map
        raise EdgekitError(f"tf2onnx cannot convert {Path(path).name} to ONNX: {' '.join(str(exc).split())[:200]}") from exc
    graph = GraphUtil.create_graph_from_onnx_model(raw)
    _scalars_to_vectors(graph)
    graph = optimizer.optimize_graph(graph, catch_errors=False)
    return graph.make_model("edgekit", graph_name=raw.graph.name).SerializeToString()


def rename_input(model_bytes: bytes, name: str = INPUT_NAME) -> bytes:
    """The graph with its (single) input renamed ``name``, every node reading it updated."""
    import onnx

    model = onnx.load_from_string(model_bytes)
    old = model.graph.input[0].name
    if old == name:
        return model_bytes
    model.graph.input[0].name = name
    for node in model.graph.node:
        for i, value in enumerate(node.input):
            if value == old:
                node.input[i] = name
    return model.SerializeToString()


def _scalars_to_vectors(graph) -> int:
    """Reshape rank-0 constants that feed element-wise ops to shape [1]; returns how many."""
    changed = 0
    for node in graph.get_nodes():
        if node.type != "Const":
            continue
        value = node.get_tensor_value(as_list=False)
        if value.shape != ():
            continue
        if any(c.type in ("Add", "Sub", "Mul", "Div") for c in graph.find_output_consumers(node.output[0])):
            node.set_tensor_value(np.asarray(value).reshape(1))
            changed += 1
    return changed


class CalibrationReader:
    """ONNX Runtime's CalibrationDataReader over a preprocessed float batch."""

    def __init__(self, name: str, batch: np.ndarray):
        self._items = iter([{name: image[None].astype(np.float32)} for image in batch])

    def get_next(self):
        return next(self._items, None)

    def __iter__(self):  # qdq_loss_debug iterates the reader
        return iter(self.get_next, None)


NORMALISING_OPS = ("Mul", "Add", "Sub", "Div")
PASS_THROUGH_OPS = ("Transpose", "Pad")


def input_float_ops(model_bytes: bytes, input_name: str = INPUT_NAME) -> dict[str, list[str]]:
    """The ops at the graph's input that ONNX int8 keeps float: ``normalisation``, the element-wise ops
    with constant operands that open the graph (a Keras ``Rescaling``/``Normalization`` layer:
    EfficientNet-B0 and MobileNetV3 carry one, and so do most fine-tuned models), and ``stem``, the first
    convolution when it reads the 3 colour channels.

    Measured with ``edgekit profile`` (1 thread): ORT's int8 kernels lose to float on exactly these. B0's
    normalisation as QLinearMul/QLinearAdd over a 3-channel innermost broadcast took 2.4 ms, a quarter of
    the int8 model and 2.8x its float cost; a 3-channel QLinearConv ran 3-4x slower than the float Conv
    on both AMD EPYC hosts we had (v3-small 226 against 71 us, v1-0.25-128 232 against 62 us).
    """
    import onnx

    graph = onnx.load_from_string(model_bytes).graph
    constants = {t.name: t for t in graph.initializer}
    constants.update({o: n.attribute[0].t for n in graph.node if n.op_type == "Constant" for o in n.output})
    out: dict[str, list[str]] = {"normalisation": [], "stem": []}
    tensor = input_name
    while True:
        users = [n for n in graph.node if tensor in n.input]
        if len(users) != 1 or not users[0].name:
            return out
        node = users[0]
        if node.op_type in NORMALISING_OPS:
            others = [i for i in node.input if i != tensor]
            if not others or not all(i in constants for i in others):
                return out
            out["normalisation"].append(node.name)
        elif node.op_type == "Conv":
            weight = constants.get(node.input[1]) if len(node.input) > 1 else None
            group = next((a.i for a in node.attribute if a.name == "group"), 1)
            if weight is not None and len(weight.dims) == 4 and weight.dims[1] == 3 and group == 1:
                out["stem"].append(node.name)
            return out
        elif node.op_type not in PASS_THROUGH_OPS:
            return out
        tensor = node.output[0]


def quantize_int8(float_model: bytes, calibration: np.ndarray, method: str = "minmax",
                  activation_type: str = DEFAULT_ONNX_ACTIVATIONS, per_channel: bool = True,
                  exclude_tensors: list[str] | tuple[str, ...] = (), input_name: str = INPUT_NAME,
                  scratch: str | None = None) -> bytes:
    """``quant_pre_process`` then ``quantize_static`` (QDQ, per-channel int8 weights).

    ``exclude_tensors``: activation tensors whose producing ops stay float (``nodes_to_exclude``); a
    Relu/Clip producer takes the op feeding it along, since ORT fuses the two when it quantizes.
    The input's normalisation and the 3-channel stem convolution (``input_float_ops``) always stay
    float and the graph is quantized after them: ORT's int8 kernels are slower than float there
    (EfficientNet-B0 int8 went from 1.13x to 0.93x float, v3-small from 0.88x to 0.82x, one
    interleaved run each, 1 thread).
    """
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType
    from onnxruntime.quantization import quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if method not in ONNX_CALIBRATION:
        raise EdgekitError(f"unknown ONNX calibration method '{method}' (known: {', '.join(ONNX_CALIBRATION)})")
    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    act = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}[activation_type]
    CalibrationDataReader.register(CalibrationReader)
    with tempfile.TemporaryDirectory(prefix="edgekit-ort-", dir=scratch) as tmp:  # scratch: the conversion's own
        src, pre, out = (os.path.join(tmp, n) for n in ("float.onnx", "pre.onnx", "int8.onnx"))
        Path(src).write_bytes(at_least_opset(float_model, PER_CHANNEL_OPSET))
        quant_pre_process(src, pre, skip_symbolic_shape=True)
        excluded = producers(Path(pre).read_bytes(), exclude_tensors) if exclude_tensors else []
        kept = input_float_ops(Path(pre).read_bytes(), input_name)
        excluded += [n for n in kept["normalisation"] + kept["stem"] if n not in excluded]
        extra = {"CalibTensorRangeSymmetric": False}
        if method == "percentile":
            extra["CalibPercentile"] = 99.999
        quantize_static(
            pre, out, CalibrationReader(input_name, calibration), quant_format=QuantFormat.QDQ,
            per_channel=per_channel, activation_type=act, weight_type=QuantType.QInt8,
            calibrate_method=methods[method], extra_options=extra, nodes_to_exclude=excluded,
        )
        return Path(out).read_bytes()


PER_CHANNEL_OPSET = 13  # QuantizeLinear/DequantizeLinear take an axis (per-channel weights) from opset 13


def at_least_opset(model_bytes: bytes, opset: int) -> bytes:
    """``model_bytes`` converted up to ``opset`` when older (PaddlePaddle and old PyTorch exports are opset 11:
    per-channel QDQ written into such a graph is invalid), else unchanged."""
    import onnx
    from onnx import version_converter

    if (opset_of(model_bytes) or opset) >= opset:
        return model_bytes
    try:
        return version_converter.convert_version(onnx.load_from_string(model_bytes), opset).SerializeToString()
    except Exception as exc:  # an op the converter cannot move across versions
        raise EdgekitError(f"this ONNX model is opset {opset_of(model_bytes)} and cannot be brought to opset {opset}, "
                           f"which per-channel int8 needs: {' '.join(str(exc).split())[:160]}") from None


def producers(model_bytes: bytes, tensors) -> list[str]:
    """Names of the nodes producing ``tensors`` (with the op feeding a Relu/Clip producer)."""
    import onnx

    graph = onnx.load_from_string(model_bytes).graph
    by_output = {out: node for node in graph.node for out in node.output}
    names: list[str] = []
    for tensor in tensors:
        node = by_output.get(tensor)
        while node is not None and node.name not in names:
            names.append(node.name)
            node = by_output.get(node.input[0]) if node.op_type in ("Relu", "Clip") else None
    return names


def count_ops(model_bytes: bytes) -> dict[str, int]:
    """How many nodes of each op type an ONNX model holds."""
    import onnx

    proto = onnx.load_from_string(model_bytes)
    counts: dict[str, int] = {}
    for node in proto.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def input_name(model_bytes: bytes) -> str:
    """The name of a model's (one) graph input that is not an initializer."""
    import onnx

    model = onnx.load_from_string(model_bytes)
    initializers = {i.name for i in model.graph.initializer}
    return next(i.name for i in model.graph.input if i.name not in initializers)


def opset_of(model_bytes: bytes) -> int | None:
    import onnx

    model = onnx.load_from_string(model_bytes)
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def fix_input_shape(path, geometry, layout: str) -> bytes:
    """A foreign model with its image input fixed to batch 1 at ``geometry`` (a ``data.images.Geometry``: dynamic
    dims resolved), its outputs to batch 1: what our runtimes, calibration and benchmarks expect. Weights kept in
    an external data file (torch.onnx's default) are read in."""
    import onnx

    model = onnx.load(str(path))  # loads external data from beside the file
    initializers = {i.name for i in model.graph.initializer}
    image = next(i for i in model.graph.input if i.name not in initializers)
    h, w, c = geometry.height, geometry.width, geometry.channels
    dims = [1, c, h, w] if layout == "nchw" else [1, h, w, c]
    for dim, value in zip(image.type.tensor_type.shape.dim, dims):
        dim.Clear()
        dim.dim_value = value
    for output in model.graph.output:
        first = output.type.tensor_type.shape.dim[0]
        if not first.HasField("dim_value"):
            first.Clear()
            first.dim_value = 1
    del model.graph.value_info[:]  # stale shapes of the dynamic graph; ORT infers them again
    onnx.checker.check_model(model)
    return model.SerializeToString()


POSTPROCESS_OUTPUTS = ("detection_boxes", "detection_classes", "detection_scores", "num_detections")


def append_detection_postprocess(model_bytes: bytes, anchors: np.ndarray, roles: tuple[int, int], background: bool,
                                 max_detections: int, iou: float, score: float, scales) -> bytes:
    """A raw SSD head's ONNX graph (float or QDQ int8) with float box decoding and ONNX ``NonMaxSuppression``
    appended, as TFLite's ``TFLite_Detection_PostProcess`` runs them (the faster-RCNN box coder, fast NMS: each
    anchor ranked by its best class, one class-agnostic suppression). Outputs, padded to ``max_detections``: boxes
    (1, M, 4) [ymin, xmin, ymax, xmax], classes (1, M) and scores (1, M) float, count (1,) float: the four outputs
    of TFLite's op, in its order. Appended after quantization, so the post-processing stays float."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    encodings, class_scores = graph.output[roles[0]].name, graph.output[roles[1]].name
    anchors = np.asarray(anchors, np.float32)
    nodes, consts = [], []

    def const(name, value, dtype=np.float32):
        consts.append(numpy_helper.from_array(np.asarray(value, dtype), f"pp_{name}"))
        return f"pp_{name}"

    def node(op, inputs, name, **attrs):
        nodes.append(helper.make_node(op, inputs, [f"pp_{name}"], name=f"pp_{name}", **attrs))
        return f"pp_{name}"

    def reduce_max(x, axis, name):
        if opset >= 18:
            return node("ReduceMax", [x, const(f"{name}_axes", [axis], np.int64)], name, keepdims=0)
        return node("ReduceMax", [x], name, axes=[axis], keepdims=0)

    parts = [f"pp_t{i}" for i in range(4)]
    nodes.append(helper.make_node("Split", [encodings, const("split", [1, 1, 1, 1], np.int64)], parts, axis=2,
                                  name="pp_split"))
    squeeze_axes = const("axis2", [2], np.int64)
    ty, tx, th, tw = (node("Squeeze", [p, squeeze_axes], f"s{i}") for i, p in enumerate(parts))
    ya, xa, ha, wa = (const(f"anchor_{k}", anchors[None, :, i]) for i, k in enumerate("yxhw"))
    half = const("half", [0.5])
    yc = node("Add", [node("Mul", [node("Div", [ty, const("sy", [scales[0]])], "dy"), ha], "my"), ya], "yc")
    xc = node("Add", [node("Mul", [node("Div", [tx, const("sx", [scales[1]])], "dx"), wa], "mx"), xa], "xc")
    hh = node("Mul", [node("Mul", [node("Exp", [node("Div", [th, const("sh", [scales[2]])], "dh")], "eh"), ha], "h"),
                      half], "hh")
    hw = node("Mul", [node("Mul", [node("Exp", [node("Div", [tw, const("sw", [scales[3]])], "dw")], "ew"), wa], "w"),
                      half], "hw")
    corners = [node("Sub", [yc, hh], "ymin"), node("Sub", [xc, hw], "xmin"), node("Add", [yc, hh], "ymax"),
               node("Add", [xc, hw], "xmax")]
    boxes = node("Concat", [node("Unsqueeze", [c, squeeze_axes], f"u{i}") for i, c in enumerate(corners)], "boxes",
                 axis=2)
    scores = class_scores
    if background:  # the first column is the background class: dropped, as the op's label offset does
        scores = node("Slice", [class_scores, const("one", [1], np.int64), const("end", [np.iinfo(np.int64).max],
                                                                                      np.int64), squeeze_axes], "fg")
    best = reduce_max(scores, 2, "best")  # (1, N)
    label = node("Cast", [node("ArgMax", [scores], "argmax", axis=2, keepdims=0)], "label", to=TensorProto.FLOAT)
    selected = node("NonMaxSuppression", [boxes, node("Unsqueeze", [best, const("axis1", [1], np.int64)], "nms_in"),
                                          const("max", [max_detections], np.int64), const("iou", [iou]),
                                          const("score", [score])], "nms")
    index = node("Gather", [selected, const("col", 2, np.int64)], "index", axis=1)  # (K,) anchors kept, best first
    found = node("Shape", [index], "found")  # (1,) int64
    room = node("Sub", [const("limit", [max_detections], np.int64), found], "room")
    zero = const("zero", [0], np.int64)
    pad2 = node("Concat", [zero, zero, zero, room], "pad2", axis=0)
    pad3 = node("Concat", [zero, zero, zero, zero, room, zero], "pad3", axis=0)
    outputs = [node("Pad", [node("Gather", [boxes, index], "g_boxes", axis=1), pad3], "p_boxes"),
               node("Pad", [node("Gather", [label, index], "g_classes", axis=1), pad2], "p_classes"),
               node("Pad", [node("Gather", [best, index], "g_scores", axis=1), pad2], "p_scores"),
               node("Cast", [found], "p_count", to=TensorProto.FLOAT)]
    for name, out in zip(POSTPROCESS_OUTPUTS, outputs):
        nodes.append(helper.make_node("Identity", [out], [name], name=name))
    graph.node.extend(nodes)
    graph.initializer.extend(consts)
    shapes = {"detection_boxes": [1, max_detections, 4], "detection_classes": [1, max_detections],
              "detection_scores": [1, max_detections], "num_detections": [1]}
    del graph.output[:]
    graph.output.extend(helper.make_tensor_value_info(n, TensorProto.FLOAT, shapes[n]) for n in POSTPROCESS_OUTPUTS)
    onnx.checker.check_model(model)
    return model.SerializeToString()
