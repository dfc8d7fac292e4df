"""Build a zoo model with ``keras.applications`` (the field's own builders) and load weights.

This is the only zoo module that imports TensorFlow/Keras, and only when called.
"""

from __future__ import annotations

import os

from edgekit.errors import WeightsError, first_line
from edgekit.zoo import weights as weights_mod
from edgekit.zoo.spec import ModelSpec


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
    except ImportError as exc:  # the device-side install has no TensorFlow
        from edgekit.errors import EdgekitError

        raise EdgekitError(
            "building models needs TensorFlow/Keras: pip install 'edgekit[convert]'"
        ) from exc
    return keras


def build(spec: ModelSpec, weights: str | None = "none", *, logits: bool = False):
    """Return ``(keras_model, WeightsSource)`` for ``spec``.

    ``logits=True`` drops the final softmax (``classifier_activation=None``): what numerical
    checks and quantization want. ImageNet weights go through Keras's own download and cache
    (``~/.keras/models`` or ``$KERAS_HOME``); offline, that becomes a WeightsError.
    """
    source = weights_mod.resolve(spec, weights)
    keras = _keras()
    if spec.info.head_task:
        if source.seed is not None:
            keras.utils.set_random_seed(source.seed)
        model = segmenter(spec) if spec.info.dense else detector(spec)
        if source.kind == "file":
            try:
                model.load_weights(source.path)
            except Exception as exc:
                raise WeightsError(f"cannot load {source.path} into {spec.name}: {first_line(exc)}") from None
        return model, source
    if spec.depth != 1.0:  # EfficientNet's depth scaling: keras.applications has no such knob
        builder = _deep(spec.family, spec.depth)
    else:
        builder = (getattr(keras.applications, spec.info.keras_builder) if spec.info.keras_builder else
                   _shufflenet_builder(spec) if spec.family == "shufflenet-v1" else _OWN[spec.family]())
    kwargs = dict(
        input_shape=spec.input_shape,
        alpha=spec.alpha,
        weights=None,
        classifier_activation=None if logits else "softmax",
    )
    if spec.family in ("efficientnet-b0", "nasnet-a-mobile"):
        kwargs.pop("alpha")  # one width
    if spec.family.startswith("v3"):
        kwargs["minimalistic"] = spec.minimalistic
    if spec.classes != 1000:
        kwargs["classes"] = spec.classes
    if spec.ablations:
        builder = _v3_ablated(builder, spec)
    if source.kind == "imagenet":
        return _build_imagenet(builder, kwargs, spec), source
    if source.seed is not None:
        keras.utils.set_random_seed(source.seed)
    model = builder(**kwargs)
    if source.kind == "file":
        try:
            model.load_weights(source.path)
        except Exception as exc:  # h5py OSError (corrupt), ValueError (other architecture), ...
            raise WeightsError(
                f"cannot load {source.path} into {spec.name}: {first_line(exc)}"
            ) from None
    return model, source


