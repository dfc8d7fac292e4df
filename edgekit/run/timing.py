"""The timing loop: ``invoke`` alone, timed with ``perf_counter_ns``; inputs are bound before the
clock starts. The benchmark worker and export's per-layer costing both time runtimes with it.
"""

from __future__ import annotations

import time
from typing import Callable


def time_runs(invoke: Callable[[], None], runs: int, min_seconds: float = 0.0,
              between: Callable[[int], None] | None = None) -> list[float]:
    """Milliseconds of ``runs`` calls to ``invoke`` (more, until ``min_seconds`` have passed).

    ``between(i)`` runs untimed before call ``i`` (e.g. to bind the next input image).
    """
    samples: list[float] = []
    clock = time.perf_counter_ns
    deadline = time.perf_counter() + min_seconds
    i = 0
    while i < runs or time.perf_counter() < deadline:
        if between is not None:
            between(i)
        start = clock()
        invoke()
        samples.append((clock() - start) / 1e6)
        i += 1
    return samples
