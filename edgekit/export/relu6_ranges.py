"""Give the int8 output of a ReLU6-fused op that feeds a MUL its true range, [0, 6].

TFLiteConverter stores a ReLU-family output whose only reader is a MUL over that MUL's output range.
Measured on small models here: in ``ReLU6(x + 3) * x`` the gate was stored over [-2.2, 66] instead
of [0, 6] (23 int8 steps where 255 fit). In v3's hard-swish split ``ReLU6(x + 3) * (x * 1/6)`` it
was stored over [-0.37, 9.1]. The op's fused clamp already keeps its values in [0, 6], and MUL
requantizes whatever scales its inputs have. So [0, 6] (scale 6/255, zero point at the bottom of
the int type) cannot clip anything and only makes the steps finer.

The file is patched in place: same size, same layout. Only the scale, zero point and min/max
numbers of those tensors change.
"""

from __future__ import annotations

import struct

RELU6_TOP = 6.0
_LOWEST = {"INT8": -128, "UINT8": 0}
_SCALE, _ZERO_POINT, _MIN, _MAX = 8, 10, 4, 6  # QuantizationParameters field slots (TFLite schema)


def tighten(data: bytes) -> tuple[bytes, list[str]]:
    """``data`` with the ranges above tightened; also the names of the tensors it changed."""
    from ai_edge_litert import schema_py_generated as schema

    from edgekit.run.tflite_graph import parse_graph

    graph = parse_graph(data)
    readers: dict[int, list[str]] = {}
    for op in graph.ops:
        for i in op.inputs:
            readers.setdefault(i, []).append(op.name)
    out = bytearray(data)
    tensors = schema.Model.GetRootAs(data, 0).Subgraphs(0)
    changed = []
    for op in graph.ops:
        if op.fused_activation != "RELU6" or len(op.outputs) != 1:
            continue
        index = op.outputs[0]
        tensor = graph.tensors[index]
        if index in graph.outputs or readers.get(index, []) == [] or set(readers[index]) != {"MUL"}:
            continue
        if tensor.dtype not in _LOWEST:
            continue
        quant = tensors.Tensors(index).Quantization()
        if quant is None or quant.ScaleLength() != 1 or quant.ZeroPointLength() != 1:
            continue
        scale, zero = float(quant.Scale(0)), int(quant.ZeroPoint(0))
        top = (_LOWEST[tensor.dtype] + 255 - zero) * scale
        if top <= RELU6_TOP * (1 + 1e-6):  # calibration saw less than 6: already at least as fine
            continue
        _write(out, quant, _SCALE, "<f", RELU6_TOP / 255)
        _write(out, quant, _ZERO_POINT, "<q", _LOWEST[tensor.dtype])
        _write(out, quant, _MIN, "<f", 0.0)
        _write(out, quant, _MAX, "<f", RELU6_TOP)
        changed.append(tensor.name)
    return bytes(out), changed


def _write(buf: bytearray, table, slot: int, fmt: str, value) -> None:
    """Overwrite the first element of a one-element vector field, if the field is present."""
    offset = table._tab.Offset(slot)
    if offset and table._tab.VectorLen(offset) == 1:
        struct.pack_into(fmt, buf, table._tab.Vector(offset), value)