def _v3_ablated(maker, spec: ModelSpec):
    """keras.applications' MobileNetV3 with the v3 paper's Sec. 5.1 redesigns undone (the same numbers
    ``arch._v3`` counts): ``-stem32`` edits the stem to 32 filters with ReLU (and the first block's
    squeeze-excite, which is sized by its input), ``-origlast`` replaces the efficient last stage by the
    original one (3x3 depthwise and a linear projection after the 7x7 expansion, the feature layer at 7x7 with
    batch norm, then the pool and the logits)."""
    from edgekit.zoo import arch

    keras = _keras()
    layers = keras.layers

    def build(input_shape, alpha=1.0, weights=None, classifier_activation="softmax", classes=1000, minimalistic=False):
        base = maker(input_shape=input_shape, alpha=alpha, weights=None, minimalistic=minimalistic,
                     include_top=not spec.original_last, classes=classes, classifier_activation=classifier_activation,
                     include_preprocessing=True)
        if spec.stem32 or spec.relu:
            config = base.get_config()
            by_name = {layer["config"]["name"]: layer for layer in config["layers"]}
            if spec.relu:  # Table 5's ReLU row: every h-swish a ReLU (SE's hard-sigmoid gates stay)
                for layer in config["layers"]:
                    if layer["class_name"] == "Activation" and layer["config"]["activation"] in ("hard_silu", "hard_swish"):
                        layer["config"]["activation"] = "relu"
            if spec.stem32:
                by_name["conv"]["config"]["filters"] = 32
                stem_act = next(layer for layer in config["layers"] if any(
                    n[0] == "conv_bn" for node in layer.get("inbound_nodes", []) for n in _inbound(node)))
                if stem_act["class_name"] == "Activation":
                    stem_act["config"]["activation"] = "relu"
                if "expanded_conv_squeeze_excite_conv_1" in by_name:
                    by_name["expanded_conv_squeeze_excite_conv_1"]["config"]["filters"] = 32
                    by_name["expanded_conv_squeeze_excite_conv"]["config"]["filters"] = arch.make_divisible(32 * 0.25)
                if "expanded_conv_add" in by_name:  # 32 in, 16 out: the first block's residual no longer exists
                    config["layers"].remove(by_name["expanded_conv_add"])
                    _rewire(config["layers"], "expanded_conv_add", "expanded_conv_project_bn")
            for layer in config["layers"]:
                layer.pop("build_config", None)
            base = keras.Model.from_config(config)
        if not spec.original_last:
            return base
        act = "relu" if minimalistic or spec.relu else "hard_swish"
        last_point = 1280 if spec.family == "v3-large" else 1024
        last_point = arch.make_divisible(last_point * alpha) if alpha > 1.0 else last_point
        x = base.output
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="conv_1_depthwise")(x)
        x = layers.Activation(act, name="conv_1_depthwise_act")(layers.BatchNormalization(name="conv_1_depthwise_bn")(x))
        x = layers.Conv2D(arch.make_divisible(arch.ORIGINAL_LAST_PROJECTION[spec.family] * alpha), 1, use_bias=False,
                          name="conv_1_project")(x)
        x = layers.BatchNormalization(name="conv_1_project_bn")(x)
        x = layers.Conv2D(last_point, 1, use_bias=False, name="conv_2")(x)
        x = layers.Activation(act, name="conv_2_act")(layers.BatchNormalization(name="conv_2_bn")(x))
        x = layers.GlobalAveragePooling2D(keepdims=True, name="global_average_pooling2d")(x)
        x = layers.Dropout(0.2, name="dropout")(x)
        x = layers.Conv2D(classes, 1, name="logits")(x)
        x = layers.Flatten(name="flatten")(x)
        if classifier_activation:
            x = layers.Activation(classifier_activation, name="predictions")(x)
        return keras.Model(base.input, x, name=spec.name.replace("-", "_").replace(".", "_"))

    return build


def _rewire(value, old: str, new: str) -> None:
    """Point every serialized reference to layer ``old`` at layer ``new`` instead (in place)."""
    if isinstance(value, dict):
        history = value.get("keras_history") if isinstance(value.get("keras_history"), list) else None
        if history and history[0] == old:
            history[0] = new
        for item in value.values():
            _rewire(item, old, new)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _rewire(item, old, new)


def _inbound(node) -> list:
    """The (layer name, ...) entries of one Keras 3 serialized inbound node."""
    args = node.get("args", []) if isinstance(node, dict) else node
    out = []
    for arg in args if isinstance(args, (list, tuple)) else [args]:
        if isinstance(arg, dict) and "keras_history" in arg.get("config", {}):
            out.append(arg["config"]["keras_history"])
    return out


