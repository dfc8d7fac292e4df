"""Graph rewrites before conversion: MobileNetV3's hard-swish in a form int8 runtimes can run fast.

TFLiteConverter turns Keras's hard-swish (``x * ReLU6(x + 3) / 6``) into one HARD_SWISH op. Its
int8 kernel is not taken by XNNPACK, so an int8 v3-small falls apart into 20 delegate partitions
with HARD_SWISH run by the reference kernels between them, and ran about 2x slower than float
here. Written as ``ReLU6(x + 3) * (x * 1/6)`` the converter keeps MUL and ADD (with the ReLU6
fused into the ADD), all XNNPACK int8 ops: one partition. The converter re-fuses the other
orderings (``x * (ReLU6(x + 3) / 6)`` and ``x * ReLU6(x + 3) / 6``) back into HARD_SWISH.
In float the two forms agree to rounding (max |logit diff| about 2e-6 on v3-small).

The operand order matters in int8. The converter gives the first intermediate tensor of the
activation the union of its own range and the activation's output range. With ``(x * 1/6)``
first, that tensor is x/6: its int8 step grew 3.4x (0.031 instead of 0.0090 on v3-small's first
block), and the int8 logits lost 0.3-2.2 dB of SQNR against the stock HARD_SWISH graph. With the
gate ``ReLU6(x + 3)`` first, only the gate widens (step 0.028 instead of 0.024) and x/6 keeps its
exact scale: the SQNR is the stock graph's (``benchmarks/v3_int8.py``).
"""

from __future__ import annotations

from functools import lru_cache

HARD_SWISH = ("hard_swish", "hard_silu")  # Keras 3 names the same activation both ways
MODES = ("split", "stock")
DESCRIPTION = "hard-swish written as ReLU6(x + 3) * (x * 1/6): int8 MUL/ADD that XNNPACK delegates"


def _is_hard_swish(layer) -> bool:
    import keras

    return isinstance(layer, keras.layers.Activation) and layer.get_config().get("activation") in HARD_SWISH


def has_hard_swish(model) -> bool:
    return any(_is_hard_swish(layer) for layer in model.layers)


@lru_cache(maxsize=1)
def _layer_class():
    import keras

    class SplitHardSwish(keras.layers.Layer):
        """hard-swish as ReLU6(x + 3) * (x / 6): same function, delegable int8 ops (gate first: see above)."""

        def call(self, x):
            return keras.ops.relu6(x + 3.0) * (x * (1.0 / 6.0))

    return SplitHardSwish


def split_hard_swish(model):
    """A copy of ``model`` (same weights) with every hard-swish activation split; others untouched."""
    import keras

    if not has_hard_swish(model):
        return model
    split = _layer_class()

    def clone(layer):
        if _is_hard_swish(layer):
            return split(name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy
