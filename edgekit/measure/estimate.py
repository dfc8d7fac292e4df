"""A kernel-level latency model: a model's latency from its architecture, per device, runtime and precision.

The model is fitted on ledgers (``measure.ledger``: per-op times that add up to the whole-model median) of zoo
variants measured on the device. A graph is cut into **segments**, one per multiply-add layer (conv, depthwise,
1x1, SE, FC) with the ops that follow it up to the next one (its activation when the runtime runs it apart,
h-swish's ADD and MULs, a residual ADD, SE's pool and multiply, the softmax); a preamble holds what precedes the
first layer (QUANTIZE, v3's rescaling, ORT's layout transpose). The same segments are read from ``zoo.arch``'s
layer table, so a variant is estimated without converting it (hundreds in a second, no TensorFlow):

    time(segment) = c[kind] + m[kind] * MACs + p[kind] * MACs with channels padded to 16
                    + i[kind] * input elements + o[kind] * output elements + w[kind] * weights
                    + sum over its tail of t[op] * elements

(XNNPACK's and MLAS's kernels work on channel blocks: a 24- or 40-channel layer costs nearly what a 32- or
48-channel one does, and the fit weighs the padded count against the plain one per kind and device; on the
stored ledgers of two runs here it lifted the share of training variants within ±10% in leave-one-out on 5 of
8 runtime/precision fits, by 5 points on average.) One coefficient set per kind (first conv, conv kxk, depthwise 3x3 / 5x5, pointwise 1x1, SE, FC) and the
tail's shared, fitted by non-negative least squares (Lawson-Hanson) on every segment of the training ledgers.
Fits are stored beside the results store in ``fits.json`` (``$EDGEKIT_FITS`` overrides), keyed by device,
runtime, precision and threads, with the CPU they were measured on and their validation on held-out variants.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from edgekit.errors import EdgekitError

SCHEMA = 1
KINDS = ("first conv", "conv kxk", "depthwise 3x3", "depthwise 5x5", "pointwise 1x1", "SE", "FC")
PER_KIND = ("const", "macs", "macs16", "in", "out", "weights")
BLOCK = 16  # the channel block of the padded MAC count
TAIL = ("hswish", "hsigmoid", "pool", "add", "mul", "softmax", "ops")
PREAMBLE = ("const", "in", "rescale")
COLUMNS = ([f"{k}:{f}" for k in KINDS for f in PER_KIND] + [f"tail:{t}" for t in TAIL]
           + [f"input:{p}" for p in PREAMBLE])
MAC_OPS_TFLITE = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
MAC_OPS_ORT = ("Gemm", "MatMul", "QGemm", "QLinearMatMul", "MatMulInteger")


class NoFitError(EdgekitError):
    """No latency model has been fitted for a device, runtime, precision and thread count."""


def fits_path() -> Path:
    """``$EDGEKIT_FITS``, else ``fits.json`` beside ``$EDGEKIT_DB``, else in edgekit's data folder."""
    from edgekit.files import data_dir

    if os.environ.get("EDGEKIT_FITS"):
        return Path(os.environ["EDGEKIT_FITS"])
    if os.environ.get("EDGEKIT_DB"):
        return Path(os.environ["EDGEKIT_DB"]).parent / "fits.json"
    return data_dir() / "fits.json"


def fit_key(device: str, runtime: str, precision: str, threads: int) -> str:
    return f"{device}|{runtime}|{precision}|{threads}"


def load_fits(path: Path | None = None) -> dict[str, dict]:
    path = path or fits_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data.get("fits", {}) if isinstance(data, dict) and data.get("schema") == SCHEMA else {}


def store_fits(fits: list[dict], path: Path | None = None) -> Path:
    """Add (or replace) fits, atomically."""
    from edgekit.files import write_atomic

    path = path or fits_path()
    stored = load_fits(path)
    for fit in fits:
        stored[fit["key"]] = fit
    write_atomic(path, json.dumps({"schema": SCHEMA, "fits": stored}, indent=1).encode())
    return path


