"""Keras-side helpers the rounding algorithms share: copy a model, view a kernel as rows, move a shift."""

from __future__ import annotations

import numpy as np


def clone(model):
    """A copy of ``model`` with its own variables (the algorithms never touch the caller's model)."""
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def is_depthwise(layer) -> bool:
    """Whether a Keras layer is a depthwise convolution."""
    return type(layer).__name__ == "DepthwiseConv2D"


def as_rows(layer, kernel: np.ndarray) -> np.ndarray:
    """Kernel as (output channels, inputs) in the patch order of ``stats.patches_of``."""
    if is_depthwise(layer):
        k = kernel.shape[0]
        return kernel[:, :, :, 0].reshape(k * k, kernel.shape[2]).T
    return kernel.reshape(-1, kernel.shape[-1]).T


def from_rows(layer, rows: np.ndarray, shape) -> np.ndarray:
    """The kernel of ``layer`` back from its (output channel, fan-in) rows."""
    if is_depthwise(layer):
        k = shape[0]
        return rows.T.reshape(k, k, shape[2], 1)
    return rows.T.reshape(shape)


def shift_sink(model, layer):
    """Where a constant added to ``layer``'s output can go: the layer itself (it has a bias), the
    batch norm that reads it (its moving mean), or None."""
    if getattr(layer, "use_bias", False):
        return layer
    for other in model.layers:
        if type(other).__name__ == "BatchNormalization" and other.input is layer.output:
            return other
    return None


def absorb_shift(model, layer, shift: np.ndarray) -> bool:
    """Cancel ``shift`` in the conv's output (bias -= shift, or the next BN's mean += shift);
    False when there is nowhere to put it."""
    sink = shift_sink(model, layer)
    if sink is None:
        return False
    weights = sink.get_weights()
    if sink is layer:
        weights[1] = weights[1] - shift.astype(weights[1].dtype)
    else:
        weights[2] = weights[2] + shift.astype(weights[2].dtype)
    sink.set_weights(weights)
    return True
