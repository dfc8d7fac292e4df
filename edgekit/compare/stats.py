"""The regression statistic: a two-level bootstrap interval of a ratio of latencies.

Two kinds of noise had to be beaten on this (shared, virtual, 2-core) machine:

* *drift in time*: the whole box speeds up and slows down by tens of percent within seconds. Each
  session is split into interleaved rounds and each round's median is divided by the median of a
  pinned reference workload timed in the same round (raw medians of one model moved 48% between
  sessions; its ratio to a float reference of the same kind moved 4.7%);
* *the process*: one worker process runs a small model consistently 10-25% faster or slower than
  the next (memory layout: which physical pages, which cache sets), which no reference cancels and
  no number of rounds inside one process reveals. So an entry is timed in several sessions, each a
  fresh pair of worker processes, and the session is the unit the interval is drawn over (pyperf
  spawns many worker processes for the same reason).

The statistic is a 20%-trimmed mean over sessions of each session's median normalised latency (a
plain mean let one disturbed session sink 3 of 20 detections in benchmarks/regress_study.py; the
median of sessions was robust but needs about 1.5x the sessions for the same precision, and the
sequential gate spends sessions); the interval resamples sessions, and rounds within each resampled
session (a two-level bootstrap).

A percentile bootstrap over a handful of sessions is too narrow: with two sessions a side it can only
span the two values it has seen, whatever the spread between processes really is (in CI a 2-session
gate called an unchanged file "regressed"). So the interval is the union of the bootstrap's and
Yuen's trimmed-mean interval (Welch's t-interval with winsorized variances, Yuen 1974) over the same
sessions' log levels: a Student t on few degrees of freedom is wide where the evidence is thin, and
the two agree within about 10% from a dozen sessions on. A side with a single session borrows the
other side's spread between processes (same machine, same code path); with one session on both
sides only the rounds are resampled, which says nothing about other processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BOOTSTRAP = 4000


@dataclass(frozen=True)
class RatioEstimate:
    """A candidate/baseline latency ratio with its bootstrap interval and the verdict against a threshold."""
    ratio: float  # candidate / baseline, > 1 means slower
    low: float
    high: float
    confidence: float
    sessions: int  # the smaller number of sessions behind one side
    rounds: int  # likewise, rounds

    def to_dict(self) -> dict:
        return {"ratio": round(self.ratio, 4), "low": round(self.low, 4), "high": round(self.high, 4),
                "confidence": self.confidence, "sessions": self.sessions, "rounds": self.rounds}


def round_values(samples: list[float], sizes: list[int]) -> np.ndarray:
    """Median of every round, from the flat samples and the rounds' sizes."""
    if not sizes or sum(sizes) != len(samples):
        raise ValueError("round sizes do not add up to the samples")
    edges = np.cumsum([0, *sizes])
    flat = np.asarray(samples, dtype=float)
    return np.array([np.median(flat[a:b]) for a, b in zip(edges[:-1], edges[1:]) if b > a])


def sessions(part: dict) -> list[np.ndarray]:
    """A result's round medians, split into its sessions (``session_rounds``; one session if absent)."""
    values = round_values(part["samples_ms"], part["round_sizes"])
    counts = part.get("session_rounds") or [len(values)]
    if sum(counts) != len(values):
        raise ValueError("session round counts do not add up to the rounds")
    edges = np.cumsum([0, *counts])
    return [values[a:b] for a, b in zip(edges[:-1], edges[1:])]


def normalised(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each round's latency over the reference workload's latency in the same round."""
    n = min(len(values), len(reference))
    return values[:n] / reference[:n]


TRIM = 0.2  # share of sessions dropped at each end before averaging


def _trimmed(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mean after dropping ``TRIM`` of the values at each end (along ``axis``): one odd session cannot move it."""
    values = np.sort(values, axis=axis)
    n = values.shape[axis]
    cut = int(TRIM * n)
    return np.take(values, range(cut, n - cut), axis=axis).mean(axis=axis)


def _session_logs(groups: list[np.ndarray]) -> np.ndarray:
    """Each session's median round latency, in logs."""
    return np.array([np.log(np.median(g)) for g in groups])


def _level(groups: list[np.ndarray]) -> float:
    """log of the trimmed mean over sessions of each session's median round latency (in logs)."""
    return float(_trimmed(_session_logs(groups)))


def _boot_levels(groups: list[np.ndarray], resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of ``_level``: sessions resampled, then rounds within each picked session.

    Every pick gets its own resample of rounds, also when a replicate picks the same session twice
    (reusing one draw would make such replicates needlessly extreme and the interval too wide).
    """
    k = len(groups)
    slots = resamples * k
    inner = np.stack([np.log(np.median(rng.choice(g, (slots, len(g))), axis=1)) for g in groups])
    pick = rng.integers(0, k, (resamples, k))
    values = inner[pick, np.arange(slots).reshape(resamples, k)]
    return _trimmed(values, axis=1)


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` >= 1 (not necessarily whole) degrees of freedom.

    With t = sqrt(df) tan(theta) the density becomes c cos(theta)^(df - 1) on [0, pi/2), smooth enough
    for the trapezoid rule on a fine grid; the CDF is inverted by interpolation (no SciPy on the device side).
    Welch-Satterthwaite degrees of freedom are never below the smaller side's, so never below 1 here.
    """
    if not 0 < p < 1 or df < 1:
        raise ValueError(f"t quantile needs 0 < p < 1 and df >= 1, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    theta = np.linspace(0.0, np.pi / 2, 20001)
    dens = np.cos(theta) ** (df - 1)
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(math.pi)
    cdf = 0.5 + c * np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(theta))])
    return float(math.sqrt(df) * math.tan(np.interp(p, cdf, theta)))