def find_fit(device: str, runtime: str, precision: str, threads: int, path: Path | None = None) -> dict:
    fits = load_fits(path)
    fit = fits.get(fit_key(device, runtime, precision, threads))
    if fit is None:
        have = sorted({f"{f['device']} ({f['runtime']} {f['precision']}, {f['threads']} thread(s))"
                       for f in fits.values()})
        raise NoFitError(f"no latency model for device '{device}', {runtime} {precision}, {threads} thread(s)"
                         f"{' (fitted: ' + '; '.join(have) + ')' if have else ''}: fit one with "
                         f"'edgekit estimate --fit --device {device} --threads {threads} --calib DIR' (DIR: calibration "
                         f"images for the suite's int8 files)")
    return fit


# --- segments -------------------------------------------------------------------------------------------------

def _elements(shape) -> int:
    return int(np.prod(shape)) if shape else 0


def arch_segments(layers) -> list[dict]:
    """The segments of a ``zoo.arch`` layer table: [{kind, macs, in, out, weights, tail: {...}}], preamble first."""
    preamble = {"kind": "input", "in": _elements(layers[0].in_shape) if layers else 0, "rescale": 0}
    segments: list[dict] = []
    first = True
    for layer in layers:
        if layer.op in ("conv", "dwconv", "fc", "sepconv"):
            for part in _mac_parts(layer, first):
                segments.append({**part, "tail": dict.fromkeys(TAIL, 0)})
            _activation(segments[-1], layer.act, segments[-1]["out"])
            first = False
            continue
        if not segments:  # before the first multiply-add layer
            preamble["rescale"] += _elements(layer.in_shape) if layer.op == "rescale" else 0
            continue
        tail = segments[-1]["tail"]
        tail["ops"] += 1
        if layer.op == "pool":
            tail["pool"] += _elements(layer.in_shape)
        elif layer.op in ("add", "mul", "softmax"):
            tail[layer.op] += _elements(layer.out_shape)
        _activation(segments[-1], layer.act, _elements(layer.out_shape))
    return [preamble] + segments


def _activation(segment: dict, act: str | None, elements: int) -> None:
    if act == "hard_swish":
        segment["tail"]["hswish"] += elements
    elif act == "hard_sigmoid":
        segment["tail"]["hsigmoid"] += elements
    elif act == "softmax":
        segment["tail"]["softmax"] += elements


