"""The layer-by-layer architecture of each family, in pure Python.

It mirrors ``keras.applications`` exactly (layer names, channel rounding, padding), so the
zoo can be listed and counted without importing TensorFlow; ``tests/test_arch_vs_keras.py``
holds it to the real Keras models layer by layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.zoo.spec import ModelSpec

NUM_CLASSES = 1000  # ImageNet's; a spec's ``classes`` (-cN) sets each head
# MobileNetV3's original last stage (v3 paper, Sec. 5.1, Fig. 5): after the 1x1 expansion at 7x7, a 3x3 depthwise
# and a linear 1x1 projection (the tail of a last bottleneck, as in MnasNet-A1 and V2), then the 1x1 feature layer
# at 7x7 before the pool. Large's projection is MnasNet-A1's 320; Small has no published original stage: 2 x 96
# is our construction (docs/models.md says so).
ORIGINAL_LAST_PROJECTION = {"v3-large": 320, "v3-small": 192}

# Ops that do multiply-accumulates in a "plain" count, as the papers count them.
MAC_OPS = ("conv", "dwconv", "sepconv", "fc")  # sepconv: a depthwise + pointwise pair in one layer (NASNet's)


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
    dilation: int = 1  # atrous (dilated) depthwise convolutions of a segmenter's backbone
    groups: int = 1  # grouped convolution (ShuffleNet): each output channel sees in / groups inputs


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

    def __init__(self, resolution):
        height, width = (resolution, resolution) if isinstance(resolution, int) else resolution
        self.shape = (height, width, 3)
        self.layers: list[Layer] = []
        self.block = "stem"

    def _add(self, name, op, out_shape, **kw) -> None:
        self.layers.append(Layer(name, op, self.block, self.shape, out_shape, **kw))
        self.shape = out_shape

    def conv(self, name, filters, kernel=1, stride=1, act=None, padding="same", bn=True, bias=False, groups=1):
        h, w, _ = self.shape
        size = (_out_size(h, kernel, stride, padding), _out_size(w, kernel, stride, padding))
        self._add(name, "conv", (*size, filters), kernel=kernel, stride=stride, act=act, bn=bn, bias=bias,
                  groups=groups)

    def dwconv(self, name, kernel=3, stride=1, act=None, padding="same", dilation=1):
        h, w, c = self.shape
        size = (_out_size(h, kernel, stride, padding), _out_size(w, kernel, stride, padding))
        self._add(name, "dwconv", (*size, c), kernel=kernel, stride=stride, act=act, bn=True, dilation=dilation)

    def fc(self, name, units, act=None):
        self._add(name, "fc", (1, 1, units), bias=True, act=act)

    def pool(self, name):
        self._add(name, "pool", (1, 1, self.shape[2]), kernel=self.shape[0])

    def other(self, name, op, out_shape=None, act=None):
        self._add(name, op, out_shape or self.shape, act=act)


def _classifier(net: _Net, fc: str, classes: int) -> _Net:
    """The head of v1 and ShuffleNet: global average pool, the fully connected layer ``fc``, softmax."""
    net.block = "head"
    net.pool("global_average_pooling2d")
    net.fc(fc, classes)
    net.other("predictions", "softmax")
    return net


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


def _v1(spec: ModelSpec, top: bool = True, taps: dict | None = None) -> _Net:
    a, net = spec.alpha, _Net(spec.input_shape[:2])
    net.conv("conv1", int(32 * a), 3, 2, act="relu6")
    for i, (filters, stride) in enumerate(scaled_blocks(_V1_BLOCKS, spec.depth), start=1):
        net.block = f"block {i}"
        net.dwconv(f"conv_dw_{i}", 3, stride, act="relu6", padding="same" if stride == 1 else "pad01")
        net.conv(f"conv_pw_{i}", int(filters * a), act="relu6")
        if taps is not None and i == 11:  # SSD's C4: the last stride-16 pointwise conv (OD API conv_pw_11_relu)
            taps["c4"] = ("conv_pw_11_relu", net.shape)
    if not top:
        return net
    return _classifier(net, "conv_preds", spec.classes)


def _v1_conv(spec: ModelSpec) -> _Net:
    """Conv MobileNet (v1 paper, Table 4): each depthwise-separable pair of v1 is one full 3x3 convolution
    with the pair's stride and output channels; same stem, padding and head."""
    a, net = spec.alpha, _Net(spec.input_shape[:2])
    net.conv("conv1", int(32 * a), 3, 2, act="relu6")
    for i, (filters, stride) in enumerate(_V1_BLOCKS, start=1):
        net.block = f"block {i}"
        net.conv(f"conv_{i}", int(filters * a), 3, stride, act="relu6", padding="same" if stride == 1 else "pad01")
    return _classifier(net, "conv_preds", spec.classes)


