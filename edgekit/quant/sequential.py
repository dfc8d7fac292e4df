"""Sequential GPTQ: round each layer against the inputs the int8 model will really feed it.

Plain GPTQ (``gptq.py``) measures every layer on the *float* model's activations. In the int8
model a layer receives something else: the output of layers whose kernels are already rounded,
itself rounded onto an 8-bit activation grid. Going through the convolutions in graph order, this
algorithm, for each layer:

1. takes ``X_f``, the float model's input to the layer, and ``X_q``, the input of the partly
   rounded copy (every earlier kernel already on the grid), put on the asymmetric int8 grid the
   converters will choose for that tensor (its min/max over the calibration images);
2. refits the kernel by ridge least squares so that, fed ``X_q``, the layer reproduces the float
   output ``W X_f``: ``W' = argmin ||W' X_q + b - W X_f||^2 + lam ||W' - W||^2``. The ridge pulls
   toward the float kernel (not toward zero), and ``b``, the mean shift, goes into the conv's bias
   or the following batch norm's moving mean, so the error upstream stops adding up;
3. rounds ``W'`` with GPTQ, using the second moment of ``X_q``.

Layers seen at too few positions for a stable fit (squeeze-excite convs on pooled 1x1 maps: one
row per image) skip step 2. It is the idea of GPTQ's own sequential mode and of GPTAQ (Li et al.
2025, asymmetric calibration), applied to convolutions. On the real v1-0.25-128 weights (eval300,
TFLite int8, 5 sampling seeds) it raised the logits' SQNR from 20.56 +- 0.02 to 21.74 +- 0.13 dB and
top-1 agreement with float from 89.9 +- 1.0 to 91.2 +- 0.6% (``benchmarks/ptq_study.py``).
"""

from __future__ import annotations

import numpy as np

from edgekit.quant import gptq as gptq_mod
from edgekit.quant.kernels import absorb_shift, as_rows, clone, from_rows, is_depthwise, shift_sink
from edgekit.zoo.user import graph_nodes
from edgekit.quant.stats import roundable, channel_major, patches_at, sample_positions

DAMP = 0.01  # ridge weight and GPTQ dampening, relative to the mean diagonal of the second moment
MIN_ROWS_PER_INPUT = 4  # refit only with at least this many patch rows per kernel input
# Patch rows sampled per layer. The refit is a least-squares fit: on v1-0.25-128, 400k rows (all of
# them for most layers) gave 21.74 +- 0.13 dB logit SQNR over sampling seeds, 50k rows
# 21.53 +- 0.15 dB. Depthwise layers solve one small system per channel but a sampled patch
# holds every channel, so their rows are capped by memory (k*k*C floats per row) as well.
MAX_ROWS = 400_000
MAX_ROWS_DEPTHWISE = 40_000
PATCH_BUDGET = 1 << 24  # floats (64 MB) per sampled patch array: bounds memory and time


