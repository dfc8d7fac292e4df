"""The layer-by-layer architecture of each family, in pure Python.

It mirrors ``keras.applications`` exactly (layer names, channel rounding, padding), so the
zoo can be listed and counted without importing TensorFlow; ``tests/test_arch_vs_keras.py``
holds it to the real Keras models layer by layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.zoo.spec import ModelSpec

NUM_CLASSES = 1000

# Ops that do multiply-accumulates in a "plain" count, as the papers count them.
MAC_OPS = ("conv", "dwconv", "fc")


@dataclass(frozen=True)
class Layer:
    """One row of the architecture table.

    op: conv | dwconv | fc | pool | add | mul | rescale | softmax. ``fc`` covers Dense and 1x1
    convolutions on a 1x1 map (v1's and v3's heads, v3's squeeze-and-excite). ``bn`` means a
    BatchNormalization follows (folded into the conv when deployed).
    """

    name: str
    op: str
    block: str
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    kernel: int = 1
    stride: int = 1
    bias: bool = False
    bn: bool = False
    act: str | None = None


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Channel rounding used by Keras/TF-slim v2 and v3 (``_make_divisible`` / ``_depth``)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _out_size(size: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "same":
        return -(-size // stride)
    if padding == "pad01":  # Keras v1: ZeroPadding2D(((0, 1), (0, 1))) then a valid conv
        return (size + 1 - kernel) // stride + 1
    if padding == "correct":  # Keras v2/v3: imagenet_utils.correct_pad then a valid conv
        half = kernel // 2
        return (size + 2 * half - (1 - size % 2) - kernel) // stride + 1
    raise ValueError(padding)


class _Net:
    """Tracks the running tensor shape while a family's builder appends layers."""

    def __init__(self, resolution: int):
        self.shape = (resolution, resolution, 3)
        self.layers: list[Layer] = []
        self.block = "stem"

    def _add(self, name, op, out_shape, **kw) -> None:
        self.layers.append(Layer(name, op, self.block, self.shape, out_shape, **kw))
        self.shape = out_shape

    def conv(self, name, filters, kernel=1, stride=1, act=None, padding="same", bn=True, bias=False):
        h, w, _ = self.shape
        size = (_out_size(h, kernel, stride, padding), _out_size(w, kernel, stride, padding))
        self._add(name, "conv", (*size, filters), kernel=kernel, stride=stride, act=act, bn=bn, bias=bias)

    def dwconv(self, name, kernel=3, stride=1, act=None, padding="same"):
        h, w, c = self.shape
        size = (_out_size(h, kernel, stride, padding), _out_size(w, kernel, stride, padding))
        self._add(name, "dwconv", (*size, c), kernel=kernel, stride=stride, act=act, bn=True)

    def fc(self, name, units, act=None):
        self._add(name, "fc", (1, 1, units), bias=True, act=act)

    def pool(self, name):
        self._add(name, "pool", (1, 1, self.shape[2]), kernel=self.shape[0])

    def other(self, name, op, out_shape=None, act=None):
        self._add(name, op, out_shape or self.shape, act=act)


_V1_BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


def scaled_blocks(blocks: list[tuple], depth: float) -> list[tuple]:
    """EfficientNet's depth scaling: the blocks of each stage (a run of blocks with the same output
    channels) repeated ceil(depth * n) times; the added blocks repeat the stage's last one (stride 1)."""
    import math

    if depth == 1.0:
        return list(blocks)
    stages: list[list[tuple]] = []
    for block in blocks:
        if stages and stages[-1][-1][0] == block[0]:
            stages[-1].append(block)
        else:
            stages.append([block])
    out: list[tuple] = []
    for stage in stages:
        out += stage + [stage[-1]] * (math.ceil(depth * len(stage)) - len(stage))
    return out


def _v1(spec: ModelSpec) -> _Net:
    a, net = spec.alpha, _Net(spec.resolution)
    net.conv("conv1", int(32 * a), 3, 2, act="relu6")
    for i, (filters, stride) in enumerate(scaled_blocks(_V1_BLOCKS, spec.depth), start=1):
        net.block = f"block {i}"
        net.dwconv(f"conv_dw_{i}", 3, stride, act="relu6", padding="same" if stride == 1 else "pad01")
        net.conv(f"conv_pw_{i}", int(filters * a), act="relu6")
    net.block = "head"
    net.pool("global_average_pooling2d")
    net.fc("conv_preds", NUM_CLASSES)
    net.other("predictions", "softmax")
    return net


def _v1_conv(spec: ModelSpec) -> _Net:
    """Conv MobileNet (v1 paper, Table 4): each depthwise-separable pair of v1 is one full 3x3 convolution
    with the pair's stride and output channels; same stem, padding and head."""
    a, net = spec.alpha, _Net(spec.resolution)
    net.conv("conv1", int(32 * a), 3, 2, act="relu6")
    for i, (filters, stride) in enumerate(_V1_BLOCKS, start=1):
        net.block = f"block {i}"
        net.conv(f"conv_{i}", int(filters * a), 3, stride, act="relu6", padding="same" if stride == 1 else "pad01")
    net.block = "head"
    net.pool("global_average_pooling2d")
    net.fc("conv_preds", NUM_CLASSES)
    net.other("predictions", "softmax")
    return net


# (filters, stride, expansion) per inverted residual block, v2 paper Table 2.
_V2_BLOCKS = (
    [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6)]
    + [(64, 2, 6)] + [(64, 1, 6)] * 3 + [(96, 1, 6)] * 3
    + [(160, 2, 6)] + [(160, 1, 6)] * 2 + [(320, 1, 6)]
)


