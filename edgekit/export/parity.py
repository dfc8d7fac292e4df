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

from edgekit.errors import EdgekitError
from edgekit.tasks.base import EXACT, Metric, Task, sqnr_db  # noqa: F401  (EXACT, sqnr_db: what export, studies and benchmarks import)
from edgekit.tasks.classification import Classification


class ParityError(EdgekitError):
    """A conversion that changed the function it was supposed to preserve."""


@dataclass(frozen=True)
class Requirement:
    """One floor (or ceiling) on a task's parity metric: ``sqnr>=15``, ``agreement>=0.9``, ``drop<=1.0``."""

    metric: Metric
    value: float

    @property
    def key(self) -> str:
        return self.metric.key

    @property
    def op(self) -> str:
        return self.metric.op

    def __str__(self) -> str:
        return f"{self.metric.name}{self.op}{self.value:g}"

    def miss(self, result: dict) -> str | None:
        """Why ``result`` misses this requirement (None when it meets it)."""
        got = result.get(self.key)
        if got is None:
            return None
        ok = got >= self.value if self.op == ">=" else got <= self.value
        unit = self.metric.unit
        shown = f"{got:.1%}" if self.metric.fraction else f"{got:.2f}{unit}"
        want = f"{self.value:.0%}" if self.metric.fraction else f"{self.value:g}{unit}"
        return None if ok else f"{self.metric.name} {shown} {'<' if self.op == '>=' else '>'} {want}"


def parse_require(text: str, task: Task | None = None) -> tuple[Requirement, ...]:
    """``"agreement>=0.9,sqnr>=15,drop<=1.0"`` -> requirements on ``task``'s metrics (default: classification);
    ``"none"`` -> () (report, do not judge).

    A fraction metric (agreement) takes 0.9 or a percentage (90%); one line of EdgekitError for anything else.
    """
    task = task or Classification()
    names = ", ".join(m.name for m in task.metrics)
    text = text.strip()
    if text.lower() == "none":
        return ()
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = re.fullmatch(r"([a-z]+)\s*(>=|<=)\s*([-+]?\d+(?:\.\d+)?)(%?)", part)
        metric = task.metric(match.group(1)) if match else None
        if metric is None:
            example = ",".join(f"{m.name}{m.op}{0.9 if m.fraction else 15}" for m in task.metrics[:2])
            raise EdgekitError(f"--require: cannot read {part!r}: write METRIC>=VALUE or METRIC<=VALUE with METRIC "
                               f"one of {names} (e.g. {example}), or none")
        _, op, value, percent = match.groups()
        if op != metric.op:
            raise EdgekitError(f"--require: {metric.name} takes {metric.op} (a {'floor' if op == '<=' else 'ceiling'}"
                               f" makes no sense for it), got {part!r}")
        number = float(value) / (100 if percent else 1)
        if metric.fraction and not 0 <= number <= 1:
            raise EdgekitError(f"--require: {metric.name} is a fraction from 0 to 1 (or a percentage), got {part!r}")
        if metric.op == "<=" and number < 0:
            raise EdgekitError(f"--require: a {metric.name} ceiling must be >= 0{metric.unit}, got {part!r}")
        out.append(Requirement(metric, number))
    if not out:
        raise EdgekitError("--require needs at least one METRIC>=VALUE (or none)")
    return tuple(out)


def _floor(name: str, value: float) -> Requirement:
    return Requirement(Classification().metric(name), value)


# The default floors by weights ("real": ImageNet or a trained file; "random": none) and precision.
# See the module docstring and docs/export.md for the measurements behind each number.
DEFAULT_FLOORS: dict[str, dict[str, tuple[Requirement, ...]]] = {
    # Real v1-0.25-128 weights (benchmarks/results/parity_floors.json): healthy int8 conversions measured
    # 14.4-21.1 dB and 70-100% agreement (the converters' own minmax rounding at the bottom; 20 hard
    # fullres20 images, one image = 5 points); calibration on blank images gave 5.0 dB and 15%.
    "real": {
        "dynamic": (_floor("agreement", 0.50), _floor("sqnr", 10.0)),  # healthy: 16.9-18.1 dB, 70-95%
        "int8": (_floor("agreement", 0.50), _floor("sqnr", 10.0)),
        "int16x8": (_floor("agreement", 0.50), _floor("sqnr", 20.0)),  # healthy: 29.0-30.0 dB, 75-100%
    },
    # Random weights: healthy int8 measured 6.7-13.9 dB over v1/v2/v3-small and three seeds here, but down
    # to 1.4 dB for v3-large-0.75-96 (24 calibration images; tests/test_export.py) and 3 dB for some
    # v3-small 224 draws (benchmarks/results/hswish_forms.json); blank calibration gave 0.0 dB (v3),
    # 1.3 dB (v2) and 3.6-3.9 dB (v1). So the random-weight floor only catches conversions that destroy
    # the signal; real weights are what tells a broken conversion from a poor one.
    "random": {
        "dynamic": (_floor("sqnr", 1.0),),
        "int8": (_floor("sqnr", 1.0),),
        "int16x8": (_floor("sqnr", 1.0),),
    },
}


def floors(precision: str, real_weights: bool, required: tuple[Requirement, ...] | None,
           task: Task | None = None) -> tuple[tuple[Requirement, ...], str]:
    """The requirements a quantized artifact is judged on, and a sentence saying which and why. The default
    floors were measured on classifiers; another task keeps those of them it has a metric for (SQNR)."""
    kind = "real" if real_weights else "random"
    if required is None:
        names = {m.name for m in (task or Classification()).metrics}
        chosen = tuple(r for r in DEFAULT_FLOORS[kind][precision] if r.metric.name in names)
        how = f"default {precision} floors for {kind} weights"
    else:
        chosen, how = required, "--require"
    if not real_weights:
        dropped = [r for r in chosen if r.metric.name != "sqnr"]
        chosen = tuple(r for r in chosen if r.metric.name == "sqnr")
        how += "; random weights have no meaningful accuracy: judged on SQNR only" + (
            f" ({', '.join(map(str, dropped))} not judged)" if dropped else "")
    return chosen, how


def judge(result: dict, requirements: tuple[Requirement, ...], how: str) -> dict:
    """Mark a quantized artifact's parity result passed or failed against ``requirements``."""
    misses = [m for m in (r.miss(result) for r in requirements) if m]
    unmeasured = [str(r) for r in requirements if result.get(r.key) is None]
    measured = len(unmeasured) < len(requirements)
    if unmeasured:  # a floor with nothing to hold it to is said, never counted as met
        how += f"; not measured for this artifact: {', '.join(unmeasured)}"
    refused = result.get("passed") is False  # the task's own verdict (outputs it cannot compare) stands
    already = list(result.get("failed") or []) if refused else []
    passed = False if refused else ((not misses) if measured else None)
    result.update(passed=passed, requirements=[str(r) for r in requirements],
                  judged_on=how if requirements else "not judged (--require none)", failed=[*already, *misses],
                  **({"not_measured": unmeasured} if unmeasured else {}))
    return result