def _v1_like(separable: bool, depth: float = 1.0):
    """A Keras builder of MobileNet v1's shape, written like ``keras.applications.MobileNet`` (layer names, the
    (0, 1) zero padding before stride-2 convolutions, the 1x1-conv head): depthwise-separable blocks with each
    stage repeated ceil(depth * n) times (EfficientNet, Table 3), or, ``separable=False``, Conv MobileNet (v1
    paper, Table 4: each pair one full 3x3 convolution). Held layer by layer to ``arch`` by the tests."""
    from edgekit.zoo.arch import _V1_BLOCKS, scaled_blocks  # noqa: PLC2701 (same package: the one block table)

    keras = _keras()
    layers = keras.layers

    def conv_bn(x, conv, name):
        x = conv(name)(x)
        return layers.ReLU(6.0, name=f"{name}_relu")(layers.BatchNormalization(name=f"{name}_bn")(x))

    def build(input_shape, alpha=1.0, weights=None, classifier_activation="softmax", classes=1000):
        inputs = keras.Input(input_shape)
        x = conv_bn(inputs, lambda n: layers.Conv2D(int(32 * alpha), 3, strides=2, padding="same", use_bias=False,
                                                    name=n), "conv1")
        for i, (filters, stride) in enumerate(scaled_blocks(_V1_BLOCKS, depth), start=1):
            pad = "same" if stride == 1 else "valid"
            if stride == 2:
                x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{i}")(x)
            if separable:
                x = conv_bn(x, lambda n: layers.DepthwiseConv2D(3, strides=stride, padding=pad, use_bias=False, name=n),
                            f"conv_dw_{i}")
                x = conv_bn(x, lambda n: layers.Conv2D(int(filters * alpha), 1, use_bias=False, name=n), f"conv_pw_{i}")
            else:
                x = conv_bn(x, lambda n: layers.Conv2D(int(filters * alpha), 3, strides=stride, padding=pad,
                                                       use_bias=False, name=n), f"conv_{i}")
        x = layers.GlobalAveragePooling2D(keepdims=True, name="global_average_pooling2d")(x)
        x = layers.Conv2D(classes, 1, name="conv_preds")(layers.Dropout(1e-3, name="dropout")(x))
        x = layers.Reshape((classes,), name="reshape_2")(x)
        if classifier_activation:
            x = layers.Activation(classifier_activation, name="predictions")(x)
        kind = f"mobilenet_{alpha:g}_{input_shape[0]}" if separable else f"conv_mobilenet_{alpha:g}_{input_shape[0]}"
        return keras.Model(inputs, x, name=kind + (f"_d{depth:g}" if depth != 1.0 else ""))

    return build