def _v2(spec: ModelSpec) -> _Net:
    a, net = spec.alpha, _Net(spec.resolution)
    net.conv("Conv1", make_divisible(32 * a), 3, 2, act="relu6")
    for bid, (filters, stride, expansion) in enumerate(scaled_blocks(_V2_BLOCKS, spec.depth)):
        net.block = f"block {bid}"
        in_ch = net.shape[2]
        out_ch = make_divisible(int(filters * a))
        prefix = f"block_{bid}_" if bid else "expanded_conv_"
        if bid:
            net.conv(f"{prefix}expand", expansion * in_ch, act="relu6")
        net.dwconv(f"{prefix}depthwise", 3, stride, act="relu6", padding="same" if stride == 1 else "correct")
        net.conv(f"{prefix}project", out_ch)
        if in_ch == out_ch and stride == 1:
            net.other(f"{prefix}add", "add")
    net.block = "head"
    net.conv("Conv_1", make_divisible(1280 * a) if a > 1.0 else 1280, act="relu6")
    net.pool("global_average_pooling2d")
    net.fc("predictions", NUM_CLASSES, act="softmax")
    return net


# (expansion, filters, kernel or "K" (5 unless minimalistic), stride, SE?, activation or "A")
_V3_SMALL = [
    (1, 16, 3, 2, True, "relu"), (72 / 16, 24, 3, 2, False, "relu"), (88 / 24, 24, 3, 1, False, "relu"),
    (4, 40, "K", 2, True, "A"), (6, 40, "K", 1, True, "A"), (6, 40, "K", 1, True, "A"),
    (3, 48, "K", 1, True, "A"), (3, 48, "K", 1, True, "A"),
    (6, 96, "K", 2, True, "A"), (6, 96, "K", 1, True, "A"), (6, 96, "K", 1, True, "A"),
]
_V3_LARGE = [
    (1, 16, 3, 1, False, "relu"), (4, 24, 3, 2, False, "relu"), (3, 24, 3, 1, False, "relu"),
    (3, 40, "K", 2, True, "relu"), (3, 40, "K", 1, True, "relu"), (3, 40, "K", 1, True, "relu"),
    (6, 80, 3, 2, False, "A"), (2.5, 80, 3, 1, False, "A"), (2.3, 80, 3, 1, False, "A"), (2.3, 80, 3, 1, False, "A"),
    (6, 112, 3, 1, True, "A"), (6, 112, 3, 1, True, "A"),
    (6, 160, "K", 2, True, "A"), (6, 160, "K", 1, True, "A"), (6, 160, "K", 1, True, "A"),
]


def _v3(spec: ModelSpec) -> _Net:
    a, net = spec.alpha, _Net(spec.resolution)
    large = spec.family == "v3-large"
    kernel, act, se_ratio = (3, "relu", None) if spec.minimalistic else (5, "hard_swish", 0.25)
    net.other("rescaling", "rescale")
    net.conv("conv", 16, 3, 2, act=act)
    for bid, (expansion, filters, k, stride, se, block_act) in enumerate(_V3_LARGE if large else _V3_SMALL):
        net.block = f"block {bid}"
        k = kernel if k == "K" else k
        block_act = act if block_act == "A" else block_act
        in_ch = net.shape[2]
        out_ch = make_divisible(filters * a)
        prefix = f"expanded_conv_{bid}_" if bid else "expanded_conv_"
        mid = make_divisible(in_ch * expansion)
        if bid:
            net.conv(f"{prefix}expand", mid, act=block_act)
        net.dwconv(f"{prefix}depthwise", k, stride, act=block_act, padding="same" if stride == 1 else "correct")
        if se and se_ratio:
            spatial = net.shape
            net.pool(f"{prefix}squeeze_excite_avg_pool")
            net.fc(f"{prefix}squeeze_excite_conv", make_divisible(mid * se_ratio), act="relu")
            net.fc(f"{prefix}squeeze_excite_conv_1", mid, act="hard_sigmoid")
            net.shape = spatial
            net.other(f"{prefix}squeeze_excite_mul", "mul")
        net.conv(f"{prefix}project", out_ch)
        if stride == 1 and in_ch == out_ch:
            net.other(f"{prefix}add", "add")
    net.block = "head"
    last_point = 1280 if large else 1024
    last_point = make_divisible(last_point * a) if a > 1.0 else last_point
    net.conv("conv_1", make_divisible(net.shape[2] * 6), act=act)
    net.pool("global_average_pooling2d")
    net.fc("conv_2", last_point, act=act)
    net.fc("logits", NUM_CLASSES)
    net.other("predictions", "softmax")
    return net


