"""Run a sweep: convert what the cache lacks, then benchmark, then evaluate; results stream into the store.

The driver is the only writer of the SQLite store. Artifacts land in the content-addressed cache
(``<out>/<model>/<key>/<format>-<precision>.<ext>`` plus sidecar) by atomic rename; a cell whose
artifact could not be made fails with that reason and the rest go on. With ``resume`` a cell whose
key is already in the store (same artifact bytes' address, device, threads and settings) is skipped.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Callable

from edgekit import files
from edgekit.export import artifact as art
from edgekit.record.store import ResultsStore
from edgekit.sweep.plan import Artifact, Cell, Sweep


def cached(artifact: Artifact) -> bool:
    """Whether an artifact is already in the content-addressed cache."""
    return artifact.path.is_file() and art.sidecar_path(artifact.path).is_file()


def _file(artifact: Artifact, data: bytes, sidecar: dict) -> None:
    """Put one artifact and its sidecar into the cache, atomically (bytes first, sidecar last)."""
    artifact.path.parent.mkdir(parents=True, exist_ok=True)
    sidecar = {**sidecar, "artifact": artifact.path.name, "path": str(artifact.path), "sweep_key": artifact.key}
    files.write_atomic(artifact.path, data)
    files.write_atomic(art.sidecar_path(artifact.path), json.dumps(sidecar, indent=2).encode())


def done_keys(store: ResultsStore) -> set[str]:
    """Keys of the sweep cells already recorded in the store (for --resume)."""
    keys = set()
    for kind in ("bench", "eval"):
        for row in store.query(kind=kind):
            key = row["result"].get("sweep", {}).get("cell")
            if key:
                keys.add(key)
    return keys


def run_sweep(sweep: Sweep, executor, db: str | None = None, resume: bool = False,
              progress: Callable[[dict], None] | None = None) -> dict:
    """Run a sweep's cells in phases (convert, bench, eval), record every result and failure, and return a summary."""
    executor.configure(sweep.bench, sweep.eval)
    with ResultsStore(db) as store:
        run = _SweepRun(sweep, executor, store, progress)
        run.plan(resume)
        run.convert()
        for step, measure in (("bench", executor.benches), ("eval", executor.evals)):
            run.measure(step, measure)
        db_path = str(store.path)
    run.tick(phase="done")
    return run.summary(db_path)


