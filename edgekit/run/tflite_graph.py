"""Read a .tflite file's graph without running it: ops, tensors, dtypes, quantization, options.

Uses the FlatBuffers schema module that ships with ai-edge-litert, so it works on the runtime-only
(device-side) install and on files no interpreter can load, such as Edge TPU compiler output
(its ``edgetpu-custom-op`` has no CPU kernel).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from edgekit.run.runtime import ModelFileError

EDGETPU_CUSTOM_OP = "edgetpu-custom-op"


@dataclass(frozen=True)
class Tensor:
    """A tensor of a .tflite graph."""
    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    dynamic: bool  # some dimension is -1 in the shape signature
    quantized: bool  # has a scale (int8/uint8/int16/int32 with quantization parameters)
    constant: bool  # backed by a buffer in the file (weights, biases, axes)
    values: tuple[int, ...] | None = None  # small integer constants (axes, paddings), else None


@dataclass(frozen=True)
class Op:
    """An operator of a .tflite graph and its tensors."""
    index: int
    name: str  # builtin name (CONV_2D) or custom code (edgetpu-custom-op)
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    fused_activation: str | None = None


@dataclass(frozen=True)
class Graph:
    """A .tflite model's main graph, read from its flatbuffer without running it."""
    ops: tuple[Op, ...]
    tensors: tuple[Tensor, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    subgraphs: int

    def op_names(self) -> list[str]:
        return [op.name for op in self.ops]

    @property
    def edgetpu_compiled(self) -> bool:
        return EDGETPU_CUSTOM_OP in self.op_names()


@lru_cache(maxsize=1)
def _schema():
    from ai_edge_litert import schema_py_generated as schema

    def names(enum) -> dict[int, str]:
        return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}

    return schema, names(schema.BuiltinOperator), names(schema.TensorType), names(schema.ActivationFunctionType)


def _fused_activation(schema, op, name: str) -> str | None:
    """The activation an op carries fused (RELU6 in a CONV_2D), for ops whose options have one."""
    table = op.BuiltinOptions()
    if table is None:
        return None
    cls = {"CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
           "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions", "ADD": "AddOptions",
           "MUL": "MulOptions", "SUB": "SubOptions", "CONCATENATION": "ConcatenationOptions",
           "FULLY_CONNECTED": "FullyConnectedOptions"}.get(name)
    if cls is None:
        return None
    opts = getattr(schema, cls)()
    opts.Init(table.Bytes, table.Pos)
    return _schema()[3].get(opts.FusedActivationFunction())


def _small_ints(buffer, dtype: str) -> tuple[int, ...] | None:
    import numpy as np

    kinds = {"INT32": np.int32, "INT64": np.int64}
    if buffer is None or dtype not in kinds or not 0 < buffer.DataLength() <= 128:
        return None
    return tuple(int(v) for v in np.frombuffer(buffer.DataAsNumpy().tobytes(), dtype=kinds[dtype]))


def read_graph(path: str | Path) -> Graph:
    """The main subgraph of ``path``; a file that is not a TFLite flatbuffer is a ModelFileError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_graph(data, path.name)


def parse_graph(data: bytes, name: str = "model") -> Graph:
    """The main subgraph of a TFLite flatbuffer held in memory (``name`` is for error messages)."""
    schema, builtin, tensor_types, _ = _schema()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelFileError(f"{name} is not a TFLite model (no TFL3 identifier): truncated or another format")
    try:
        model = schema.Model.GetRootAs(data, 0)
        codes = []
        for i in range(model.OperatorCodesLength()):
            code = model.OperatorCodes(i)
            custom = code.CustomCode()
            codes.append(custom.decode() if custom else builtin.get(max(code.BuiltinCode(),
                                                                        code.DeprecatedBuiltinCode()), "?"))
        sub = model.Subgraphs(0)
        tensors = []
        for t in range(sub.TensorsLength()):
            tensor = sub.Tensors(t)
            shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
            signature = tensor.ShapeSignatureAsNumpy() if tensor.ShapeSignatureLength() else ()
            quant = tensor.Quantization()
            quantized = bool(quant is not None and quant.ScaleLength() > 0)
            buffer = model.Buffers(tensor.Buffer()) if tensor.Buffer() < model.BuffersLength() else None
            constant = bool(buffer is not None and (buffer.DataLength() > 0 or buffer.Size() > 0))
            dtype = tensor_types.get(tensor.Type(), "?")
            tensors.append(Tensor(t, (tensor.Name() or b"").decode(errors="replace"), dtype, shape,
                                  any(int(d) < 0 for d in signature), quantized, constant,
                                  _small_ints(buffer, dtype) if constant else None))
        ops = []
        for j in range(sub.OperatorsLength()):
            op = sub.Operators(j)
            name = codes[op.OpcodeIndex()]
            ops.append(Op(j, name, tuple(int(i) for i in op.InputsAsNumpy()) if op.InputsLength() else (),
                          tuple(int(i) for i in op.OutputsAsNumpy()) if op.OutputsLength() else (),
                          _fused_activation(schema, op, name)))
        inputs = tuple(int(i) for i in sub.InputsAsNumpy()) if sub.InputsLength() else ()
        outputs = tuple(int(i) for i in sub.OutputsAsNumpy()) if sub.OutputsLength() else ()
    except Exception as exc:  # a damaged flatbuffer raises anything from IndexError to struct.error
        raise ModelFileError(f"{name}: damaged TFLite flatbuffer ({type(exc).__name__})") from None
    return Graph(tuple(ops), tuple(tensors), inputs, outputs, model.SubgraphsLength())


def looks_edgetpu_compiled(path: str | Path) -> bool:
    """Cheap check without parsing: the compiler's custom-op name is in the file (damaged files too)."""
    try:
        return EDGETPU_CUSTOM_OP.encode() in Path(path).read_bytes()
    except OSError:
        return False