def _deep(family: str, depth: float):
    """A Keras builder of v1 or v2 with each stage repeated ceil(depth * n) times (EfficientNet, Table 3),
    written like keras.applications' (layer names, padding, heads) so the tests hold it to ``arch``."""
    from edgekit.zoo.arch import _V2_BLOCKS, make_divisible, scaled_blocks  # noqa: PLC2701

    keras = _keras()
    layers = keras.layers

    def relu6(x, name):
        return layers.ReLU(6.0, name=name)(x)

    def v2(input_shape, alpha=1.0, weights=None, classifier_activation="softmax", classes=1000):
        from keras.src.applications.imagenet_utils import correct_pad

        inputs = keras.Input(input_shape)
        x = layers.Conv2D(make_divisible(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="Conv1")(inputs)
        x = relu6(layers.BatchNormalization(name="bn_Conv1")(x), "Conv1_relu")
        for bid, (filters, stride, expansion) in enumerate(scaled_blocks(_V2_BLOCKS, depth)):
            in_ch, out_ch = x.shape[-1], make_divisible(int(filters * alpha))
            prefix, block_in = (f"block_{bid}_" if bid else "expanded_conv_"), x
            if bid:
                x = layers.Conv2D(expansion * in_ch, 1, use_bias=False, name=f"{prefix}expand")(x)
                x = relu6(layers.BatchNormalization(name=f"{prefix}expand_BN")(x), f"{prefix}expand_relu")
            if stride == 2:
                x = layers.ZeroPadding2D(correct_pad(x, 3), name=f"{prefix}pad")(x)
            x = layers.DepthwiseConv2D(3, strides=stride, use_bias=False, padding="same" if stride == 1 else "valid",
                                       name=f"{prefix}depthwise")(x)
            x = relu6(layers.BatchNormalization(name=f"{prefix}depthwise_BN")(x), f"{prefix}depthwise_relu")
            x = layers.Conv2D(out_ch, 1, use_bias=False, name=f"{prefix}project")(x)
            x = layers.BatchNormalization(name=f"{prefix}project_BN")(x)
            if in_ch == out_ch and stride == 1:
                x = layers.Add(name=f"{prefix}add")([block_in, x])
        last = make_divisible(1280 * alpha) if alpha > 1.0 else 1280
        x = layers.Conv2D(last, 1, use_bias=False, name="Conv_1")(x)
        x = relu6(layers.BatchNormalization(name="Conv_1_bn")(x), "out_relu")
        x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
        return keras.Model(inputs, x, name=f"mobilenetv2_{alpha:g}_{input_shape[0]}_d{depth:g}")

    return _v1_like(True, depth) if family == "v1" else v2


def _mbconv_builder(family: str):
    """EfficientNet-Lite0 and MnasNet-A1 in Keras from their stage tables (``arch.MBCONV``), named and padded
    like keras.applications' EfficientNet, so the tests hold them to ``arch`` layer by layer."""
    from edgekit.zoo.arch import MBCONV, make_divisible

    stages, act, scale_ends, use_se, padding, head = MBCONV[family]
    keras = _keras()
    layers = keras.layers

    def activation(x, name):
        return layers.ReLU(6.0, name=name)(x) if act == "relu6" else layers.Activation(act, name=name)(x)

    def strided(x, kernel, stride, name):
        """Padding before a stride-2 op: correct_pad + valid (EfficientNet), or "same" (MnasNet)."""
        if stride == 2 and padding == "correct":
            from keras.src.applications.imagenet_utils import correct_pad

            return layers.ZeroPadding2D(correct_pad(x, kernel), name=f"{name}_pad")(x), "valid"
        return x, "same"

    def build(input_shape, alpha=1.0, weights=None, classifier_activation="softmax", classes=1000):
        def width(filters):
            return make_divisible(filters * alpha)

        inputs = keras.Input(input_shape)
        x = layers.Rescaling(1.0, name="rescaling")(inputs) if family.startswith("efficientnet") else inputs
        x, pad = strided(x, 3, 2, "stem_conv")
        x = layers.Conv2D(width(32) if scale_ends else 32, 3, strides=2, padding=pad, use_bias=False, name="stem_conv")(x)
        x = activation(layers.BatchNormalization(name="stem_bn")(x), "stem_activation")
        for i, (kernel, repeats, f_in, f_out, expansion, stride, se_ratio, skip) in enumerate(stages, start=1):
            f_in, f_out = width(f_in), width(f_out)
            if i == 1 and not scale_ends:
                f_in = 32
            for j in range(repeats):
                prefix = f"block{i}{chr(97 + j)}_"
                block_in, s = (f_in, stride) if j == 0 else (f_out, 1)
                inputs_of_block, mid = x, block_in * expansion
                if expansion != 1:
                    x = layers.Conv2D(mid, 1, use_bias=False, name=f"{prefix}expand_conv")(x)
                    x = activation(layers.BatchNormalization(name=f"{prefix}expand_bn")(x), f"{prefix}expand_activation")
                x, pad = strided(x, kernel, s, f"{prefix}dwconv")
                x = layers.DepthwiseConv2D(kernel, strides=s, padding=pad, use_bias=False, name=f"{prefix}dwconv")(x)
                x = activation(layers.BatchNormalization(name=f"{prefix}bn")(x), f"{prefix}activation")
                if use_se and se_ratio:
                    se = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}se_squeeze")(x)
                    se = layers.Conv2D(max(1, int(block_in * se_ratio)), 1, activation=act if act != "relu6" else "relu6",
                                       name=f"{prefix}se_reduce")(se)
                    se = layers.Conv2D(mid, 1, activation="sigmoid", name=f"{prefix}se_expand")(se)
                    x = layers.multiply([x, se], name=f"{prefix}se_excite")
                x = layers.Conv2D(f_out, 1, use_bias=False, name=f"{prefix}project_conv")(x)
                x = layers.BatchNormalization(name=f"{prefix}project_bn")(x)
                if skip and s == 1 and block_in == f_out:
                    x = layers.add([x, inputs_of_block], name=f"{prefix}add")
        x = layers.Conv2D(width(head) if scale_ends else head, 1, use_bias=False, name="top_conv")(x)
        x = activation(layers.BatchNormalization(name="top_bn")(x), "top_activation")
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
        return keras.Model(inputs, x, name=f"{family}_{alpha:g}_{input_shape[0]}")

    return build