# (filters, stride, expansion) per inverted residual block, v2 paper Table 2.
_V2_BLOCKS = (
    [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6)]
    + [(64, 2, 6)] + [(64, 1, 6)] * 3 + [(96, 1, 6)] * 3
    + [(160, 2, 6)] + [(160, 1, 6)] * 2 + [(320, 1, 6)]
)


def atrous_schedule(strides: list[int], start: int, output_stride: int | None) -> list[tuple[int, int]]:
    """(stride, dilation) per block so the features stop shrinking at ``output_stride`` (TF-slim's
    ``mobilenet_base(output_stride=...)``, which DeepLab uses): once the running stride reaches it, the next
    strided block runs at stride 1 with the current rate, and every later block dilates by the stride it gave
    up. ``start``: the stride before the first block (the stem's)."""
    out, current, rate = [], start, 1
    for stride in strides:
        if output_stride and stride > 1 and current * stride > output_stride:
            out.append((1, rate))
            rate *= stride
        else:
            out.append((stride, rate))
            current *= stride
    return out


def _v2(spec: ModelSpec, output_stride: int | None = None, top: bool | str = True, taps: dict | None = None) -> _Net:
    """MobileNetV2 as keras.applications builds it; ``top``: True (the classifier), False (up to the last
    bottleneck, DeepLab's input) or "conv" (through the 1280 Conv_1, SSD's C5); ``taps`` gets SSD's C4, the
    expansion of block 13 (the v2 paper's "expansion of layer 15")."""
    a, net = spec.alpha, _Net(spec.input_shape[:2])
    net.conv("Conv1", make_divisible(32 * a), 3, 2, act="relu6")
    blocks = scaled_blocks(_V2_BLOCKS, spec.depth)
    schedule = atrous_schedule([b[1] for b in blocks], 2, output_stride)
    for bid, ((filters, stride, expansion), (s, rate)) in enumerate(zip(blocks, schedule)):
        net.block = f"block {bid}"
        in_ch = net.shape[2]
        out_ch = make_divisible(int(filters * a))
        prefix = f"block_{bid}_" if bid else "expanded_conv_"
        if bid:
            net.conv(f"{prefix}expand", expansion * in_ch, act="relu6")
            if taps is not None and bid == 13:
                taps["c4"] = ("block_13_expand_relu", net.shape)
        net.dwconv(f"{prefix}depthwise", 3, s, act="relu6", padding="same" if s == 1 else "correct", dilation=rate)
        net.conv(f"{prefix}project", out_ch)
        if in_ch == out_ch and stride == 1:
            net.other(f"{prefix}add", "add")
    if not top:
        return net
    net.block = "head"
    net.conv("Conv_1", make_divisible(1280 * a) if a > 1.0 else 1280, act="relu6")
    if top == "conv":
        return net
    net.pool("global_average_pooling2d")
    net.fc("predictions", spec.classes, act="softmax")
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


