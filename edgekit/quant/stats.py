"""Layer-input statistics over calibration images: what the PTQ algorithms optimise against."""

from __future__ import annotations

import numpy as np

CONV_TYPES = ("Conv2D", "DepthwiseConv2D")


def conv_layers(model) -> list:
    return [layer for layer in model.layers if type(layer).__name__ in CONV_TYPES]


def layer_inputs(model, layers, calibration: np.ndarray, batch_size: int = 16):
    """Float inputs of ``layers`` on the calibration batch (one forward pass for all)."""
    import keras

    probe = keras.Model(model.inputs, [layer.input for layer in layers])
    outputs = probe.predict(calibration, verbose=0, batch_size=batch_size)
    return outputs if isinstance(outputs, list) else [outputs]


def _patches(layer, inputs: np.ndarray) -> np.ndarray:
    """im2col: (positions, kh*kw*C) in the kernel's (kh, kw, C) order."""
    import tensorflow as tf

    k = layer.kernel_size[0]
    if k == 1 and layer.strides[0] == 1:
        return inputs.reshape(-1, inputs.shape[-1])
    stride = layer.strides[0]
    patches = tf.image.extract_patches(inputs, [1, k, k, 1], [1, stride, stride, 1], [1, 1, 1, 1],
                                       layer.padding.upper()).numpy()
    return patches.reshape(-1, patches.shape[-1])


def patch_moments(layer, inputs: np.ndarray):
    """First and second moments of the layer's input patches.

    Ordinary conv: mean (C_in*k*k,), second moment (C_in*k*k, C_in*k*k) shared by all outputs.
    Depthwise: per channel, mean (C, k*k) and second moment (C, k*k, k*k).
    """
    patches = _patches(layer, inputs).astype(np.float64)
    n = len(patches)
    if type(layer).__name__ == "DepthwiseConv2D":
        k = layer.kernel_size[0]
        per_channel = patches.reshape(n, k * k, -1)
        mean = per_channel.mean(axis=0).T
        second = np.einsum("nkc,nlc->ckl", per_channel, per_channel) / n
        return mean, second
    return patches.mean(axis=0)[None, :], patches.T @ patches / n
