"""The sequential latency gate: add sessions until every entry's interval decides, or the budget runs out.

A fixed number of sessions decides on a quiet machine and sleeps through a slowdown on a noisy one.
So the candidate is timed in *looks*: ``FIRST`` sessions per entry, then twice as many at each further
look (4, 8, 16), up to ``max_sessions``. After every look each open entry's interval (two-level
bootstrap united with Yuen's t-interval, ``compare.stats``) is checked against 1 + threshold:
entirely above is ``regressed``, entirely below is decided not-regressed (``unchanged``,
``slower``/``faster`` within the threshold, ``improved``), and an interval that straddles it needs
more sessions; decided entries are not timed again. When the
sessions or the time budget run out, what is still open is ``inconclusive``: its own verdict and exit
code (3), never silently ``unchanged``.

Error rates: each decision uses one tail of an interval, and the error probability ``1 - confidence``
is spent evenly over every tail the gate may look at (entries x comparisons x looks, Bonferroni), so
whatever look a decision is taken at, the chance of a false ``regressed`` (true slowdown within the
threshold) is at most ``1 - confidence`` for the run, and so is that of a false pass (true slowdown
beyond it), as far as the interval has its nominal coverage. The price is wider intervals
per look, which is why looks are few (sessions double between them). ``benchmarks/regress_study.py`` measures
the rates it gives.
"""

from __future__ import annotations

import time

from edgekit.compare import regress as regress_mod
from edgekit.compare.baseline import entry_key
from edgekit.compare.runs import Sessions
from edgekit.errors import EdgekitError
from edgekit.vocab import REGRESS_MAX_SESSIONS, REGRESS_TIME_BUDGET

FIRST = 4  # sessions per entry at the first look; each further look doubles them (fewer looks: narrower
MAX_SESSIONS = REGRESS_MAX_SESSIONS  # intervals for the same error rate) up to the maximum
TIME_BUDGET = REGRESS_TIME_BUDGET  # seconds for the whole candidate run


def schedule(max_sessions: int) -> list[int]:
    """Sessions per entry at each look: FIRST, then doubling, up to ``max_sessions``."""
    if max_sessions < 2:
        raise EdgekitError(f"--max-sessions {max_sessions} cannot decide anything: an interval over sessions needs "
                           f"at least 2 (the default is {MAX_SESSIONS})")
    looks = [min(FIRST, max_sessions)]
    while looks[-1] < max_sessions:
        looks.append(min(2 * looks[-1], max_sessions))
    return looks


def run_gate(baseline: dict, threshold: float, confidence: float = 0.95, *, allow_env_change: bool = False,
             use_reference: bool = True, origin: dict | None = None, creep: float | None = None,
             max_sessions: int = MAX_SESSIONS, time_budget: float = TIME_BUDGET, progress=None,
             warn=None) -> tuple[dict, dict]:
    """Time the baseline's entries again, look after look, until each decides; returns (report, candidate)."""
    if time_budget <= 0:
        raise EdgekitError(f"--time-budget must be positive, got {time_budget:g} s")
    looks = schedule(max_sessions)
    started = time.monotonic()
    run = Sessions(baseline["run"], progress, warn)
    open_slots = set(run.slots)
    report = candidate = None
    stop = "every entry decided"
    for n, target in enumerate(looks, start=1):
        for slot in sorted(open_slots):
            run.add(slot, target - run.count(slot))
        if run.errors:
            raise EdgekitError("; ".join(run.errors))
        candidate = run.result()
        report = regress_mod.regress(baseline, candidate, threshold, confidence, allow_env_change, use_reference,
                                     looks=len(looks), origin=origin, creep=creep)
        by_key = {r["key"]: r for r in report["rows"]}
        open_slots = {slot for slot in open_slots if _open(by_key.get(_key(run, slot)))}
        report["looks_taken"] = n
        if not open_slots:
            break
        if time.monotonic() - started > time_budget:
            stop = f"time budget of {time_budget:g} s spent"
            break
    else:
        stop = f"{max_sessions} sessions per entry spent" if open_slots else stop
    elapsed = time.monotonic() - started
    report["stopping"] = {"reason": stop, "seconds": round(elapsed, 1), "looks_planned": len(looks),
                          "schedule": looks, "max_sessions": max_sessions, "time_budget_s": time_budget}
    return report, candidate


def _key(run: Sessions, slot) -> str | None:
    mine = run.runs.get(slot, ([], []))[0]
    return entry_key(mine[0]) if mine else None


def _open(row: dict | None) -> bool:
    if row is None:
        return False
    creep = (row.get("creep") or {}).get("verdict")
    return row["verdict"] == "inconclusive" or creep == "inconclusive"

