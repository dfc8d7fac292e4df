"""One description of "what to time, and how", run the same way for a baseline and for its candidate.

``how`` is plain data stored in the baseline: a suite file, or artifact paths with one reference,
plus the bench options. ``measure(how)`` runs it (converting a suite's missing artifacts first)
and returns a candidate in the baseline's own shape.
"""

from __future__ import annotations

import os
from dataclasses import asdict, fields
from pathlib import Path

from edgekit.compare.baseline import make_baseline, run_pairs
from edgekit.compare.suite import ensure_artifacts, load_suite
from edgekit.errors import EdgekitError
from edgekit.measure.bench import BenchOptions, resolve_artifacts
from edgekit.vocab import REGRESS_SESSIONS

_OPTION_NAMES = {f.name for f in fields(BenchOptions)} - {"progress"}


def describe_run(artifacts: list[str], suite: str | None, reference: str | None, opts: BenchOptions,
                 threads: list[int] | None = None, models_dir: str = "models", sessions: int = REGRESS_SESSIONS) -> dict:
    """Plain data saying what to time and how (suite or artifacts, reference, bench options, threads, sessions), stored in a baseline so the candidate is timed the same way."""
    options = {k: v for k, v in asdict(opts).items() if k in _OPTION_NAMES}
    if suite:
        loaded = load_suite(suite)
        options.update({k: v for k, v in loaded.bench.items() if k != "sessions"})
        sessions = loaded.bench.get("sessions", sessions)
        threads = loaded.threads
    elif not artifacts:
        raise EdgekitError("nothing to time: give artifacts or --suite FILE")
    else:
        artifacts = [str(p) for p in resolve_artifacts(artifacts, models_dir)]
    if sessions < 1:
        raise EdgekitError(f"--sessions must be >= 1, got {sessions}")
    if reference and not Path(reference).is_file():
        raise EdgekitError(f"reference file not found: {reference}")
    return {"suite": str(suite) if suite else None, "artifacts": None if suite else artifacts,
            "reference": reference, "threads": threads or [opts.threads or 1], "sessions": sessions,
            "options": options}


def measure(how: dict, progress=None, warn=None) -> tuple[dict, list[str]]:
    """Run ``how``; returns (a baseline-shaped result, errors)."""
    if how.get("suite"):
        suite = load_suite(how["suite"])
        ensure_artifacts(suite, warn=warn)
        pairs = [(e.artifact, suite.reference_for(e.format, e.precision)) for e in suite.entries]
    else:
        ref = Path(how["reference"]) if how.get("reference") else None
        pairs = [(Path(a), ref) for a in how["artifacts"]]
    if not pairs:
        raise EdgekitError("the suite is empty")
    for artifact, _ in pairs:
        if not artifact.is_file():
            raise EdgekitError(f"artifact not found: {artifact}")
    entries, errors, environment = [], [], {}
    load_before = _load()
    for threads in how["threads"]:
        opts = BenchOptions(**{**how["options"], "threads": threads}, progress=progress)
        got, errs, env = run_pairs(pairs, opts, how.get("sessions", 1))
        entries += got
        errors += errs
        environment = environment or env
    measured = make_baseline(entries, environment, how)
    measured["load"] = {"before": load_before, "after": _load()}
    return measured, errors


def _load() -> float | None:
    """1-minute load average: other work on the machine pollutes timings in ways no reference cancels."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None
