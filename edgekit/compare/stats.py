"""The regression statistic: a bootstrap confidence interval of a ratio of medians over rounds.

A benchmark session is split into interleaved rounds (``measure.bench``). On a shared machine the
speed of the whole box drifts by tens of percent within seconds, so single invocations are not
independent draws: the honest unit is the round. With a reference workload timed in the same
rounds, each round's median is divided by the reference's median of the same round, which cancels
drift that hits both (measured here: raw medians of one model moved 48% between sessions while its
ratio to a float model of the same kind moved 4.7%). The ratio candidate / baseline of the median
normalised latencies gets a percentile-bootstrap interval, rounds resampled within each session.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOOTSTRAP = 4000


@dataclass(frozen=True)
class RatioEstimate:
    ratio: float  # candidate / baseline, > 1 means slower
    low: float
    high: float
    confidence: float
    units: int  # rounds (or samples) behind each side, the smaller count

    def to_dict(self) -> dict:
        return {"ratio": round(self.ratio, 4), "low": round(self.low, 4), "high": round(self.high, 4),
                "confidence": self.confidence, "units": self.units}


def round_values(samples: list[float], sizes: list[int]) -> np.ndarray:
    """Median of every round, from the flat samples and the rounds' sizes."""
    if not sizes or sum(sizes) != len(samples):
        raise ValueError("round sizes do not add up to the samples")
    edges = np.cumsum([0, *sizes])
    flat = np.asarray(samples, dtype=float)
    return np.array([np.median(flat[a:b]) for a, b in zip(edges[:-1], edges[1:]) if b > a])


def normalised(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each round's latency over the reference workload's latency in the same round."""
    n = min(len(values), len(reference))
    return values[:n] / reference[:n]


def ratio_of_medians(baseline: np.ndarray, candidate: np.ndarray, confidence: float = 0.95,
                     resamples: int = BOOTSTRAP, seed: int = 0) -> RatioEstimate:
    baseline, candidate = np.asarray(baseline, float), np.asarray(candidate, float)
    if len(baseline) < 2 or len(candidate) < 2:
        raise ValueError("need at least two rounds on each side")
    rng = np.random.default_rng(seed)
    b = np.median(rng.choice(baseline, (resamples, len(baseline))), axis=1)
    c = np.median(rng.choice(candidate, (resamples, len(candidate))), axis=1)
    boot = c / b
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(boot, [tail, 100 - tail])
    return RatioEstimate(float(np.median(candidate) / np.median(baseline)), float(low), float(high),
                         confidence, min(len(baseline), len(candidate)))


def verdict(est: RatioEstimate, threshold: float) -> str:
    """``regressed`` only when slower beyond doubt *and* by more than the threshold; likewise ``improved``."""
    if est.low > 1 and est.ratio > 1 + threshold:
        return "regressed"
    if est.high < 1 and est.ratio < 1 - threshold:
        return "improved"
    if est.low > 1:
        return "slower (within threshold)"
    if est.high < 1:
        return "faster (within threshold)"
    return "unchanged"