# MBConv networks: (kernel, repeats, filters_in, filters_out, expansion, stride, se_ratio, skip) per stage.
EFFICIENTNET_B0 = [(3, 1, 32, 16, 1, 1, 0.25, True), (3, 2, 16, 24, 6, 2, 0.25, True), (5, 2, 24, 40, 6, 2, 0.25, True),
                   (3, 3, 40, 80, 6, 2, 0.25, True), (5, 3, 80, 112, 6, 1, 0.25, True),
                   (5, 4, 112, 192, 6, 2, 0.25, True), (3, 1, 192, 320, 6, 1, 0.25, True)]
# MnasNet-A1 (Tan et al. 2019, Fig. 7; TF's mnasnet_models.py "mnasnet-a1"): ReLU, SE on the 5x5 stages.
MNASNET_A1 = [(3, 1, 32, 16, 1, 1, 0, False), (3, 2, 16, 24, 6, 2, 0, True), (5, 3, 24, 40, 3, 2, 0.25, True),
              (3, 4, 40, 80, 6, 2, 0, True), (3, 2, 80, 112, 6, 1, 0.25, True), (5, 3, 112, 160, 6, 2, 0.25, True),
              (3, 1, 160, 320, 6, 1, 0, True)]
MBCONV = {
    # family: (stages, activation, stem/head scale with width, SE, padding of strided convs, head channels)
    "efficientnet-b0": (EFFICIENTNET_B0, "swish", True, True, "correct", 1280),
    "efficientnet-lite0": (EFFICIENTNET_B0, "relu6", False, False, "correct", 1280),
    "mnasnet-a1": (MNASNET_A1, "relu", True, True, "same", 1280),
}


def _mbconv(spec: ModelSpec) -> _Net:
    """EfficientNet-B0 (as keras.applications builds it), EfficientNet-Lite0 (no SE, ReLU6, fixed stem and
    head: built for int8 and the Edge TPU) and MnasNet-A1 (ReLU, SE on some stages), from their stage
    tables. Channels scale with the width multiplier, rounded to multiples of 8."""
    stages, act, scale_ends, use_se, padding, head = MBCONV[spec.family]
    a, net = spec.alpha, _Net(spec.resolution)

    def width(filters: int) -> int:
        return make_divisible(filters * a)

    if spec.family.startswith("efficientnet"):
        net.other("rescaling", "rescale")
        if spec.family == "efficientnet-b0":
            net.other("normalization", "normalize")
    net.conv("stem_conv", width(32) if scale_ends else 32, 3, 2, act=act, padding=padding)
    for i, (kernel, repeats, f_in, f_out, expansion, stride, se_ratio, skip) in enumerate(stages, start=1):
        f_in, f_out = width(f_in), width(f_out)
        if i == 1 and not scale_ends:
            f_in = 32
        for j in range(repeats):
            net.block = f"block{i}{chr(97 + j)}"
            prefix = f"block{i}{chr(97 + j)}_"
            block_in = f_in if j == 0 else f_out
            s = stride if j == 0 else 1
            mid = block_in * expansion
            if expansion != 1:
                net.conv(f"{prefix}expand_conv", mid, act=act)
            net.dwconv(f"{prefix}dwconv", kernel, s, act=act, padding="same" if s == 1 else padding)
            if use_se and se_ratio:
                spatial = net.shape
                net.pool(f"{prefix}se_squeeze")
                net.fc(f"{prefix}se_reduce", max(1, int(block_in * se_ratio)), act=act)
                net.fc(f"{prefix}se_expand", mid, act="sigmoid")
                net.shape = spatial
                net.other(f"{prefix}se_excite", "mul")
            net.conv(f"{prefix}project_conv", f_out)
            if skip and s == 1 and block_in == f_out:
                net.other(f"{prefix}add", "add")
    net.block = "head"
    net.conv("top_conv", width(head) if scale_ends else head, act=act)
    net.pool("avg_pool")
    net.fc("predictions", NUM_CLASSES, act="softmax")
    return net


_BUILDERS = {"v1": _v1, "v1-conv": _v1_conv, "v2": _v2, "v3-small": _v3, "v3-large": _v3,
             "efficientnet-b0": _mbconv, "efficientnet-lite0": _mbconv, "mnasnet-a1": _mbconv}


def layers(spec: ModelSpec) -> list[Layer]:
    """The architecture of ``spec`` as a list of table rows, input to logits."""
    return _BUILDERS[spec.family](spec).layers
