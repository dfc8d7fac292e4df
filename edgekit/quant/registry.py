"""Weight-rounding algorithms by name; each returns a copy of the Keras model to convert.

``minmax``: the converters' own round-to-nearest (the model is passed through untouched).
``gptq``: output-error-aware rounding (``gptq.py``), the default since it wins on real weights.
``bias-correction``: round-to-nearest, then shift each channel's bias by the expected error
E[(Q(W) - W) x] (Nagel et al. 2019), a cheaper classic kept for comparison.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from edgekit.quant import gptq as gptq_mod
from edgekit.quant.stats import conv_layers, layer_moments

DEFAULT_ALGORITHM = "gptq"


def _clone(model):
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def _as_rows(layer, kernel: np.ndarray) -> np.ndarray:
    """Kernel as (output channels, inputs) in the patch order of ``stats._patches``."""
    if type(layer).__name__ == "DepthwiseConv2D":
        k = kernel.shape[0]
        return kernel[:, :, :, 0].reshape(k * k, kernel.shape[2]).T
    return kernel.reshape(-1, kernel.shape[-1]).T


def _from_rows(layer, rows: np.ndarray, shape) -> np.ndarray:
    if type(layer).__name__ == "DepthwiseConv2D":
        k = shape[0]
        return rows.T.reshape(k, k, shape[2], 1)
    return rows.T.reshape(shape)


def _round(model, calibration: np.ndarray, *, use_gptq: bool, correct_bias: bool):
    """Put every conv kernel of a copy of ``model`` on the int8 grid, optionally bias-corrected.

    Statistics come from float forward passes over the calibration images (``stats.layer_moments``).
    """
    model = _clone(model)
    layers = conv_layers(model)
    for layer, (mean, second) in zip(layers, layer_moments(model, layers, calibration)):
        weights = layer.get_weights()
        kernel = weights[0]
        rows = _as_rows(layer, kernel)
        if use_gptq:
            quantized = gptq_mod.gptq(rows, second)
        else:
            quantized = gptq_mod.round_to_grid(rows, gptq_mod.grid_scale(rows)[:, None])
        weights[0] = _from_rows(layer, quantized, kernel.shape)
        layer.set_weights(weights)
        if correct_bias:
            # E[(Q(W) - W) x] per output channel: the mean error the rounding left behind
            _absorb_shift(model, layer, ((quantized - rows) * mean).sum(axis=1))
    return model


def _absorb_shift(model, layer, shift: np.ndarray) -> None:
    """Cancel ``shift`` in the conv's output: via its bias, or the following BN's moving mean."""
    weights = layer.get_weights()
    if getattr(layer, "use_bias", False):
        weights[1] = weights[1] - shift
        layer.set_weights(weights)
        return
    for node_layer in model.layers:
        if type(node_layer).__name__ == "BatchNormalization" and node_layer.input is layer.output:
            gamma, beta, mean, var = node_layer.get_weights()
            node_layer.set_weights([gamma, beta, mean + shift.astype(mean.dtype), var])
            return


ALGORITHMS: dict[str, Callable] = {
    "minmax": lambda model, calibration: model,
    "gptq": lambda model, calibration: _round(model, calibration, use_gptq=True, correct_bias=False),
    "bias-correction": lambda model, calibration: _round(model, calibration, use_gptq=False, correct_bias=True),
    "gptq+bias-correction": lambda model, calibration: _round(model, calibration, use_gptq=True, correct_bias=True),
}


def prepare_for_int8(model, calibration: np.ndarray, algorithm: str = DEFAULT_ALGORITHM):
    """The model to hand to the int8 converters (a modified copy, or ``model`` itself)."""
    from edgekit.errors import EdgekitError

    if algorithm not in ALGORITHMS:
        raise EdgekitError(f"unknown PTQ algorithm '{algorithm}' (known: {', '.join(ALGORITHMS)})")
    return ALGORITHMS[algorithm](model, calibration)
