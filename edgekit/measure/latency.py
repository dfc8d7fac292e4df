"""The statistics a performance engineer reads off the timing loop (``run.timing.time_runs``):
min / median / mean / std / p90 / p99 and throughput, over all timed runs.
"""

from __future__ import annotations

import numpy as np


def summarize(samples_ms: list[float], batch: int = 1) -> dict:
    """min / median / mean / std / p90 / p99 (ms) and images per second at the median."""
    if not samples_ms:
        raise ValueError("no timed runs")
    x = np.asarray(samples_ms, dtype=np.float64)
    median = float(np.median(x))
    return {
        "runs": int(x.size),
        "min_ms": float(x.min()),
        "median_ms": median,
        "mean_ms": float(x.mean()),
        "std_ms": float(x.std(ddof=1)) if x.size > 1 else 0.0,
        "p90_ms": float(np.percentile(x, 90)),
        "p99_ms": float(np.percentile(x, 99)),
        "max_ms": float(x.max()),
        "throughput_ips": batch * 1000.0 / median if median > 0 else float("inf"),
    }


def spread_pct(values: list[float]) -> float:
    """(max - min) / median of per-round medians, in percent: how much the machine wandered."""
    if len(values) < 2:
        return 0.0
    v = np.asarray(values, dtype=np.float64)
    return float((v.max() - v.min()) / np.median(v) * 100.0)
