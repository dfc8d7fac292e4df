"""Cut a .tflite graph into one-op models, and count each op's multiply-accumulates and parameters.

LiteRT's Python interpreter offers no per-op profile, and XNNPACK runs the whole graph as one
delegate node anyway. What can be timed honestly is each op on its own: a model holding just that
op, its weights and its quantization, run by the same runtime with the same delegate and threads.
``single_op_models`` makes those models from the file's own flatbuffer (object API of the schema
module that ships with ai-edge-litert, so this works on the device-side install too).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from edgekit.run.tflite_graph import Graph, Op, parse_graph

NO_TENSOR = -1


def single_op_models(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(op index, model bytes) for every op of the main subgraph, in execution order. Each model's
    inputs are the op's non-constant inputs, its outputs the op's outputs; only its own buffers are kept."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(data, 0)
    sub = model.subgraphs[0]
    operators, inputs, outputs = sub.operators, sub.inputs, sub.outputs
    buffers = [b.data for b in model.buffers]
    signatures, metadata = model.signatureDefs, model.metadata
    model.signatureDefs, model.metadata = None, None  # they name the whole model's inputs and outputs
    try:
        for index, op in enumerate(operators):
            used = [int(t) for t in (list(op.inputs) + list(op.outputs)) if t != NO_TENSOR]
            own = {sub.tensors[t].buffer for t in used}
            constant = {t for t in used if buffers[sub.tensors[t].buffer] is not None
                        and len(buffers[sub.tensors[t].buffer]) > 0}
            sub.operators = [op]
            sub.inputs = [int(t) for t in op.inputs if t != NO_TENSOR and int(t) not in constant]
            sub.outputs = [int(t) for t in op.outputs]
            for k, buffer in enumerate(model.buffers):
                buffer.data = buffers[k] if k in own else None
            builder = flatbuffers.Builder(1024)
            builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
            yield index, bytes(builder.Output())
    finally:
        sub.operators, sub.inputs, sub.outputs = operators, inputs, outputs
        for k, buffer in enumerate(model.buffers):
            buffer.data = buffers[k]
        model.signatureDefs, model.metadata = signatures, metadata


def op_cost(graph: Graph, op: Op) -> tuple[int, int]:
    """(MACs, parameters) of one op, the papers' way: convolutions, depthwise and fully connected layers
    count multiply-adds; parameters are the op's constant inputs (weights and biases; a detector's anchors are not)."""
    tensors = graph.tensors
    out = tensors[op.outputs[0]].shape if op.outputs else ()
    if op.name == "TFLite_Detection_PostProcess":  # its constant input is the anchor table, not learned weights
        return 0, 0
    params = sum(int(np.prod(tensors[i].shape)) for i in op.inputs
                 if i != NO_TENSOR and tensors[i].constant and tensors[i].shape)
    weights = tensors[op.inputs[1]].shape if len(op.inputs) > 1 and op.inputs[1] != NO_TENSOR else ()
    if op.name == "CONV_2D" and len(out) == 4 and len(weights) == 4:
        return int(np.prod(out)) * weights[1] * weights[2] * weights[3], params
    if op.name == "DEPTHWISE_CONV_2D" and len(out) == 4 and len(weights) == 4:
        return int(np.prod(out)) * weights[1] * weights[2], params
    if op.name == "FULLY_CONNECTED" and len(weights) == 2:
        batch = int(np.prod(out[:-1])) if out else 1
        return batch * weights[0] * weights[1], params
    return 0, params


def op_kinds(graph: Graph) -> list[str]:
    """Each op's kind for the ledger: first conv, depthwise, pointwise 1x1, conv kxk, SE (1x1 convs on a
    pooled map before the head), FC (after the last spatial op), pooling, activation, add, mul,
    quantize/dequantize, other."""
    tensors = graph.tensors

    def spatial(op) -> int:
        shape = tensors[op.outputs[0]].shape if op.outputs else ()
        return shape[1] * shape[2] if len(shape) == 4 else 1

    last_spatial = max((op.index for op in graph.ops if spatial(op) > 1), default=-1)
    first_conv = next((op.index for op in graph.ops if op.name == "CONV_2D"), None)
    kinds = []
    for op in graph.ops:
        name = op.name
        if name == "CONV_2D":
            kernel = tensors[op.inputs[1]].shape
            if op.index == first_conv:
                kinds.append("first conv")
            elif kernel[1:3] != (1, 1):
                kinds.append(f"conv {kernel[1]}x{kernel[2]}")
            elif spatial(op) == 1:
                kinds.append("FC" if op.index > last_spatial else "SE")
            else:
                kinds.append("pointwise 1x1")
        elif name == "DEPTHWISE_CONV_2D":
            kinds.append("depthwise")
        elif name == "FULLY_CONNECTED":
            kinds.append("FC" if op.index > last_spatial else "SE")
        elif name in ("MEAN", "AVERAGE_POOL_2D", "MAX_POOL_2D", "SUM"):
            kinds.append("pooling")
        elif name in ("RELU", "RELU6", "RELU_N1_TO_1", "HARD_SWISH", "LOGISTIC", "TANH", "LEAKY_RELU", "PRELU",
                      "GELU", "SOFTMAX"):
            kinds.append("activation")
        elif name in ("ADD", "SUB"):
            kinds.append("add")
        elif name in ("MUL", "DIV"):
            kinds.append("mul")
        elif name in ("QUANTIZE", "DEQUANTIZE"):
            kinds.append("quantize/dequantize")
        else:
            kinds.append("other")
    return kinds


def random_inputs(details: list[dict], seed: int = 0) -> list[np.ndarray]:
    """Inputs of the right shape and type for a cut model (values in the tensor's int range, or N(0, 1))."""
    rng = np.random.default_rng(seed)
    out = []
    for detail in details:
        dtype, shape = np.dtype(detail["dtype"]), tuple(int(d) for d in detail["shape"])
        if np.issubdtype(dtype, np.integer):
            limits = np.iinfo(dtype)
            out.append(rng.integers(max(limits.min, -128), min(limits.max, 127) + 1, size=shape).astype(dtype))
        else:
            out.append(rng.normal(0, 1, size=shape).astype(dtype))
    return out


__all__ = ["op_cost", "op_kinds", "parse_graph", "random_inputs", "single_op_models"]