def _mac_parts(layer, first: bool) -> list[dict]:
    """The multiply-add op(s) of one layer (a layer of ``zoo.arch``: its fields, not the module; the device side
    reads tables, it does not import the zoo's counting, which can read ONNX files)."""
    h, w, cin = layer.in_shape
    oh, ow, cout = layer.out_shape
    k = layer.kernel
    if layer.op == "sepconv":  # NASNet's separable conv: a depthwise then a 1x1
        dw_macs = oh * ow * cin * k * k
        return [_part(f"depthwise {'5x5' if k >= 5 else '3x3'}", dw_macs, oh * ow * k * k * _pad(cin), h * w * cin,
                      oh * ow * cin, k * k * cin),
                _part("pointwise 1x1", oh * ow * cin * cout, oh * ow * _pad(cin) * _pad(cout), oh * ow * cin,
                      oh * ow * cout, cin * cout)]
    groups = max(layer.groups, 1)
    if layer.op == "dwconv":
        kind = f"depthwise {'5x5' if k >= 5 else '3x3'}"
        weights, padded = k * k * cin, k * k * _pad(cin)
    else:
        weights = k * k * cin * cout // groups if layer.op == "conv" else cin * cout
        padded = (k * k if layer.op == "conv" else 1) * groups * _pad(cin // groups) * _pad(cout // groups)
        if layer.op == "fc" or (k == 1 and oh * ow == 1):
            kind = "SE" if "squeeze_excite" in layer.name else "FC"
        else:
            kind = "first conv" if first else "pointwise 1x1" if k == 1 else "conv kxk"
    spatial = 1 if layer.op == "fc" else oh * ow  # as zoo.count counts them
    return [_part(kind, spatial * weights, spatial * padded, h * w * cin, oh * ow * cout, weights)]


def _pad(channels: int) -> int:
    return -(-int(channels) // BLOCK) * BLOCK


def _part(kind: str, macs: int, macs16: int, inp: int, out: int, weights: int) -> dict:
    return {"kind": kind, "macs": macs, "macs16": macs16, "in": inp, "out": out, "weights": weights}


def ledger_segment_times(ledger: dict) -> list[float] | None:
    """The ledger's time per segment (ms): the preamble, then each multiply-add op with the ops after it."""
    times = [0.0]
    for op in ledger["ops"]:
        name = op["op"]
        if name in MAC_OPS_TFLITE or name in MAC_OPS_ORT or "Conv" in name:
            times.append(0.0)
        times[-1] += op["ms"] or 0.0
    return times


def features(segment: dict) -> np.ndarray:
    row = np.zeros(len(COLUMNS))
    index = {c: i for i, c in enumerate(COLUMNS)}
    if segment["kind"] == "input":
        row[index["input:const"]], row[index["input:in"]] = 1, segment["in"]
        row[index["input:rescale"]] = segment["rescale"]
        return row
    k = segment["kind"]
    row[index[f"{k}:const"]] = 1
    for f in PER_KIND[1:]:
        row[index[f"{k}:{f}"]] = segment[f]
    for t in TAIL:
        row[index[f"tail:{t}"]] = segment["tail"][t]
    return row


def design(segments: list[dict]) -> np.ndarray:
    return np.array([features(s) for s in segments])


# --- fitting --------------------------------------------------------------------------------------------------

def nnls(a: np.ndarray, b: np.ndarray, iterations: int | None = None) -> np.ndarray:
    """Lawson and Hanson's non-negative least squares: argmin ||a x - b|| subject to x >= 0."""
    m, n = a.shape
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    w = a.T @ (b - a @ x)
    tolerance = 1e-10 * max(1.0, float(np.abs(w).max(initial=0)))
    for _ in range(iterations or 3 * n):
        if passive.all() or (w[~passive] <= tolerance).all():
            break
        j = int(np.argmax(np.where(passive, -np.inf, w)))
        passive[j] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if (z[passive] > 0).all():
                x = z
                break
            mask = passive & (z <= 0)
            alpha = float(np.min(x[mask] / (x[mask] - z[mask])))
            x = x + alpha * (z - x)
            passive &= x > 1e-15
        w = a.T @ (b - a @ x)
    return x


def fit(examples: list[tuple[list[dict], list[float]]]) -> dict:
    """Coefficients from (segments, segment times) of training models; columns scaled to [0, 1] for the solve,
    each segment weighted by 1 / its model's time (so small models count as much as large ones)."""
    rows, targets, weights = [], [], []
    for segments, times in examples:
        total = sum(times) or 1.0
        for segment, t in zip(segments, times):
            rows.append(features(segment))
            targets.append(t)
            weights.append(1.0 / total)
    a, b, wt = np.array(rows), np.array(targets), np.array(weights)
    scale = np.abs(a).max(axis=0)
    scale[scale == 0] = 1.0
    coef = nnls(a / scale * wt[:, None], b * wt) / scale
    return {"columns": list(COLUMNS), "coef": [float(c) for c in coef]}


def predict(model_fit: dict, segments: list[dict]) -> float:
    """Estimated milliseconds of a model's segments under a fit."""
    coef = np.array(model_fit["coef"])
    if list(model_fit["columns"]) != list(COLUMNS):
        raise EdgekitError("this latency fit was made by another edgekit version (its features differ): refit it "
                           "with 'edgekit estimate --fit'")
    return float((design(segments) @ coef).sum())


def errors(rows: list[dict]) -> dict:
    """Validation figures of (measured, estimated) rows: share within 10% and 20%, median |error|; and, where the
    rows carry it, the median spread of the measurements themselves (bench's range of per-round medians / median):
    the noise floor an estimate's error is to be read against."""
    errs = [abs(r["estimated_ms"] / r["measured_ms"] - 1) for r in rows if r["measured_ms"]]
    if not errs:
        return {"n": 0}
    spreads = [r["spread_pct"] for r in rows if r.get("spread_pct") is not None]
    return {"n": len(errs), "within_10": sum(e <= 0.10 for e in errs) / len(errs),
            "within_20": sum(e <= 0.20 for e in errs) / len(errs),
            "median_abs_err_pct": 100 * float(np.median(errs)), "max_abs_err_pct": 100 * float(max(errs)),
            "median_spread_pct": float(np.median(spreads)) if spreads else None}