def _atrous(base, spec, backbone: str, output_stride: int | None, reduced_tail: bool = False,
            halve_first_expansion: bool = True):
    """``base`` (a keras.applications MobileNetV2/V3 without its top) with the atrous schedule of
    ``arch.atrous_schedule`` (the formerly strided block at stride 1, its padding widened to the rate; later
    depthwise convs dilated) and, for ``reduced_tail``, the last stage's channels halved (RF2): the same
    numbers ``arch`` counts, edited into the Keras config and rebuilt."""
    from edgekit.zoo import arch

    keras = _keras()
    if backbone == "v2":
        blocks = arch.scaled_blocks(arch._V2_BLOCKS, 1.0)  # noqa: SLF001
        strides = [b[1] for b in blocks]
        names = [(f"block_{i}_depthwise" if i else "expanded_conv_depthwise", f"block_{i}_pad") for i in range(len(blocks))]
    else:
        blocks = arch._V3_LARGE if backbone == "v3-large" else arch._V3_SMALL  # noqa: SLF001
        strides = [b[3] for b in blocks]
        names = [(f"expanded_conv_{i}_depthwise" if i else "expanded_conv_depthwise",
                  f"expanded_conv_{i}_depthwise_pad") for i in range(len(blocks))]
    schedule = arch.atrous_schedule(strides, 2, output_stride)
    config = base.get_config()
    by_name = {layer["config"]["name"]: layer["config"] for layer in config["layers"]}
    for (depthwise, pad), stride, (s, rate) in zip(names, strides, schedule):
        layer = by_name[depthwise]
        layer["dilation_rate"] = [rate, rate]
        if stride == 2 and s == 1:
            layer["strides"] = [1, 1]
            half = rate * (layer["kernel_size"][0] - 1) // 2
            by_name[pad]["padding"] = [[half, half], [half, half]]
    if reduced_tail:
        last = max(i for i, stride in enumerate(strides) if stride == 2)
        for i in range(last, len(blocks)):
            prefix = f"expanded_conv_{i}_"
            keep = ("expand", "squeeze_excite_conv_1") if i == last and not halve_first_expansion else ()
            for suffix in ("expand", "project", "squeeze_excite_conv_1"):
                if prefix + suffix in by_name and suffix not in keep:
                    by_name[prefix + suffix]["filters"] //= 2
            if prefix + "squeeze_excite_conv" in by_name:
                by_name[prefix + "squeeze_excite_conv"]["filters"] = arch.make_divisible(
                    by_name[prefix + "squeeze_excite_conv_1"]["filters"] * 0.25)
        by_name["conv_1"]["filters"] //= 2
        for layer in config["layers"]:  # shapes recorded at build time would pin the old channel counts
            layer.pop("build_config", None)
    return keras.Model.from_config(config)