def _yuen_part(levels: np.ndarray) -> tuple[float, float | None, int]:
    """Trimmed mean, squared standard error (None for one value) and effective size h of one side."""
    n = len(levels)
    g = int(TRIM * n)
    h = n - 2 * g
    mean = float(_trimmed(levels))
    if h < 2:
        return mean, None, h
    x = np.sort(levels)
    w = np.clip(x, x[g], x[n - g - 1])  # winsorized
    return mean, float((n - 1) * w.var(ddof=1) / (h * (h - 1))), h


def yuen_interval(baseline: list[np.ndarray], candidate: list[np.ndarray],
                  confidence: float) -> tuple[float, float] | None:
    """Yuen's interval of the log ratio of trimmed means over sessions (each session: its median round),
    as a ratio interval; a single-session side borrows the other's spread; None with one session each."""
    (mb, db, hb), (mc, dc, hc) = (_yuen_part(_session_logs(side)) for side in (baseline, candidate))
    if db is None and dc is None:
        return None
    if db is None:  # one baseline session: its process sits somewhere in the candidate's spread
        db, hb = dc * hc, hc
    if dc is None:
        dc, hc = db * hb, hb
    se2 = db + dc
    if se2 <= 0:
        return math.exp(mc - mb), math.exp(mc - mb)
    df = se2 ** 2 / (db ** 2 / (hb - 1) + dc ** 2 / (hc - 1))
    half = t_quantile(1 - (1 - confidence) / 2, df) * math.sqrt(se2)
    return math.exp(mc - mb - half), math.exp(mc - mb + half)


def ratio_estimate(baseline: list[np.ndarray], candidate: list[np.ndarray], confidence: float = 0.95,
                   resamples: int = BOOTSTRAP, seed: int = 0) -> RatioEstimate:
    """candidate / baseline from per-session round values (normalised or raw), with its two-sided interval
    at ``confidence`` (each tail ``(1 - confidence) / 2``): the union of the two-level bootstrap's and
    Yuen's over sessions (see the module's notes)."""
    for side in (baseline, candidate):
        if not side or sum(len(g) for g in side) < 2 or any(len(g) == 0 for g in side):
            raise ValueError("need at least two rounds on each side")
    rng = np.random.default_rng(seed)
    boot = np.exp(_boot_levels(candidate, resamples, rng) - _boot_levels(baseline, resamples, rng))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(boot, [tail, 100 - tail])
    yuen = yuen_interval(baseline, candidate, confidence)
    if yuen is not None:
        low, high = min(low, yuen[0]), max(high, yuen[1])
    return RatioEstimate(float(np.exp(_level(candidate) - _level(baseline))), float(low), float(high), confidence,
                         min(len(baseline), len(candidate)),
                         min(sum(len(g) for g in baseline), sum(len(g) for g in candidate)))


def ratio_of_medians(baseline: np.ndarray, candidate: np.ndarray, confidence: float = 0.95,
                     resamples: int = BOOTSTRAP, seed: int = 0) -> RatioEstimate:
    """One session per side: the interval is over rounds only."""
    return ratio_estimate([np.asarray(baseline, float)], [np.asarray(candidate, float)], confidence, resamples, seed)


def verdict(est: RatioEstimate, threshold: float) -> str:
    """The gate's decision for one interval: ``regressed`` when it lies entirely above 1 + threshold, decided
    not-regressed when it lies entirely below it (``improved`` below 1 - threshold, ``slower``/``faster``
    (within threshold) when it also excludes 1, else ``unchanged``), and ``inconclusive`` when it straddles
    1 + threshold: more sessions are needed, and the gate never calls that ``unchanged``."""
    if est.low > 1 + threshold:
        return "regressed"
    if est.high >= 1 + threshold:
        return "inconclusive"
    if est.high < 1 - threshold:
        return "improved"
    if est.low > 1:
        return "slower (within threshold)"
    if est.high < 1:
        return "faster (within threshold)"
    return "unchanged"


def creep_verdict(est: RatioEstimate, threshold: float) -> str:
    """Against the oldest kept (or a pinned) baseline: ``crept`` when entirely above 1 + threshold."""
    if est.low > 1 + threshold:
        return "crept"
    return "within" if est.high < 1 + threshold else "inconclusive"
