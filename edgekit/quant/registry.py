"""Weight-rounding algorithms by name; each returns a copy of the Keras model to convert.

``minmax``: the converters' own round-to-nearest (the model is passed through untouched).
``gptq``: output-error-aware rounding (``gptq.py``) on the float model's layer inputs.
``gptq-seq`` (the default): GPTQ layer by layer against the inputs the int8 model really feeds each
layer (``sequential.py``): +1.2 dB of logit SQNR on the real v1-0.25-128 weights, at gptq's cost.
``bias-correction``: round-to-nearest, then shift each channel's bias by the expected error
E[(Q(W) - W) x] (Nagel et al. 2019), a cheaper classic kept for comparison.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from edgekit.quant import gptq as gptq_mod
from edgekit.quant.kernels import absorb_shift, as_rows, clone, from_rows
from edgekit.quant.sequential import sequential_gptq
from edgekit.quant.stats import conv_layers, layer_moments
from edgekit.vocab import DEFAULT_PTQ


def _round(model, calibration: np.ndarray, *, use_gptq: bool, correct_bias: bool, seed: int = 0):
    """Put every conv kernel of a copy of ``model`` on the int8 grid, optionally bias-corrected.

    Statistics come from float forward passes over the calibration images (``stats.layer_moments``).
    """
    model = clone(model)
    layers = conv_layers(model)
    for layer, (mean, second) in zip(layers, layer_moments(model, layers, calibration, seed=seed)):
        weights = layer.get_weights()
        kernel = weights[0]
        rows = as_rows(layer, kernel)
        if use_gptq:
            quantized = gptq_mod.gptq(rows, second)
        else:
            quantized = gptq_mod.round_to_grid(rows, gptq_mod.grid_scale(rows)[:, None])
        weights[0] = from_rows(layer, quantized, kernel.shape)
        layer.set_weights(weights)
        if correct_bias:
            # E[(Q(W) - W) x] per output channel: the mean error the rounding left behind
            absorb_shift(model, layer, ((quantized - rows) * mean).sum(axis=1))
    return model


# name -> f(model, calibration, seed) (the names are vocab.PTQ_ALGORITHMS; a test keeps them equal)
#: ``seed`` picks which patch positions the statistics sample
ALGORITHMS: dict[str, Callable] = {
    "minmax": lambda model, calibration, seed: model,
    "gptq": lambda model, calibration, seed: _round(model, calibration, use_gptq=True, correct_bias=False, seed=seed),
    "bias-correction": lambda model, calibration, seed: _round(model, calibration, use_gptq=False, correct_bias=True,
                                                               seed=seed),
    "gptq+bias-correction": lambda model, calibration, seed: _round(model, calibration, use_gptq=True,
                                                                    correct_bias=True, seed=seed),
    "gptq-seq": lambda model, calibration, seed, notes=None: sequential_gptq(model, calibration, seed=seed,
                                                                             notes=notes),
}


def prepare_for_int8(model, calibration: np.ndarray, algorithm: str = DEFAULT_PTQ, seed: int = 0,
                     notes: list | None = None):
    """The model to hand to the int8 converters (a modified copy, or ``model`` itself). ``notes`` (gptq-seq)
    collects the layers left to the converter's own rounding, by name."""
    from edgekit.errors import EdgekitError

    if algorithm not in ALGORITHMS:
        raise EdgekitError(f"unknown PTQ algorithm '{algorithm}' (known: {', '.join(ALGORITHMS)})")
    if algorithm == "gptq-seq":
        return ALGORITHMS[algorithm](model, calibration, seed, notes)
    return ALGORITHMS[algorithm](model, calibration, seed)
