"""Layer-input statistics over calibration images: what the PTQ algorithms optimise against."""

from __future__ import annotations

import numpy as np

from edgekit.quant.kernels import is_depthwise

CONV_TYPES = ("Conv2D", "DepthwiseConv2D")
ROUNDED_TYPES = (*CONV_TYPES, "Dense")  # what sequential GPTQ rounds itself (Dense: a 1x1 conv on vectors)


def roundable(layer) -> bool:
    """Whether sequential GPTQ can round ``layer``: plain (ungrouped, undilated) convs, depthwise, dense."""
    kind = type(layer).__name__
    if kind == "Dense":
        return True
    if kind not in CONV_TYPES:
        return False
    dilation = getattr(layer, "dilation_rate", (1, 1))
    return (getattr(layer, "groups", 1) == 1 and tuple(dilation) == (1, 1)
            and layer.kernel_size[0] == layer.kernel_size[1] and layer.strides[0] == layer.strides[1])


def unrounded_layers(model) -> list[str]:
    """Layers with kernels sequential GPTQ cannot round (the converter rounds them to nearest)."""
    return [layer.name for layer in model.layers
            if getattr(layer, "kernel", None) is not None and not roundable(layer)]


def conv_layers(model) -> list:
    """The convolution, depthwise and dense layers of ``model`` whose kernels are rounded, in graph order."""
    return [layer for layer in model.layers if type(layer).__name__ in CONV_TYPES]


MAX_ROWS = 50_000  # patch rows per layer: enough for a stable second moment, bounded cost


def layer_moments(model, layers, calibration: np.ndarray, batch_size: int = 16, max_rows: int = MAX_ROWS,
                  seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """First and second moments of every layer's float input, accumulated batch by batch.

    Memory stays bounded (one batch of activations at a time) and large feature maps are
    subsampled to about ``max_rows`` patch positions per layer, drawn at random.
    """
    import keras

    probe = keras.Model(model.inputs, [layer.input for layer in layers])
    rng = np.random.default_rng(seed)
    sums: list = [None] * len(layers)
    counts = [0] * len(layers)
    for start in range(0, len(calibration), batch_size):
        batch = calibration[start:start + batch_size]
        outputs = probe.predict_on_batch(batch)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        share = len(batch) / len(calibration)
        for i, (layer, inputs) in enumerate(zip(layers, outputs)):
            patches = patches_of(layer, np.asarray(inputs))
            keep = int(max_rows * share) + 1
            if len(patches) > keep:
                patches = patches[rng.choice(len(patches), keep, replace=False)]
            first, second = _raw_moments(layer, patches.astype(np.float32))  # float32 BLAS, summed in float64
            if sums[i] is None:
                sums[i] = [first, second]
            else:
                sums[i][0] += first
                sums[i][1] += second
            counts[i] += len(patches)
    return [(first / n, second / n) for (first, second), n in zip(sums, counts)]


def sample_positions(layer, input_shape, count: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to ``count`` output positions (image, row, column) of ``layer``, drawn without replacement."""
    batch, height, width = input_shape[:3]
    out_h, out_w = (_out_size(height, layer), _out_size(width, layer))
    total = batch * out_h * out_w
    flat = rng.choice(total, count, replace=False) if total > count else np.arange(total)
    image, rest = np.divmod(flat, out_h * out_w)
    return image, *np.divmod(rest, out_w)


def patches_at(layer, inputs: np.ndarray, positions) -> np.ndarray:
    """The input patches (rows, kh*kw*C, the kernel's order) under the given output positions.

    Gathers only the sampled windows, so a large feature map costs what the sample costs, not an
    im2col of the whole map.
    """
    image, row, col = positions
    k, stride = layer.kernel_size[0], layer.strides[0]
    if layer.padding == "same":
        pad_h = max((_out_size(inputs.shape[1], layer) - 1) * stride + k - inputs.shape[1], 0)
        pad_w = max((_out_size(inputs.shape[2], layer) - 1) * stride + k - inputs.shape[2], 0)
        inputs = np.pad(inputs, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    offsets = np.arange(k)
    rows = (row * stride)[:, None, None] + offsets[None, :, None]
    cols = (col * stride)[:, None, None] + offsets[None, None, :]
    return inputs[image[:, None, None], rows, cols].reshape(len(image), -1)


def _out_size(size: int, layer) -> int:
    k, stride = layer.kernel_size[0], layer.strides[0]
    return -(-size // stride) if layer.padding == "same" else (size - k) // stride + 1


def patches_of(layer, inputs: np.ndarray) -> np.ndarray:
    """im2col: (positions, kh*kw*C) in the kernel's (kh, kw, C) order."""
    import tensorflow as tf

    k = layer.kernel_size[0]
    if k == 1 and layer.strides[0] == 1:
        return inputs.reshape(-1, inputs.shape[-1])
    stride = layer.strides[0]
    patches = tf.image.extract_patches(inputs, [1, k, k, 1], [1, stride, stride, 1], [1, 1, 1, 1],
                                       layer.padding.upper()).numpy()
    return patches.reshape(-1, patches.shape[-1])


def channel_major(layer, patches: np.ndarray) -> np.ndarray:
    """Patches as float32, depthwise ones regrouped per channel: (channels, n, k*k) for batched BLAS."""
    if not is_depthwise(layer):
        return patches.astype(np.float32, copy=False)
    k = layer.kernel_size[0]
    return np.ascontiguousarray(patches.reshape(len(patches), k * k, -1).transpose(2, 0, 1), dtype=np.float32)


def _raw_moments(layer, patches: np.ndarray):
    """Sums of patches and of their outer products (divide by the row count for moments).

    Ordinary conv: (1, C_in*k*k) and (C_in*k*k, C_in*k*k), shared by all output channels.
    Depthwise: per channel, (C, k*k) and (C, k*k, k*k).
    """
    if is_depthwise(layer):
        per_channel = channel_major(layer, patches)
        second = np.matmul(per_channel.transpose(0, 2, 1), per_channel)  # batched BLAS, (C, k*k, k*k)
        return per_channel.sum(axis=1).astype(np.float64), second.astype(np.float64)
    return patches.sum(axis=0, dtype=np.float64)[None, :], (patches.T @ patches).astype(np.float64)