def segmenter(spec: ModelSpec):
    """A zoo segmenter in Keras, logits at the input's resolution (the arg-max is the caller's): the backbone
    from keras.applications made atrous (``_atrous``), the head of ``arch._deeplab`` / ``arch._lraspp`` with
    the same layer names, so the tests hold the two to each other."""
    from edgekit.zoo import arch

    keras = _keras()
    layers = keras.layers
    fam, (height, width, _) = spec.info, spec.input_shape
    classes = len(fam.class_names)
    size = (height, width, 3)

    def cbr(x, filters, name, kernel=1, dilation=1):
        x = layers.Conv2D(filters, kernel, padding="same", dilation_rate=dilation, use_bias=False, name=name)(x)
        return layers.ReLU(name=f"{name}_relu")(layers.BatchNormalization(name=f"{name}_bn")(x))

    if fam.head == "deeplabv3":
        base = keras.applications.MobileNetV2(input_shape=size, alpha=spec.alpha, include_top=False, weights=None)
        base = _atrous(base, spec, "v2", spec.stride)
        feature = base.get_layer("block_16_project_BN").output
        fh, fw = feature.shape[1], feature.shape[2]
        pooled = layers.AveragePooling2D((fh, fw), name="image_pooling_pool")(feature)
        pooled = cbr(pooled, arch.DEEPLAB_FILTERS, "image_pooling")
        pooled = layers.UpSampling2D((fh, fw), name="image_pooling_resize")(pooled)  # 1x1 -> map: a broadcast
        branches = [pooled, cbr(feature, arch.DEEPLAB_FILTERS, "aspp0")]
        if spec.aspp:
            for i, rate in enumerate(arch.ASPP_RATES, start=1):
                branches.append(cbr(feature, arch.DEEPLAB_FILTERS, f"aspp{i}", 3, rate * 16 // spec.stride))
        x = layers.Concatenate(name="concat")(branches)
        x = cbr(x, arch.DEEPLAB_FILTERS, "concat_projection")
        x = layers.Conv2D(classes, 1, name="logits")(x)
    else:
        maker = keras.applications.MobileNetV3Large if fam.backbone == "v3-large" else keras.applications.MobileNetV3Small
        base = maker(input_shape=size, alpha=spec.alpha, include_top=False, weights=None, include_preprocessing=True)
        base = _atrous(base, spec, fam.backbone, spec.stride, reduced_tail=True)
        taps: dict = {}
        arch._v3(arch._backbone_spec(spec), spec.stride, top=False, reduced_tail=True, taps=taps)  # noqa: SLF001
        low = base.get_layer(taps["low"][0]).output
        high = base.layers[-1].output
        x = cbr(high, arch.LRASPP_FILTERS, "lraspp_cbr")
        gate = layers.GlobalAveragePooling2D(keepdims=True, name="lraspp_scale_pool")(high)
        gate = layers.Conv2D(arch.LRASPP_FILTERS, 1, use_bias=False, activation="sigmoid", name="lraspp_scale")(gate)
        x = layers.Multiply(name="lraspp_mul")([x, gate])
        x = layers.Resizing(low.shape[1], low.shape[2], interpolation="bilinear", name="lraspp_resize")(x)
        x = layers.Add(name="lraspp_add")([layers.Conv2D(classes, 1, name="lraspp_high_classifier")(x),
                                           layers.Conv2D(classes, 1, name="lraspp_low_classifier")(low)])
    x = layers.Resizing(height, width, interpolation="bilinear", name="upsample")(x)
    return keras.Model(base.inputs[0], x, name=spec.name.replace(".", "_"))


def detector(spec: ModelSpec, class_names=None):
    """A zoo SSDLite in Keras: the keras.applications backbone (v3's reduced variant by config edit), C4 and C5
    where the OD API taps them, the extra layers and predictors of ``arch._ssdlite`` with the same names. Two
    outputs, as the OD API's detectors have them before post-processing: box encodings (1, anchors, 4) as
    [ty, tx, th, tw] for the faster-RCNN box coder, and sigmoid class scores (1, anchors, classes + 1),
    background first. ``class_names``: a user's own classes instead of COCO's 90 (a detector of their own)."""
    from edgekit.zoo import arch

    keras = _keras()
    layers = keras.layers
    fam, size = spec.info, spec.input_shape
    backbone = fam.backbone
    if backbone == "v1":
        base = keras.applications.MobileNet(input_shape=size, alpha=spec.alpha, include_top=False, weights=None)
    elif backbone == "v2":
        base = keras.applications.MobileNetV2(input_shape=size, alpha=spec.alpha, include_top=False, weights=None)
    else:
        maker = keras.applications.MobileNetV3Large if backbone == "v3-large" else keras.applications.MobileNetV3Small
        base = maker(input_shape=size, alpha=spec.alpha, include_top=False, weights=None, include_preprocessing=True)
        if spec.reduced:
            base = _atrous(base, spec, backbone, None, reduced_tail=True, halve_first_expansion=False)
    (c4_name, _), (_, _) = arch.feature_maps(spec)[:2]
    if backbone.startswith("v3"):  # the activation after the expansion's BN is auto-named: find it by its input
        bn = base.get_layer(c4_name).output
        c4 = next(layer.output for layer in base.layers if getattr(layer, "input", None) is bn)
    else:
        c4 = base.get_layer(c4_name).output
    maps = [c4, base.layers[-1].output]
    x = maps[-1]

    def cbr(x, filters, name, kernel=1, stride=1, depthwise=False):
        if depthwise:
            x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=name)(x)
        else:
            x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=name)(x)
        return layers.ReLU(6.0, name=f"{name}_relu")(layers.BatchNormalization(name=f"{name}_bn")(x))

    for i, depth in enumerate(arch.SSD_EXTRA_DEPTHS, start=1):
        depth = max(int(depth * spec.alpha), arch.SSD_MIN_DEPTH)
        x = cbr(x, max(depth // 2, arch.SSD_MIN_DEPTH), f"extra_{i}_1x1")
        x = cbr(x, None, f"extra_{i}_depthwise", 3, 2, depthwise=True)
        x = cbr(x, depth, f"extra_{i}_project")
        maps.append(x)
    classes = len(class_names or fam.class_names) + 1
    boxes, scores = [], []
    for i, (feature, anchors) in enumerate(zip(maps, arch.SSD_ANCHORS_PER_CELL)):
        for kind, width, out in (("box", 4, boxes), ("class", classes, scores)):
            y = cbr(feature, None, f"predictor_{i}_{kind}_depthwise", 3, depthwise=True)
            y = layers.Conv2D(anchors * width, 1, name=f"predictor_{i}_{kind}")(y)
            out.append(layers.Reshape((-1, width), name=f"predictor_{i}_{kind}_reshape")(y))
    box = layers.Concatenate(axis=1, name="box_encodings")(boxes)
    score = layers.Activation("sigmoid", name="scores")(layers.Concatenate(axis=1, name="class_logits")(scores))
    return keras.Model(base.inputs[0], [box, score], name=spec.name.replace(".", "_"))


# Families keras.applications does not have: builder factories (called only when building).
def _shufflenet_builder(spec: ModelSpec):
    """ShuffleNet v1 in Keras from ``arch``'s channel table (the same layer names, so the tests hold the two to
    each other): grouped 1x1 convolutions (``Conv2D(groups=)``, which TFLite and ONNX keep as one grouped
    convolution) and the channel shuffle as reshape, transpose, reshape."""
    from edgekit.zoo.arch import SHUFFLENET_REPEATS, shufflenet_channels

    keras = _keras()
    layers = keras.layers
    g = spec.groups or 3

    def shuffle(x, name):
        h, w, c = x.shape[1:]
        x = layers.Reshape((h, w, g, c // g), name=f"{name}_split")(x)
        x = layers.Permute((1, 2, 4, 3), name=f"{name}_transpose")(x)
        return layers.Reshape((h, w, c), name=name)(x)

    def build(input_shape, alpha=1.0, weights=None, classifier_activation="softmax", classes=1000):
        stem, stages = shufflenet_channels(g, alpha, spec.name)
        inputs = keras.Input(input_shape)
        x = layers.Conv2D(stem, 3, strides=2, padding="same", use_bias=False, name="conv1")(inputs)
        x = layers.ReLU(name="conv1_relu")(layers.BatchNormalization(name="conv1_bn")(x))
        x = layers.MaxPooling2D(3, strides=2, padding="same", name="maxpool")(x)
        for stage, (out, repeats) in enumerate(zip(stages, SHUFFLENET_REPEATS), start=2):
            for unit in range(repeats):
                prefix, stride, block_in = f"stage{stage}_unit{unit}_", 2 if unit == 0 else 1, x
                first = 1 if (stage == 2 and unit == 0) else g
                y = layers.Conv2D(out // 4, 1, groups=first, use_bias=False, name=f"{prefix}gconv1")(x)
                y = layers.ReLU(name=f"{prefix}gconv1_relu")(layers.BatchNormalization(name=f"{prefix}gconv1_bn")(y))
                if g > 1:
                    y = shuffle(y, f"{prefix}shuffle")
                y = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{prefix}dwconv")(y)
                y = layers.BatchNormalization(name=f"{prefix}dwconv_bn")(y)
                branch = out - x.shape[-1] if stride == 2 else out
                y = layers.Conv2D(branch, 1, groups=g, use_bias=False, name=f"{prefix}gconv2")(y)
                y = layers.BatchNormalization(name=f"{prefix}gconv2_bn")(y)
                if stride == 2:
                    shortcut = layers.AveragePooling2D(3, strides=2, padding="same", name=f"{prefix}shortcut")(block_in)
                    x = layers.Concatenate(name=f"{prefix}concat")([shortcut, y])
                else:
                    x = layers.Add(name=f"{prefix}add")([block_in, y])
                x = layers.ReLU(name=f"{prefix}relu")(x)
        x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="fc")(x)
        return keras.Model(inputs, x, name=spec.name.replace("-", "_").replace(".", "_"))

    return build


_OWN = {"v1-conv": lambda: _v1_like(separable=False), "efficientnet-lite0": lambda: _mbconv_builder("efficientnet-lite0"),
        "mnasnet-a1": lambda: _mbconv_builder("mnasnet-a1")}


def _build_imagenet(builder, kwargs, spec: ModelSpec):
    """Let Keras fetch (or find in its cache) the published weights."""
    import warnings

    cache = os.path.join(os.environ.get("KERAS_HOME", "~/.keras"), "models")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # v3 at != 224 px: Keras warns, the weights still apply
            return builder(**{**kwargs, "weights": "imagenet"})
    except Exception as exc:  # Keras raises a bare Exception on "URL fetch failure"
        raise WeightsError(
            f"could not get Keras's ImageNet weights for {spec.name} (offline and not in {cache}): "
            f"{first_line(exc)}; pass --weights PATH to a local .h5 file instead"
        ) from None


def warm_batchnorm(model, images) -> None:
    """Give a random-weight model sane BatchNorm statistics.

    Random initial moving statistics (mean 0, variance 1) make activations vanish or explode
    through ~30 layers, so logits become constant and any numerical comparison is meaningless.
    One training-mode pass with momentum 0 sets every BN's moving mean/variance to the batch
    statistics of its real input. ``images`` should be a preprocessed batch (real images are best;
    8+ of them). Weights other than BN statistics are untouched.
    """
    keras = _keras()
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [bn.momentum for bn in bns]
    try:
        for bn in bns:
            bn.momentum = 0.0
        model(images, training=True)
    finally:
        for bn, momentum in zip(bns, saved):
            bn.momentum = momentum


def reference_model(spec: ModelSpec, weights: str, calibration_pixels):
    """The float Keras model every export of ``spec`` is held to: logits out, and, for random weights,
    BatchNorm statistics warmed on ``calibration_pixels`` (uint8 RGB; preprocessed here).

    Returns ``(model, weights source, bn_warmed)`` where ``bn_warmed`` is the number of images the
    statistics came from (None when the weights are real). The one place the build -> warm BN ->
    logits sequence lives (convert, quant-report and the studies all start here).
    """
    model, source = build(spec, weights, logits=True)
    warmed = None
    if source.kind == "none":
        warm_batchnorm(model, spec.preprocessing.apply(calibration_pixels))
        warmed = int(len(calibration_pixels))
    return model, source, warmed


def record_layers(family: str) -> list[dict]:
    """The layer table of ``family``'s Keras application (weights=None): every layer with weights, a batch norm
    folded into the convolution it follows (or a row of its own after a concatenation)."""
    from edgekit.zoo.recorded import KINDS, RECORDED

    keras = _keras()
    builder, size = RECORDED[family]
    model = getattr(keras.applications, builder)(input_shape=(size, size, 3), weights=None)
    rows: list[dict] = []
    by_name: dict[str, dict] = {}
    for layer in model.layers:
        kind = type(layer).__name__
        out = [int(d) for d in layer.output.shape[1:]]
        if kind in KINDS:
            cin = int(layer.input.shape[-1])
            shape_in = [int(d) for d in layer.input.shape[1:]] if len(layer.input.shape) == 4 else [1, 1, cin]
            row = {"name": layer.name, "op": KINDS[kind], "in": shape_in, "out": out if len(out) == 3 else [1, 1, out[0]],
                   "kernel": int(layer.kernel_size[0]) if kind != "Dense" else 1,
                   "stride": int(layer.strides[0]) if kind != "Dense" else 1,
                   "bias": bool(layer.use_bias), "bn": False}
            rows.append(row)
            by_name[layer.name] = row
        elif kind == "BatchNormalization":
            source = layer.input._keras_history[0].name  # noqa: SLF001 (Keras's own record of the producer)
            if source in by_name:
                by_name[source]["bn"] = True
            else:  # after a concatenation (NASNet's factorized reduction): its own row
                rows.append({"name": layer.name, "op": "bn", "in": out, "out": out, "kernel": 1, "stride": 1,
                             "bias": False, "bn": True})
    return rows


def _write_recorded(families: list[str]) -> None:
    """``python -m edgekit.zoo.build FAMILY``: (re)write the stored layer table of a recorded family."""
    import json
    from pathlib import Path

    from edgekit.zoo.recorded import RECORDED

    for family in families or list(RECORDED):
        path = Path(__file__).parent / "recorded" / f"{family}.json"
        builder, size = RECORDED[family]
        data = {"family": family, "recorded_from": f"keras.applications.{builder}(input_shape=({size}, {size}, 3), "
                                                   f"weights=None)", "layers": record_layers(family)}
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=0) + "\n", encoding="utf-8")
        tmp.replace(path)
        print(f"wrote {path} ({len(data['layers'])} layers)")


if __name__ == "__main__":
    import sys

    _write_recorded(sys.argv[1:])