def int8_grid(low: float, high: float):
    """TFLite's asymmetric int8 activation grid for a tensor seen in [low, high]: (scale, zero point)."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = (high - low) / 255 or 1.0
    return scale, float(np.round(-low / scale) - 128)


def fake_quant(values: np.ndarray, scale: float, zero_point: float) -> np.ndarray:
    """``x`` rounded to an asymmetric uint8 grid over [lo, hi] and back to float (what the int8 model will see)."""
    q = np.clip(np.round(values / scale) + zero_point, -128, 127)
    return ((q - zero_point) * scale).astype(np.float32)


def sequential_gptq(model, calibration: np.ndarray, *, damp: float = DAMP, max_rows: int = MAX_ROWS,
                    max_rows_depthwise: int = MAX_ROWS_DEPTHWISE, seed: int = 0, notes: list | None = None):
    """A copy of ``model`` whose conv kernels are on the int8 grid, rounded in graph order.

    The float model and the copy run side by side over the calibration images, one operation at a
    time (``_lockstep``): when a convolution is reached, both of its inputs are at hand, its kernel
    is refit and rounded, and only then does the copy's convolution run. One forward pass of each
    model in all, not one per layer.

    Layers it cannot round (grouped or dilated convs, separable convs, ...) and dense layers seen with
    fewer input vectors than a stable fit needs (a classifier head: one vector per calibration image)
    keep their float kernels, which the converter then rounds to nearest; each is named in ``notes``.
    """
    from edgekit.quant.stats import unrounded_layers

    rounded = clone(model)
    rng = np.random.default_rng(seed)
    if notes is not None:
        notes += [f"{name}: a layer sequential GPTQ cannot round; the converter rounds it to nearest"
                  for name in unrounded_layers(model)]

    def at_conv(float_layer, layer, float_inputs, inputs):
        float_inputs, inputs = np.asarray(float_inputs), np.asarray(inputs)
        if type(layer).__name__ == "Dense":
            vectors, width = int(np.prod(float_inputs.shape[:-1])), float_inputs.shape[-1]
            if vectors < MIN_ROWS_PER_INPUT * width:
                if notes is not None:
                    notes.append(f"{layer.name}: {vectors} input vectors for {width} inputs are too few for a "
                                 f"stable GPTQ fit; the converter rounds it to nearest")
                return
        grid = int8_grid(float(float_inputs.min()), float(float_inputs.max()))  # what the converter will see
        stats = _paired_moments(layer, float_inputs, fake_quant(inputs, *grid),
                                _row_cap(layer, float_inputs.shape[-1], max_rows, max_rows_depthwise), rng)
        _round_layer(rounded, layer, stats, damp)

    _lockstep(model, rounded, calibration, at_conv)
    return rounded


def _row_cap(layer, channels: int, max_rows: int, max_rows_depthwise: int) -> int:
    if type(layer).__name__ == "Dense":
        return max_rows
    per_row = layer.kernel_size[0] * layer.kernel_size[1] * channels
    cap = max_rows_depthwise if is_depthwise(layer) else max_rows
    return max(1, min(cap, PATCH_BUDGET // per_row))


def _lockstep(model, twin, images: np.ndarray, at_conv) -> None:
    """Run ``model`` and its clone ``twin`` on ``images`` node by node; before each of the twin's
    convolutions, call ``at_conv(layer, twin_layer, layer_input, twin_layer_input)``.

    Keras's own executor (``Function._run_through_graph``) keeps every intermediate tensor; this one
    frees each as soon as its last reader has run, so 100 images at 224 px fit in memory.
    """
    nodes, twin_nodes = graph_nodes(model), graph_nodes(twin)
    if [type(n.operation) for n in nodes] != [type(n.operation) for n in twin_nodes]:
        raise RuntimeError("model and clone differ in structure")
    readers: dict[int, int] = {}
    for node in nodes:
        for tensor in node.input_tensors:
            readers[id(tensor)] = readers.get(id(tensor), 0) + 1
    values = [{id(model.inputs[0]): images}, {id(twin.inputs[0]): images}]
    for node, twin_node in zip(nodes, twin_nodes):
        (args, kwargs), (twin_args, twin_kwargs) = node.arguments.fill_in(values[0]), twin_node.arguments.fill_in(values[1])
        if roundable(node.operation):
            at_conv(node.operation, twin_node.operation, args[0], twin_args[0])
        for side, (n, a, k) in enumerate(((node, args, kwargs), (twin_node, twin_args, twin_kwargs))):
            outputs = n.operation(*a, **k)
            for tensor, value in zip(n.outputs, outputs if isinstance(outputs, (list, tuple)) else [outputs]):
                values[side][id(tensor)] = value
        for tensor, twin_tensor in zip(node.input_tensors, twin_node.input_tensors):
            readers[id(tensor)] -= 1
            if readers[id(tensor)] == 0:
                values[0].pop(id(tensor), None)
                values[1].pop(id(twin_tensor), None)


def _round_layer(model, layer, stats: dict, damp: float) -> None:
    weights = layer.get_weights()
    rows = as_rows(layer, weights[0]).astype(np.float64)
    offset = None
    if stats["rows"] >= MIN_ROWS_PER_INPUT * rows.shape[1]:
        rows, offset = _refit(rows, stats, damp, is_depthwise(layer), shift_sink(model, layer) is not None)
    second = stats["qq"][..., :-1, :-1]
    weights[0] = from_rows(layer, gptq_mod.gptq(rows, second, damp).astype(np.float32), weights[0].shape)
    layer.set_weights(weights)
    if offset is not None:
        absorb_shift(model, layer, -offset)  # the layer's output gains the fitted constant


def _paired_moments(layer, float_inputs: np.ndarray, quant_inputs: np.ndarray, max_rows: int, rng) -> dict:
    """E[a a^T] and E[a f^T] over the same sampled patch positions: a = [quantized input patch, 1],
    f = float input patch. Ordinary convs give ((C+1, C+1), (C+1, C)); depthwise ones per channel
    ((ch, kk+1, kk+1), (ch, kk+1, kk)).
    """
    if type(layer).__name__ == "Dense":
        return _dense_moments(float_inputs, quant_inputs, max_rows, rng)
    where = sample_positions(layer, float_inputs.shape, max_rows, rng)
    a = channel_major(layer, patches_at(layer, quant_inputs, where))
    f = channel_major(layer, patches_at(layer, float_inputs, where))
    return _moments(a, f)


def _dense_moments(float_inputs: np.ndarray, quant_inputs: np.ndarray, max_rows: int, rng) -> dict:
    """The same for a Dense layer: every input vector (last axis) is one row."""
    f = float_inputs.reshape(-1, float_inputs.shape[-1]).astype(np.float32)
    a = quant_inputs.reshape(-1, quant_inputs.shape[-1]).astype(np.float32)
    if len(f) > max_rows:
        keep = rng.choice(len(f), max_rows, replace=False)
        a, f = a[keep], f[keep]
    return _moments(a, f)


def _moments(a: np.ndarray, f: np.ndarray) -> dict:
    n = a.shape[-2]
    a_t = np.swapaxes(a, -1, -2)
    a_sum = a.sum(axis=-2, dtype=np.float64)  # the constant column's products, without copying [a, 1]
    qq = np.concatenate([
        np.concatenate([np.matmul(a_t, a).astype(np.float64), a_sum[..., :, None]], axis=-1),
        np.concatenate([a_sum[..., None, :], np.full((*a_sum.shape[:-1], 1, 1), float(n))], axis=-1),
    ], axis=-2)
    qf = np.concatenate([np.matmul(a_t, f).astype(np.float64), f.sum(axis=-2, dtype=np.float64)[..., None, :]],
                        axis=-2)
    return {"qq": qq / n, "qf": qf / n, "rows": n}


def _refit(rows: np.ndarray, moments: dict, damp: float, depthwise: bool, can_shift: bool):
    """Ridge refit of ``rows`` (R, C) toward the float outputs; returns (rows, per-row offset or None)."""
    qq, qf = moments["qq"], moments["qf"]
    if not can_shift:  # nowhere to put a mean shift: fit without the constant column
        qq, qf = qq[..., :-1, :-1], qf[..., :-1, :]
    size = qq.shape[-1]
    if depthwise:  # per channel: target rows[c] . f, one small system each
        lam = damp * np.einsum("bii->bi", qq).mean(axis=1)
        prior = np.concatenate([rows, np.zeros((rows.shape[0], size - rows.shape[1]))], axis=1)
        rhs = np.einsum("bij,bj->bi", qf, rows) + lam[:, None] * prior
        solution = np.linalg.solve(qq + lam[:, None, None] * np.eye(size)[None], rhs[..., None])[..., 0]
    else:
        lam = damp * np.diag(qq).mean()
        prior = np.concatenate([rows.T, np.zeros((size - rows.shape[1], rows.shape[0]))], axis=0)
        solution = np.linalg.solve(qq + lam * np.eye(size), qf @ rows.T + lam * prior).T
    if can_shift:
        return solution[:, :-1], solution[:, -1]
    return solution, None
