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
    builder = getattr(keras.applications, spec.info.keras_builder)
    kwargs = dict(
        input_shape=spec.input_shape,
        alpha=spec.alpha,
        weights=None,
        classifier_activation=None if logits else "softmax",
    )
    if spec.family.startswith("v3"):
        kwargs["minimalistic"] = spec.minimalistic
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
