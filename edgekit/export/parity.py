"""Parity: does the artifact compute what the Keras model computes, on the same images?

Float and fp16 artifacts must match the Keras logits (max abs difference within tolerance, every
top-1 the same); a broken conversion fails loudly and is not written. Quantized artifacts (dynamic,
int8, int16x8, mixed) cannot match exactly: they are *judged* against floors on their top-1
agreement with Keras and the signal-to-quantization-noise ratio (SQNR) of their logits, and, with a
labelled check set, their top-1 drop. A quantized artifact below its floor is still written, marked
failed in its sidecar, and ``edgekit convert`` exits 1 so CI can gate on it.

The default floors come from ``benchmarks/parity_floors.py`` (results in
``benchmarks/results/parity_floors.json``, the reasoning in docs/export.md): each sits below every
healthy conversion of the real v1-0.25-128 weights measured there, with every PTQ algorithm
including the converters' own minmax, and above every deliberately broken one (blank or inverted
calibration images). Random-weight models have no meaningful accuracy: they are judged on SQNR only,
against a floor below the range healthy random-weight conversions reach and above broken ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from edgekit.errors import EdgekitError

# Absolute logit tolerance by precision: float conversions are exact up to reassociation.
TOLERANCE = {"float": 1e-4, "fp16": 0.5}
EXACT = ("float", "fp16")


class ParityError(EdgekitError):
    """A conversion that changed the function it was supposed to preserve."""


# metric name in --require -> (key in the parity result, direction, unit for messages)
METRICS = {
    "agreement": ("top1_agreement", ">=", ""),
    "sqnr": ("sqnr_db", ">=", " dB"),
    "drop": ("drop_pts", "<=", " pts"),
}


@dataclass(frozen=True)
class Requirement:
    """One floor (or ceiling) on a parity metric: ``sqnr>=15``, ``agreement>=0.9``, ``drop<=1.0``."""

    metric: str
    value: float

    @property
    def key(self) -> str:
        return METRICS[self.metric][0]

    @property
    def op(self) -> str:
        return METRICS[self.metric][1]

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"

    def miss(self, result: dict) -> str | None:
        """Why ``result`` misses this requirement (None when it meets it)."""
        got = result.get(self.key)
        if got is None:
            return None
        ok = got >= self.value if self.op == ">=" else got <= self.value
        unit = METRICS[self.metric][2]
        shown = f"{got:.1%}" if self.metric == "agreement" else f"{got:.2f}{unit}"
        want = f"{self.value:.0%}" if self.metric == "agreement" else f"{self.value:g}{unit}"
        return None if ok else f"{self.metric} {shown} {'<' if self.op == '>=' else '>'} {want}"


def parse_require(text: str) -> tuple[Requirement, ...]:
    """``"agreement>=0.9,sqnr>=15,drop<=1.0"`` -> requirements; ``"none"`` -> () (report, do not judge).

    Agreement takes a fraction (0.9) or a percentage (90%); one line of EdgekitError for anything else.
    """
    text = text.strip()
    if text.lower() == "none":
        return ()
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = re.fullmatch(r"([a-z]+)\s*(>=|<=)\s*([-+]?\d+(?:\.\d+)?)(%?)", part)
        if not match or match.group(1) not in METRICS:
            raise EdgekitError(f"--require: cannot read {part!r}: write METRIC>=VALUE or METRIC<=VALUE with METRIC "
                               f"one of agreement, sqnr, drop (e.g. agreement>=0.9,sqnr>=15,drop<=1.0), or none")
        metric, op, value, percent = match.groups()
        if op != METRICS[metric][1]:
            raise EdgekitError(f"--require: {metric} takes {METRICS[metric][1]} (a {'floor' if op == '<=' else 'ceiling'}"
                               f" makes no sense for it), got {part!r}")
        number = float(value) / (100 if percent else 1)
        if metric == "agreement" and not 0 <= number <= 1:
            raise EdgekitError(f"--require: agreement is a fraction from 0 to 1 (or a percentage), got {part!r}")
        if metric == "drop" and number < 0:
            raise EdgekitError(f"--require: a top-1 drop ceiling must be >= 0 points, got {part!r}")
        out.append(Requirement(metric, number))
    if not out:
        raise EdgekitError("--require needs at least one METRIC>=VALUE (or none)")
    return tuple(out)


# The default floors by weights ("real": ImageNet or a trained file; "random": none) and precision.
# See the module docstring and docs/export.md for the measurements behind each number.
DEFAULT_FLOORS: dict[str, dict[str, tuple[Requirement, ...]]] = {
    # Real v1-0.25-128 weights (benchmarks/results/parity_floors.json): healthy int8 conversions measured
    # 14.4-21.1 dB and 70-100% agreement (the converters' own minmax rounding at the bottom; 20 hard
    # fullres20 images, one image = 5 points); calibration on blank images gave 5.0 dB and 15%.
    "real": {
        "dynamic": (Requirement("agreement", 0.50), Requirement("sqnr", 10.0)),  # healthy: 16.9-18.1 dB, 70-95%
        "int8": (Requirement("agreement", 0.50), Requirement("sqnr", 10.0)),
        "int16x8": (Requirement("agreement", 0.50), Requirement("sqnr", 20.0)),  # healthy: 29.0-30.0 dB, 75-100%
    },
    # Random weights: healthy int8 measured 6.7-13.9 dB over v1/v2/v3-small and three seeds here, but down
    # to 1.4 dB for v3-large-0.75-96 (24 calibration images; tests/test_export.py) and 3 dB for some
    # v3-small 224 draws (benchmarks/results/hswish_forms.json); blank calibration gave 0.0 dB (v3),
    # 1.3 dB (v2) and 3.6-3.9 dB (v1). So the random-weight floor only catches conversions that destroy
    # the signal; real weights are what tells a broken conversion from a poor one.
    "random": {
        "dynamic": (Requirement("sqnr", 1.0),),
        "int8": (Requirement("sqnr", 1.0),),
        "int16x8": (Requirement("sqnr", 1.0),),
    },
}


def floors(precision: str, real_weights: bool, required: tuple[Requirement, ...] | None) -> tuple[tuple[Requirement, ...], str]:
    """The requirements a quantized artifact is judged on, and a sentence saying which and why."""
    kind = "real" if real_weights else "random"
    if required is None:
        chosen = DEFAULT_FLOORS[kind][precision]
        how = f"default {precision} floors for {kind} weights"
    else:
        chosen, how = required, "--require"
    if not real_weights:
        dropped = [r for r in chosen if r.metric != "sqnr"]
        chosen = tuple(r for r in chosen if r.metric == "sqnr")
        how += "; random weights have no meaningful accuracy: judged on SQNR only" + (
            f" ({', '.join(map(str, dropped))} not judged)" if dropped else "")
    return chosen, how


def sqnr_db(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio of ``candidate`` against ``reference``, in dB."""
    noise = float(np.sum((reference.astype(np.float64) - candidate) ** 2))
    signal = float(np.sum(reference.astype(np.float64) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(signal / noise)


def compare(reference: np.ndarray, candidate: np.ndarray, precision: str, labels: np.ndarray | None = None) -> dict:
    """Metrics of ``candidate`` logits against the Keras ``reference`` (both (N, classes)).

    With ``labels`` (the check images' classes) it also reports both top-1s and the drop in points.
    Exact precisions are judged here; quantized ones by ``judge``.
    """
    diff = np.abs(reference.astype(np.float64) - candidate)
    # float tolerance scales with the logits' magnitude (1e-4 at |logits| ~ 1..20)
    scale = max(1.0, float(np.abs(reference).max()) / 20)
    result = {
        "images": int(len(reference)),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "top1_agreement": float(np.mean(reference.argmax(1) == candidate.argmax(1))),
        "sqnr_db": round(sqnr_db(reference, candidate), 2),
    }
    if labels is not None:
        reference_top1 = float(np.mean(reference.argmax(1) == labels))
        top1 = float(np.mean(candidate.argmax(1) == labels))
        result.update(reference_top1=reference_top1, top1=top1, drop_pts=round(100 * (reference_top1 - top1), 2))
    if precision in EXACT:
        tolerance = TOLERANCE[precision] * scale
        result["tolerance"] = tolerance
        result["passed"] = bool(result["max_abs_diff"] <= tolerance and
                                (precision != "float" or result["top1_agreement"] == 1.0))
    else:
        result["passed"] = None  # judged by judge()
    return result


def judge(result: dict, requirements: tuple[Requirement, ...], how: str) -> dict:
    """Mark a quantized artifact's parity result passed or failed against ``requirements``."""
    misses = [m for m in (r.miss(result) for r in requirements) if m]
    result.update(passed=not misses if requirements else None, requirements=[str(r) for r in requirements],
                  judged_on=how if requirements else "not judged (--require none)", failed=misses)
    return result
