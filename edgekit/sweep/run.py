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
    started = time.time()
    counts = {"done": 0, "failed": 0, "skipped": 0, "left": len(sweep.cells), "phase": "plan"}
    failures: list[dict] = []
    timeline: list[dict] = []

    def tick(**change) -> None:
        counts.update(change)
        if progress:
            progress(dict(counts))

    with ResultsStore(db) as store:
        cells = sweep.cells
        if resume:
            seen = done_keys(store)
            cells = [c for c in sweep.cells if c.key not in seen]
            counts["skipped"] = len(sweep.cells) - len(cells)
            counts["left"] = len(cells)
        needed = {c.artifact.key for c in cells} | ({a.key for a in sweep.artifacts} if "convert" in sweep.steps else set())
        todo = [a for a in sweep.artifacts if a.key in needed and not cached(a)]
        hits = sum(1 for a in sweep.artifacts if a.key in needed and cached(a))
        broken: dict[str, str] = {}

        def fail(cell: Cell | None, step: str, error: str, artifact: Artifact | None = None) -> None:
            entry = {"step": step, "cell": cell.label if cell else artifact.label, "error": error}
            failures.append(entry)
            target = cell.artifact if cell else artifact
            store.record("failure", {"artifact": str(target.path), "model": target.model, "format": target.format,
                                     "precision": target.precision, "device": cell.device if cell else None,
                                     "threads": cell.threads if cell else None, **entry,
                                     "sweep": {"name": sweep.name, "cell": cell.key if cell else target.key}}, {})

        # 1. conversions: CPU work, in parallel; nothing is timed meanwhile
        tick(phase="convert")
        convert_started = time.time()
        if "convert" in sweep.steps or todo:
            jobs: dict[tuple[str, str], dict] = {}
            for a in todo:
                job = jobs.setdefault((a.model, a.weights), {"model": a.model, "weights": a.weights, "pairs": [],
                                                             "convert": sweep.convert, "artifacts": []})
                job["pairs"].append((a.format, a.precision))
                job["artifacts"].append(a)
            for job, outcome in executor.converts(list(jobs.values())):
                timeline.append({"step": "convert", "what": job["model"], "node": outcome.get("node"),
                                 "started": outcome["started"], "ended": outcome["ended"]})
                for a in job["artifacts"]:
                    got = (outcome.get("artifacts") or {}).get(f"{a.format}-{a.precision}")
                    if "error" in outcome or got is None:
                        broken[a.key] = outcome.get("error", "the converter made no such artifact")
                        fail(None, "convert", broken[a.key], artifact=a)
                        continue
                    data = got["bytes"] if "bytes" in got else Path(got["path"]).read_bytes()
                    # the converter's warnings stay with the artifact: a cache hit reports them again
                    mine = [w for w in outcome.get("warnings") or []  # a parity warning names its own artifact
                            if "parity floor" not in w or w.startswith(f"{a.format}-{a.precision}.")]
                    _file(a, data, {**got["sidecar"], "conversion_warnings": mine})
                if outcome.get("scratch"):
                    shutil.rmtree(outcome["scratch"], ignore_errors=True)
                tick()
        convert_seconds = time.time() - convert_started

        def runnable(step: str) -> list[Cell]:
            out = []
            for cell in (c for c in cells if c.step == step):
                if cell.artifact.key in broken:
                    fail(cell, step, f"no artifact: {broken[cell.artifact.key]}")
                    tick(failed=counts["failed"] + 1, left=counts["left"] - 1)
                elif not cached(cell.artifact):
                    fail(cell, step, "artifact not in the cache and the sweep has no convert step")
                    tick(failed=counts["failed"] + 1, left=counts["left"] - 1)
                else:
                    out.append(cell)
            return out

        phase_seconds = {}
        for step, run in (("bench", executor.benches), ("eval", executor.evals)):
            tick(phase=step)
            t0 = time.time()
            for cell, outcome in run(runnable(step), lambda a: a.path):
                timeline.append({"step": step, "what": cell.label, "device": cell.device,
                                 "node": (outcome.get("result") or {}).get("node") or outcome.get("node"),
                                 "started": outcome["started"], "ended": outcome["ended"]})
                if "error" in outcome:
                    fail(cell, step, outcome["error"])
                    tick(failed=counts["failed"] + 1, left=counts["left"] - 1)
                    continue
                result = dict(outcome["result"])
                env = result.pop("environment", None) or {}
                sidecar = art.read_sidecar(cell.artifact.path) or {}
                if sidecar.get("conversion_warnings"):  # never dropped: in the results and the summary
                    result["conversion_warnings"] = sidecar["conversion_warnings"]
                result.update(model=result.get("model") or cell.artifact.model, device=cell.device,
                              sweep={"name": sweep.name, "cell": cell.key, "artifact_key": cell.artifact.key,
                                     "executor": executor.name, "started": outcome["started"],
                                     "ended": outcome["ended"], "weights": sidecar.get("weights")})
                store.record(step, result, env)
                tick(done=counts["done"] + 1, left=counts["left"] - 1)
            phase_seconds[step] = round(time.time() - t0, 2)
        db_path = str(store.path)
    tick(phase="done")
    warnings = [{"model": a.model, "artifact": a.label, "warning": w} for a in sweep.artifacts if cached(a)
                for w in (art.read_sidecar(a.path) or {}).get("conversion_warnings") or []]
    return {"sweep": sweep.to_dict(), **executor.describe(), "db": db_path,
            "cells": len(sweep.cells), "done": counts["done"], "failed": len(failures), "skipped": counts["skipped"],
            "warnings": warnings,
            "artifacts": {"total": len(sweep.artifacts), "converted": len(todo) - len(broken), "cache_hits": hits},
            "seconds": {"total": round(time.time() - started, 2), "convert": round(convert_seconds, 2), **phase_seconds},
            "failures": failures, "timeline": timeline}
