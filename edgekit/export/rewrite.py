"""Graph rewrites before conversion: MobileNetV3's hard-swish in a form int8 runtimes can run fast.

TFLiteConverter turns Keras's hard-swish (``x * ReLU6(x + 3) / 6``) into one HARD_SWISH op. Its
int8 kernel is not taken by XNNPACK, so an int8 v3-small falls apart into 20 delegate partitions
with HARD_SWISH run by the reference kernels between them, and ran about 2x slower than float
here. The rewrite keeps the function and changes the ops:

- **folded** (where it can be): ``x * ReLU6(x + 3)``, with the 1/6 moved into the kernels of the
  convolutions that read the activation (through pooling, dropout, reshapes and the
  squeeze-excite multiply, all linear in x). Two int8 ops per activation: ADD (ReLU6 fused) and MUL.
- **gate-first** (where the activation reaches something else, e.g. v3-large's first residual
  add, or the model output): ``ReLU6(x + 3) * (x * 1/6)``, three int8 ops. The converter
  re-fuses ``x * (ReLU6(x + 3) / 6)`` and ``x * ReLU6(x + 3) / 6`` back into HARD_SWISH. The
  order matters: with ``(x * 1/6)`` first, that tensor was stored 3.4x coarser and the int8
  logits lost 0.3-2.2 dB against the stock graph.

Every form leaves the gate ``ReLU6(x + 3)`` stored over the MUL's output range. After
conversion, ``relu6_ranges.tighten`` gives it back [0, 6]. In float the rewritten model agrees
with the stock one to rounding (max |logit diff| about 2e-6 on v3-small). Figures:
``benchmarks/v3_int8.py``.
"""

from __future__ import annotations

from functools import lru_cache

HARD_SWISH = ("hard_swish", "hard_silu")  # Keras 3 names the same activation both ways
DESCRIPTION = ("hard-swish written as x * ReLU6(x + 3) with the 1/6 folded into the next convolutions "
               "({folded} of {total}; the rest as ReLU6(x + 3) * (x * 1/6)): int8 MUL/ADD that XNNPACK delegates")
TIGHTENED = "the int8 gates ReLU6(x + 3) stored over [0, 6] ({count} tensors; the converter had widened them)"


def is_hard_swish(layer) -> bool:
    """Whether a Keras layer is a hard-swish activation (Keras 3 names it hard_swish or hard_silu)."""
    import keras

    return isinstance(layer, keras.layers.Activation) and layer.get_config().get("activation") in HARD_SWISH


def has_hard_swish(model) -> bool:
    """Whether any layer of ``model`` is a hard-swish activation."""
    return any(is_hard_swish(layer) for layer in model.layers)


@lru_cache(maxsize=1)
def _layer_class():
    import keras

    class SplitHardSwish(keras.layers.Layer):
        """hard-swish times ``6 * scale``: ReLU6(x + 3) * x (scale 1/6 folded away) or * (x / 6)."""

        def __init__(self, folded: bool = False, **kwargs):
            super().__init__(**kwargs)
            self.folded = folded

        def call(self, x):
            if self.folded:
                return keras.ops.relu6(x + 3.0) * x
            return keras.ops.relu6(x + 3.0) * (x * (1.0 / 6.0))

        def get_config(self):
            return {**super().get_config(), "folded": self.folded}

    return SplitHardSwish


def _fold_targets(layer, members: set[int]) -> list | None:
    """The layers whose kernels absorb a factor on ``layer``'s output, or None if one path cannot.

    Walks the readers inside the model (``members``: ids of its layers). It passes through layers
    linear in that input: pooling, dropout, reshape, and a multiply reached once. A multiply
    reached once has one scaled operand; squeeze-excite's gate comes back unscaled through a
    folded kernel. The walk stops at Conv2D / DepthwiseConv2D / Dense.
    """
    import keras

    linear = (keras.layers.GlobalAveragePooling2D, keras.layers.AveragePooling2D, keras.layers.Dropout,
              keras.layers.Reshape, keras.layers.Flatten, keras.layers.ZeroPadding2D)
    kernels = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)
    targets, seen, todo = [], set(), [layer]
    while todo:
        current = todo.pop()
        nodes = [node for node in current._outbound_nodes if id(node.operation) in members]
        if not nodes:
            return None  # a model output
        for node in nodes:
            reader = node.operation
            if id(reader) in seen:
                return None  # reached twice: a multiply of two scaled operands, or a diamond
            seen.add(id(reader))
            if isinstance(reader, kernels):
                targets.append(reader)
            elif isinstance(reader, linear) or isinstance(reader, keras.layers.Multiply):
                todo.append(reader)
            else:
                return None
    return targets


def split_hard_swish(model, fold: bool = True):
    """A copy of ``model`` with every hard-swish rewritten (see above), and how many were folded.

    The copy computes the same function: a folded activation returns 6x hard-swish and the kernels
    that read it are divided by 6 (biases unchanged). ``model`` itself is untouched. ``fold=False``
    writes every activation gate-first (the form before folding, kept for comparisons).
    """
    import keras

    if not has_hard_swish(model):
        return model, 0
    split = _layer_class()
    members = {id(layer) for layer in model.layers}
    folds = {layer.name: _fold_targets(layer, members) if fold else None
             for layer in model.layers if is_hard_swish(layer)}
    claimed = [t.name for targets in folds.values() if targets for t in targets]
    if len(claimed) != len(set(claimed)):  # a kernel reached from two activations: fold none of those
        shared = {n for n in claimed if claimed.count(n) > 1}
        folds = {k: (None if v and any(t.name in shared for t in v) else v) for k, v in folds.items()}

    def clone(layer):
        if is_hard_swish(layer):
            return split(folded=bool(folds[layer.name]), name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    for targets in folds.values():
        for target in targets or ():
            kernel = copy.get_layer(target.name).kernel
            kernel.assign(kernel.numpy() / 6.0)
    return copy, sum(1 for v in folds.values() if v)