def _v3(spec: ModelSpec, output_stride: int | None = None, top: bool = True, reduced_tail: bool = False,
        taps: dict | None = None, halve_first_expansion: bool = True) -> _Net:
    """MobileNetV3 as keras.applications builds it; for a segmenter: ``output_stride`` (atrous last stage),
    ``reduced_tail`` (the last stage's channels halved, the v3 paper's RF2, as DeepLab's mobilenet_v3_*_seg
    builds it), ``top=False`` (no pooling and classifier: the final 1x1 conv is the last layer) and ``taps``
    (filled with the stride-8 feature's layer name and shape, for LR-ASPP's skip)."""
    a, net = spec.alpha, _Net(spec.input_shape[:2])
    large = spec.family == "v3-large"
    kernel, act, se_ratio = (3, "relu", None) if spec.minimalistic else (5, "relu" if spec.relu else "hard_swish", 0.25)
    net.other("rescaling", "rescale")
    # -stem32: the stem before Sec. 5.1's redesign, 32 filters with ReLU (the paper: 16 with h-swish is as accurate)
    net.conv("conv", 32 if spec.stem32 else 16, 3, 2, act="relu" if spec.stem32 else act)
    blocks = _V3_LARGE if large else _V3_SMALL
    schedule = atrous_schedule([b[3] for b in blocks], 2, output_stride)
    last_stage = max(i for i, b in enumerate(blocks) if b[3] == 2)
    current = 2
    for bid, ((expansion, filters, k, stride, se, block_act), (s, rate)) in enumerate(zip(blocks, schedule)):
        net.block = f"block {bid}"
        k = kernel if k == "K" else k
        block_act = act if block_act == "A" else block_act
        in_ch = net.shape[2]
        out_ch = make_divisible(filters * a)
        prefix = f"expanded_conv_{bid}_" if bid else "expanded_conv_"
        mid = make_divisible(in_ch * expansion)
        if reduced_tail and bid >= last_stage:
            out_ch //= 2
            mid = mid // 2 if bid == last_stage and halve_first_expansion else mid
        if bid:
            net.conv(f"{prefix}expand", mid, act=block_act)
            if taps is not None and bid == last_stage:  # SSD's C4: the expansion of the first stride-32 block
                taps["c4"] = (f"{prefix}expand_bn", net.shape)
        net.dwconv(f"{prefix}depthwise", k, s, act=block_act, padding="same" if s == 1 else "correct", dilation=rate)
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
        current *= s
        if taps is not None and current == 8 and "low" not in taps:
            taps["low"] = (f"{prefix}project_bn", net.shape)
    net.block = "head"
    net.conv("conv_1", make_divisible(net.shape[2] * 6), act=act)
    if not top:
        return net
    last_point = 1280 if large else 1024
    last_point = make_divisible(last_point * a) if a > 1.0 else last_point
    if spec.original_last:  # the feature layer at 7x7 after a depthwise + projection, then the pool (Fig. 5)
        net.dwconv("conv_1_depthwise", 3, 1, act=act)
        net.conv("conv_1_project", make_divisible(ORIGINAL_LAST_PROJECTION[spec.family] * a))
        net.conv("conv_2", last_point, act=act)
        net.pool("global_average_pooling2d")
    else:
        net.pool("global_average_pooling2d")
        net.fc("conv_2", last_point, act=act)
    net.fc("logits", spec.classes)
    net.other("predictions", "softmax")
    return net


def _backbone_spec(spec: ModelSpec) -> ModelSpec:
    """The backbone of a segmenter as a classifier spec (its family, width and input)."""
    return ModelSpec(spec.info.backbone, spec.alpha, spec.resolution, width=spec.width)


DEEPLAB_FILTERS = 256  # DeepLab's aspp_convs_filters
ASPP_RATES = (6, 12, 18)  # at output stride 16; doubled at 8 (DeepLabv3, Sec. 3.3)
LRASPP_FILTERS = 128  # the v3 paper's segmentation head (Table 7, F = 128)


def _deeplab(spec: ModelSpec) -> _Net:
    """DeepLabv3 on MobileNetV2 (v2 paper, Sec. 6.3): the head reads the 320-channel output of the last
    bottleneck (no 1280 Conv_1); image pooling (global average, 1x1 conv, back to the map's size) beside a 1x1
    conv (and, with ASPP, three 3x3 atrous convs), concatenated, projected by a 1x1 conv, then the logits and a
    bilinear resize to the input: DeepLab's ``extract_features`` + ``get_branch_logits``."""
    net = _v2(_backbone_spec(spec), spec.stride, top=False)
    feature = net.shape
    classes = len(spec.info.class_names)
    net.block = "head"
    net.pool("image_pooling_pool")
    net.conv("image_pooling", DEEPLAB_FILTERS, act="relu")
    net.other("image_pooling_resize", "resize", (*feature[:2], DEEPLAB_FILTERS))
    branches = 2
    net.shape = feature
    net.conv("aspp0", DEEPLAB_FILTERS, act="relu")
    if spec.aspp:
        for i, rate in enumerate(ASPP_RATES, start=1):
            net.shape = feature
            net.conv(f"aspp{i}", DEEPLAB_FILTERS, 3, act="relu")
            branches += 1
    net.other("concat", "concat", (*feature[:2], DEEPLAB_FILTERS * branches))
    net.conv("concat_projection", DEEPLAB_FILTERS, act="relu")
    net.conv("logits", classes, bn=False, bias=True)
    net.other("upsample", "resize", (*spec.input_shape[:2], classes))
    return net


def _lraspp(spec: ModelSpec) -> _Net:
    """LR-ASPP on MobileNetV3 (v3 paper, Sec. 6.4, Fig. 10), as torchvision's ``LRASPPHead`` builds it on the
    atrous, reduced-tail backbone: 1x1 conv (128) + BN + ReLU on the last features, gated by a global-average
    pooled 1x1 conv + sigmoid, resized to the stride-8 features, a 1x1 classifier on each, summed, resized."""
    taps: dict = {}
    net = _v3(_backbone_spec(spec), spec.stride, top=False, reduced_tail=True, taps=taps)
    high = net.shape
    low_name, low = taps["low"]
    classes = len(spec.info.class_names)
    net.block = "head"
    net.conv("lraspp_cbr", LRASPP_FILTERS, act="relu")
    net.shape = high
    net.pool("lraspp_scale_pool")
    net.conv("lraspp_scale", LRASPP_FILTERS, bn=False, act="sigmoid")
    net.shape = (*high[:2], LRASPP_FILTERS)
    net.other("lraspp_mul", "mul")
    net.other("lraspp_resize", "resize", (*low[:2], LRASPP_FILTERS))
    net.conv("lraspp_high_classifier", classes, bn=False, bias=True)
    net.shape = low
    net.conv("lraspp_low_classifier", classes, bn=False, bias=True)
    net.other("lraspp_add", "add")
    net.other("upsample", "resize", (*spec.input_shape[:2], classes))
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
    a, net = spec.alpha, _Net(spec.input_shape[:2])

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
    net.fc("predictions", spec.classes, act="softmax")
    return net


SSD_EXTRA_DEPTHS = (512, 256, 256, 128)  # the OD API's SSDLite feature_map_layout, maps 3-6
SSD_MIN_DEPTH = 16
SSD_ANCHORS_PER_CELL = (3, 6, 6, 6, 6, 6)  # reduce_boxes_in_lowest_layer: 3 on the first map, 6 elsewhere


