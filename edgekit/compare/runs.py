"""One description of "what to time, and how", run the same way for a baseline and for its candidate.

``how`` is plain data stored in the baseline: a suite file, or artifact paths with their references
(one the user named, or edgekit's built-in ones per kind), plus the bench options. ``measure(how)``
runs it (converting a suite's missing artifacts first) for a fixed number of sessions;
``Sessions`` runs it a few sessions at a time, for the adaptive gate (``compare.gate``).
"""

from __future__ import annotations

import os
from pathlib import Path

from edgekit.compare import reference as refs
from edgekit.compare.baseline import entry_key, make_baseline, merge_sessions, slim
from edgekit.compare.suite import ensure_artifacts, load_suite
from edgekit.errors import EdgekitError
from edgekit.measure.bench import BenchOptions, bench, resolve_artifacts
from edgekit.measure.identity import describe_artifact
from edgekit.vocab import REGRESS_SESSIONS



def describe_run(artifacts: list[str], suite: str | None, reference: str | None, opts: BenchOptions,
                 threads: list[int] | None = None, models_dir: str = "models", sessions: int = REGRESS_SESSIONS,
                 builtin_references: str | Path | None = None) -> dict:
    """Plain data saying what to time and how (suite or artifacts, references, bench options, threads,
    sessions), stored in a baseline so the candidate is timed the same way.

    ``builtin_references``: a folder; without a suite or an explicit ``reference``, edgekit's own reference
    workloads (``compare.reference``) are made there, one per kind of artifact timed.
    """
    options = opts.flat()
    references = None
    if suite:
        loaded = load_suite(suite)
        options.update({k: v for k, v in loaded.bench.items() if k != "sessions"})
        sessions = loaded.bench.get("sessions", sessions)
        threads = loaded.threads
    elif not artifacts:
        raise EdgekitError("nothing to time: give artifacts or --suite FILE")
    else:  # absolute: regress may run from another folder (compare.baseline re-roots a moved baseline)
        artifacts = [str(p.resolve()) for p in resolve_artifacts(artifacts, models_dir)]
    if sessions < 2:
        raise EdgekitError(f"--sessions must be >= 2 (the interval is drawn over sessions), got {sessions}")
    if reference and not Path(reference).is_file():
        raise EdgekitError(f"reference file not found: {reference}")
    if not suite and not reference and builtin_references:
        references = refs.build(builtin_references, {refs.kind_of(_identity(a)) for a in artifacts})
        references = {kind: {**ref, "path": str(Path(ref["path"]).resolve())} for kind, ref in references.items()}
    return {"suite": str(Path(suite).resolve()) if suite else None, "artifacts": None if suite else artifacts,
            "reference": str(Path(reference).resolve()) if reference else None, "references": references, "threads": threads or [opts.execution.threads or 1],
            "sessions": sessions, "options": options}


def _identity(artifact: str | Path) -> dict:
    """What ``reference.kind_of`` needs: format and precision (from the sidecar or name), else the input dtype."""
    known = describe_artifact(artifact)
    if known.get("precision") is None and str(artifact).lower().endswith(".tflite"):
        from edgekit.run.tflite_graph import read_graph

        graph = read_graph(artifact)
        known["io"] = {"inputs": [{"dtype": graph.tensors[graph.inputs[0]].dtype.lower()}]}
    return known


def pairs(how: dict, warn=None) -> list[tuple[Path, Path | None]]:
    """(artifact, its reference or None) for every entry of ``how``; a suite's missing artifacts are converted."""
    if how.get("suite"):
        suite = load_suite(how["suite"])
        ensure_artifacts(suite, warn=warn)
        out = [(e.artifact, suite.reference_for(e.format, e.precision)) for e in suite.entries]
    elif how.get("references"):
        refs.verify(how["references"])
        out = [(Path(a), Path(how["references"][refs.kind_of(_identity(a))]["path"])) for a in how["artifacts"]]
    else:
        ref = Path(how["reference"]) if how.get("reference") else None
        out = [(Path(a), ref) for a in how["artifacts"]]
    if not out:
        raise EdgekitError("the suite is empty")
    for artifact, _ in out:
        if not artifact.is_file():
            raise EdgekitError(f"artifact not found: {artifact}")
    return out


class Sessions:
    """Timing sessions (each a fresh pair of worker processes: the artifact and its reference, interleaved)
    accumulated per entry, so the gate can add sessions only where its verdict is still open."""

    def __init__(self, how: dict, progress=None, warn=None):
        self.how = how
        self.pairs = pairs(how, warn)
        self.progress = progress
        self.runs: dict[tuple[int, int], tuple[list[dict], list[dict]]] = {}  # (pair, threads) -> (mine, refs)
        self.errors: list[str] = []
        self.failed: set[tuple[int, int]] = set()  # entries whose timing failed: left out of the result
        self.environment: dict = {}
        self.load_before = _load()

    @property
    def slots(self) -> list[tuple[int, int]]:
        return [(i, t) for t in self.how["threads"] for i in range(len(self.pairs))]

    def count(self, slot: tuple[int, int]) -> int:
        return len(self.runs.get(slot, ([], []))[0])

    def add(self, slot: tuple[int, int], sessions: int) -> bool:
        """Time ``sessions`` more sessions of one entry; False when it failed (its error is kept)."""
        artifact, reference = self.pairs[slot[0]]
        opts = BenchOptions.build(**{**self.how["options"], "threads": slot[1]}, progress=self.progress)
        mine, ref_runs = self.runs.setdefault(slot, ([], []))
        for _ in range(sessions):
            results, errs = bench([artifact] + ([reference] if reference else []), opts)
            self.errors.extend(errs)
            got = [r for r in results if r["artifact"] == str(artifact)]
            ref = [r for r in results if reference and r["artifact"] == str(reference)]
            if not got or (reference and not ref):
                if not errs:
                    self.errors.append(f"{artifact}: no result")
                self.failed.add(slot)
                return False
            mine.append(got[0])
            ref_runs.extend(ref)
            self.environment = self.environment or got[0].get("environment", {})
        return True

    def result(self) -> dict:
        """Everything timed so far, in a baseline's shape."""
        entries = []
        for slot in self.slots:
            mine, ref_runs = self.runs.get(slot, ([], []))
            if mine and slot not in self.failed:
                entries.append({"key": entry_key(mine[0]), "result": slim(merge_sessions(mine)),
                                "reference": slim(merge_sessions(ref_runs)) if ref_runs else None})
        measured = make_baseline(entries, self.environment, self.how)
        measured["load"] = {"before": self.load_before, "after": _load()}
        return measured


def measure(how: dict, progress=None, warn=None, sessions: int | None = None) -> tuple[dict, list[str]]:
    """Run ``how`` with a fixed number of sessions per entry; returns (a baseline-shaped result, errors)."""
    run = Sessions(how, progress, warn)
    for slot in run.slots:
        run.add(slot, sessions or how.get("sessions", REGRESS_SESSIONS))
    return run.result(), run.errors


def _load() -> float | None:
    """1-minute load average: other work on the machine pollutes timings in ways no reference cancels."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None