class _SweepRun:
    """One sweep's progress: counts, failures (each recorded in the store) and the timeline of its tasks."""

    def __init__(self, sweep: Sweep, executor, store: ResultsStore, progress):
        self.sweep, self.executor, self.store, self.progress = sweep, executor, store, progress
        self.started = time.time()
        self.counts = {"done": 0, "failed": 0, "skipped": 0, "left": len(sweep.cells), "phase": "plan"}
        self.failures: list[dict] = []
        self.timeline: list[dict] = []
        self.broken: dict[str, str] = {}  # artifact key -> why it could not be made
        self.seconds: dict[str, float] = {}
        self.cells, self.todo, self.hits = sweep.cells, [], 0

    def tick(self, **change) -> None:
        self.counts.update(change)
        if self.progress:
            self.progress(dict(self.counts))

    def plan(self, resume: bool) -> None:
        """The cells to run (``resume``: those not in the store yet) and the artifacts the cache lacks."""
        sweep = self.sweep
        if resume:
            seen = done_keys(self.store)
            self.cells = [c for c in sweep.cells if c.key not in seen]
            self.counts.update(skipped=len(sweep.cells) - len(self.cells), left=len(self.cells))
        needed = {c.artifact.key for c in self.cells} | ({a.key for a in sweep.artifacts}
                                                         if "convert" in sweep.steps else set())
        self.todo = [a for a in sweep.artifacts if a.key in needed and not cached(a)]
        self.hits = sum(1 for a in sweep.artifacts if a.key in needed and cached(a))

    def fail(self, cell: Cell | None, step: str, error: str, artifact: Artifact | None = None) -> None:
        entry = {"step": step, "cell": cell.label if cell else artifact.label, "error": error}
        self.failures.append(entry)
        target = cell.artifact if cell else artifact
        self.store.record("failure", {"artifact": str(target.path), "model": target.model, "format": target.format,
                                      "precision": target.precision, "device": cell.device if cell else None,
                                      "threads": cell.threads if cell else None, **entry,
                                      "sweep": {"name": self.sweep.name, "cell": cell.key if cell else target.key}}, {})
        if cell:
            self.tick(failed=self.counts["failed"] + 1, left=self.counts["left"] - 1)

    def convert(self) -> None:
        """Phase 1, conversions: CPU work, in parallel; nothing is timed meanwhile."""
        self.tick(phase="convert")
        started = time.time()
        if "convert" in self.sweep.steps or self.todo:
            jobs: dict[tuple[str, str], dict] = {}
            for a in self.todo:
                job = jobs.setdefault((a.model, a.weights), {"model": a.model, "weights": a.weights, "pairs": [],
                                                             "convert": self.sweep.convert, "artifacts": []})
                job["pairs"].append((a.format, a.precision))
                job["artifacts"].append(a)
            for job, outcome in self.executor.converts(list(jobs.values())):
                self._filed(job, outcome)
                self.tick()
        self.seconds["convert"] = round(time.time() - started, 2)

    def _filed(self, job: dict, outcome: dict) -> None:
        """File one conversion's artifacts into the cache (or record why each is missing)."""
        self.timeline.append({"step": "convert", "what": job["model"], "node": outcome.get("node"),
                              "started": outcome["started"], "ended": outcome["ended"]})
        for a in job["artifacts"]:
            got = (outcome.get("artifacts") or {}).get(f"{a.format}-{a.precision}")
            if "error" in outcome or got is None:
                self.broken[a.key] = outcome.get("error", "the converter made no such artifact")
                self.fail(None, "convert", self.broken[a.key], artifact=a)
                continue
            data = got["bytes"] if "bytes" in got else Path(got["path"]).read_bytes()
            # the converter's warnings stay with the artifact: a cache hit reports them again
            mine = [w for w in outcome.get("warnings") or []  # a parity warning names its own artifact
                    if "parity floor" not in w or w.startswith(f"{a.format}-{a.precision}.")]
            _file(a, data, {**got["sidecar"], "conversion_warnings": mine})
        if outcome.get("scratch"):
            shutil.rmtree(outcome["scratch"], ignore_errors=True)

    def runnable(self, step: str) -> list[Cell]:
        out = []
        for cell in (c for c in self.cells if c.step == step):
            if cell.artifact.key in self.broken:
                self.fail(cell, step, f"no artifact: {self.broken[cell.artifact.key]}")
            elif not cached(cell.artifact):
                self.fail(cell, step, "artifact not in the cache and the sweep has no convert step")
            else:
                out.append(cell)
        return out

    def measure(self, step: str, run) -> None:
        """Phase 2 or 3: bench or eval every runnable cell of ``step``; each result is recorded as it comes."""
        self.tick(phase=step)
        started = time.time()
        for cell, outcome in run(self.runnable(step), lambda a: a.path):
            self.timeline.append({"step": step, "what": cell.label, "device": cell.device,
                                  "node": (outcome.get("result") or {}).get("node") or outcome.get("node"),
                                  "started": outcome["started"], "ended": outcome["ended"]})
            if "error" in outcome:
                self.fail(cell, step, outcome["error"])
                continue
            result = dict(outcome["result"])
            env = result.pop("environment", None) or {}
            sidecar = art.read_sidecar(cell.artifact.path) or {}
            if sidecar.get("conversion_warnings"):  # never dropped: in the results and the summary
                result["conversion_warnings"] = sidecar["conversion_warnings"]
            result.update(model=result.get("model") or cell.artifact.model, device=cell.device,
                          sweep={"name": self.sweep.name, "cell": cell.key, "artifact_key": cell.artifact.key,
                                 "executor": self.executor.name, "started": outcome["started"],
                                 "ended": outcome["ended"], "weights": sidecar.get("weights")})
            self.store.record(step, result, env)
            self.tick(done=self.counts["done"] + 1, left=self.counts["left"] - 1)
        self.seconds[step] = round(time.time() - started, 2)

    def summary(self, db_path: str) -> dict:
        sweep = self.sweep
        warnings = [{"model": a.model, "artifact": a.label, "warning": w} for a in sweep.artifacts if cached(a)
                    for w in (art.read_sidecar(a.path) or {}).get("conversion_warnings") or []]
        return {"sweep": sweep.to_dict(), **self.executor.describe(), "db": db_path,
                "cells": len(sweep.cells), "done": self.counts["done"], "failed": len(self.failures),
                "skipped": self.counts["skipped"], "warnings": warnings,
                "artifacts": {"total": len(sweep.artifacts), "converted": len(self.todo) - len(self.broken),
                              "cache_hits": self.hits},
                "seconds": {"total": round(time.time() - self.started, 2), **self.seconds},
                "failures": self.failures, "timeline": self.timeline}
