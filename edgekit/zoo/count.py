"""Multiply-accumulates and parameters, per layer and in total, as the papers count them.

MACs are a plain count of convolution, depthwise and fully connected multiply-adds (the
papers' "mult-adds"); element-wise work (residual adds, SE scaling, activations) is reported
apart. Parameters are given two ways: as Keras counts them (BatchNorm's gamma, beta, moving
mean and variance included) and BN-folded, as deployed (each BN becomes the conv's bias).
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.zoo import arch
from edgekit.zoo.spec import ModelSpec


@dataclass(frozen=True)
class LayerCount:
    """MACs and parameters of one layer (BN folded and not)."""
    layer: arch.Layer
    macs: int
    params: int
    params_folded: int
    elementwise: int


def count_layer(layer: arch.Layer) -> LayerCount:
    """MACs and parameters of one architecture layer."""
    h, w, cout = layer.out_shape
    cin = layer.in_shape[2]
    k = layer.kernel
    macs = weights = elementwise = 0
    if layer.op == "conv":
        weights = k * k * cin // layer.groups * cout
        macs = h * w * weights
    elif layer.op == "dwconv":
        weights = k * k * cin
        macs = h * w * weights
    elif layer.op == "sepconv":  # depthwise k x k, then pointwise 1x1, both at the output's size
        weights = k * k * cin + cin * cout
        macs = h * w * weights
    elif layer.op == "fc":
        weights = cin * cout
        macs = weights
    elif layer.op in ("add", "mul"):
        elementwise = h * w * cout
    elif layer.op == "normalize":  # Keras's Normalization layer: mean and variance per channel, and a count
        weights = 2 * cout + 1
    bias = cout if layer.bias else 0
    bn = 4 * cout if layer.bn else 0
    folded_bias = cout if (layer.bias or layer.bn) else 0
    if layer.op == "normalize":  # folds into the first convolution when deployed
        return LayerCount(layer, 0, weights, 0, 0)
    return LayerCount(layer, macs, weights + bias + bn, weights + folded_bias, elementwise)


@dataclass(frozen=True)
class ModelCount:
    """Per-layer counts of a model and their totals."""
    spec: ModelSpec
    layers: list[LayerCount]

    @property
    def macs(self) -> int:
        return sum(c.macs for c in self.layers)

    @property
    def params(self) -> int:
        return sum(c.params for c in self.layers)

    @property
    def params_folded(self) -> int:
        return sum(c.params_folded for c in self.layers)

    @property
    def elementwise(self) -> int:
        return sum(c.elementwise for c in self.layers)


def count(spec: ModelSpec) -> ModelCount:
    """MACs, parameters and element-wise work of ``spec``, layer by layer (no TensorFlow)."""
    return ModelCount(spec, [count_layer(layer) for layer in arch.layers(spec)])


def keras_layer_counts(model) -> dict[str, tuple[int, int, tuple]]:
    """Independent count straight from a built Keras model: {layer name: (macs, params, out shape)}.

    Used to hold the pure-Python architecture to the real thing, and for models the zoo does not
    describe. Only layers with weights are listed.
    """
    out = {}
    for layer in model.layers:
        kind = type(layer).__name__
        shape = tuple(layer.output.shape[1:])
        params = layer.count_params()
        if kind in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
            kh, kw = layer.kernel_size
            cin = layer.input.shape[-1]
            spatial = shape[0] * shape[1]
            if kind == "Conv2D":
                macs = spatial * shape[2] * kh * kw * cin // layer.groups
            elif kind == "SeparableConv2D":
                macs = spatial * (kh * kw * cin * layer.depth_multiplier + cin * layer.depth_multiplier * shape[2])
            else:
                macs = spatial * shape[2] * kh * kw
            out[layer.name] = (macs, params, shape)
        elif kind == "Dense":
            out[layer.name] = (layer.input.shape[-1] * layer.units, params, shape)
        elif kind == "BatchNormalization":
            out[layer.name] = (0, params, shape)
    return out


@dataclass(frozen=True)
class Totals:
    """MACs and BN-folded parameters of a model the zoo does not describe (a user's file)."""
    macs: int | None
    params_folded: int | None
    source: str


def keras_count(model) -> Totals:
    """Totals straight from a (flattened) Keras model: conv, depthwise and dense MACs; parameters with each
    batch norm folded into a bias."""
    counts = keras_layer_counts(model)
    macs = sum(m for m, _, _ in counts.values())
    params = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Dense"):
            params += layer.count_params()
        elif kind == "BatchNormalization":
            params += layer.count_params() // 4  # gamma, beta, mean, variance -> one bias
    return Totals(macs, params, "Keras layers")


def onnx_count(path) -> Totals:
    """Totals of a float ONNX model: Conv and Gemm/MatMul MACs from ONNX shape inference, and its
    initializers' parameters."""
    import numpy as np
    import onnx
    from onnx import numpy_helper, shape_inference

    model = onnx.load(str(path))
    try:
        model = shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001  (shape inference is best effort; params still count)
        pass
    weights = {i.name: numpy_helper.to_array(i).shape for i in model.graph.initializer}
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in [*model.graph.value_info, *model.graph.output]}
    macs = 0
    for node in model.graph.node:
        out = shapes.get(node.output[0])
        if node.op_type == "Conv" and len(node.input) > 1 and node.input[1] in weights and out and all(out):
            kernel = weights[node.input[1]]  # (cout, cin/groups, kh, kw)
            macs += int(np.prod(out[1:])) * int(np.prod(kernel[1:]))
        elif node.op_type in ("Gemm", "MatMul") and len(node.input) > 1 and node.input[1] in weights:
            macs += int(np.prod(weights[node.input[1]]))
    params = int(sum(int(np.prod(s)) for s in weights.values()))
    return Totals(macs or None, params, "ONNX graph")