def _ssdlite(spec: ModelSpec, maps: list | None = None) -> _Net:
    """SSDLite (v2 paper Sec. 6.2, v3 paper Sec. 6.3, the OD API's ssd_mobilenet_v{1,2,3} feature extractors):
    C4 (stride 16) and C5 (the last 1x1 conv, stride 32) of the backbone, four extra maps each a 1x1 conv to half
    the depth, a 3x3 depthwise conv of stride 2 and a 1x1 conv to the depth, and on all six a depthwise-separable
    box predictor (3x3 depthwise + BN + ReLU6, 1x1 conv to anchors x 4) and class predictor (anchors x classes+1).
    ``maps`` gets each map's (name, shape)."""
    taps: dict = {}
    backbone = _backbone_spec(spec)
    if spec.info.backbone == "v1":
        net = _v1(backbone, top=False, taps=taps)
    elif spec.info.backbone == "v2":
        net = _v2(backbone, top="conv", taps=taps)
    else:
        net = _v3(backbone, top=False, reduced_tail=spec.reduced, taps=taps, halve_first_expansion=False)
    features = [taps["c4"][1], net.shape]
    names = [taps["c4"][0], net.layers[-1].name]
    net.block = "extra layers"
    for i, depth in enumerate(SSD_EXTRA_DEPTHS, start=1):
        depth = max(int(depth * spec.alpha), SSD_MIN_DEPTH)
        prefix = f"extra_{i}"
        net.conv(f"{prefix}_1x1", max(depth // 2, SSD_MIN_DEPTH), act="relu6")
        net.dwconv(f"{prefix}_depthwise", 3, 2, act="relu6")
        net.conv(f"{prefix}_project", depth, act="relu6")
        features.append(net.shape)
        names.append(f"{prefix}_project")
    classes = len(spec.info.class_names) + 1
    for i, (shape, anchors) in enumerate(zip(features, SSD_ANCHORS_PER_CELL)):
        net.block = f"predictor {i}"
        for kind, width in (("box", 4), ("class", classes)):
            net.shape = shape
            net.dwconv(f"predictor_{i}_{kind}_depthwise", 3, 1, act="relu6")
            net.conv(f"predictor_{i}_{kind}", anchors * width, bn=False, bias=True)
    if maps is not None:
        maps.extend(zip(names, features))
    total = sum(h * w * a for (h, w, _), a in zip(features, SSD_ANCHORS_PER_CELL))
    net.shape = (1, total, classes)
    net.other("scores", "sigmoid")
    return net


def feature_maps(spec: ModelSpec) -> list[tuple[str, tuple[int, int, int]]]:
    """A detector's six feature maps (layer name, shape): where its anchors sit."""
    maps: list = []
    _ssdlite(spec, maps)
    return maps


# ShuffleNet v1 (Zhang et al. 2018, Table 1): stage 2's output channels at 1x per group count; stages 3 and 4
# double it; 4, 8 and 4 units; each unit's bottleneck a quarter of its output (the authors' code). Stems are the
# authors' (megvii-model/ShuffleNet-Series): 24, 12 at 0.5x (16 for g = 8), 48 at 2x.
SHUFFLENET_STAGE2 = {1: 144, 2: 200, 3: 240, 4: 272, 8: 384}
SHUFFLENET_REPEATS = (4, 8, 4)


def shufflenet_channels(groups: int, alpha: float, name: str = "") -> tuple[int, list[int]]:
    """(stem, the three stages' output channels) of ShuffleNet v1 at ``groups`` and width ``alpha``; refuses a
    group count that does not divide a grouped convolution's channels."""
    from edgekit.errors import UnknownModelError

    stem = 48 if alpha >= 2.0 else 12 if alpha <= 0.5 else 24
    if alpha <= 0.5 and groups == 8:
        stem = 16
    stages = [int(SHUFFLENET_STAGE2[groups] * alpha) * m for m in (1, 2, 4)]
    inputs = [stem, stages[0], stages[1]]
    for out, cin in zip(stages, inputs):
        for what, channels in (("bottleneck (a quarter of the output)", out // 4),
                               ("first unit's branch (output minus input)", out - cin)):
            if out % 4 or channels % groups:
                raise UnknownModelError(f"'{name}': {groups} groups do not divide the {what} channels ({channels}) of "
                                        f"the {out}-channel stage at width {alpha:g}: pick another group count or width")
    return stem, stages


def _shufflenet(spec: ModelSpec) -> _Net:
    """ShuffleNet v1 (arXiv:1707.01083, Sec. 3, Table 1): a 3x3 stem and max pool, then units of 1x1 grouped conv
    + BN + ReLU, channel shuffle, 3x3 depthwise + BN, 1x1 grouped conv + BN; a stride-1 unit adds its input (then
    ReLU), a stride-2 unit concatenates its input average-pooled; stage 2's first 1x1 is not grouped."""
    g = spec.groups or 3
    stem, stages = shufflenet_channels(g, spec.alpha, spec.name)
    net = _Net(spec.input_shape[:2])
    net.conv("conv1", stem, 3, 2, act="relu")
    h, w, c = net.shape
    net.other("maxpool", "maxpool", (-(-h // 2), -(-w // 2), c))
    for stage, (out, repeats) in enumerate(zip(stages, SHUFFLENET_REPEATS), start=2):
        for unit in range(repeats):
            net.block = f"stage {stage} unit {unit}"
            prefix = f"stage{stage}_unit{unit}_"
            stride = 2 if unit == 0 else 1
            block_in = net.shape
            net.conv(f"{prefix}gconv1", out // 4, act="relu", groups=1 if (stage == 2 and unit == 0) else g)
            if g > 1:
                net.other(f"{prefix}shuffle", "shuffle")
            net.dwconv(f"{prefix}dwconv", 3, stride)
            net.conv(f"{prefix}gconv2", out - block_in[2] if stride == 2 else out, groups=g)
            if stride == 2:
                branch = net.shape
                net.shape = block_in
                net.other(f"{prefix}shortcut", "avgpool", (*branch[:2], block_in[2]))
                net.other(f"{prefix}concat", "concat", (*branch[:2], out))
            else:
                net.other(f"{prefix}add", "add")
    return _classifier(net, "fc", spec.classes)


def _recorded(spec: ModelSpec) -> _Net:
    """A network recorded from its own Keras application (``zoo.recorded``: NASNet-A mobile), as table rows;
    ``-cN`` resizes the classifier."""
    import re

    from edgekit.zoo.recorded import table

    net = _Net(spec.input_shape[:2])
    rows = table(spec.family)
    for i, row in enumerate(rows):
        cell = re.search(r"_(stem_\d|reduce_\d+|\d+)$", row["name"])
        net.block = f"cell {cell.group(1)}" if cell else ("head" if i == len(rows) - 1 else "stem")
        out = tuple(row["out"])
        if row["op"] == "fc" and i == len(rows) - 1:
            out = (1, 1, spec.classes)
        net.layers.append(Layer(row["name"], row["op"], net.block, tuple(row["in"]), out, kernel=row["kernel"],
                                stride=row["stride"], bias=row["bias"], bn=row["bn"]))
    net.shape = net.layers[-1].out_shape
    net.other("predictions", "softmax")
    return net


_BUILDERS = {"v1": _v1, "v1-conv": _v1_conv, "v2": _v2, "v3-small": _v3, "v3-large": _v3,
             "efficientnet-b0": _mbconv, "efficientnet-lite0": _mbconv, "mnasnet-a1": _mbconv,
             "shufflenet-v1": _shufflenet, "nasnet-a-mobile": _recorded,
             "deeplabv3-v2": _deeplab, "lraspp-v3-large": _lraspp, "lraspp-v3-small": _lraspp,
             "ssdlite-v1": _ssdlite, "ssdlite-v2": _ssdlite, "ssdlite-v3-large": _ssdlite, "ssdlite-v3-small": _ssdlite}


def layers(spec: ModelSpec) -> list[Layer]:
    """The architecture of ``spec`` as a list of table rows, input to logits (a segmenter's: per pixel)."""
    return _BUILDERS[spec.family](spec).layers
