"""The work of one cell, as plain functions an executor can ship anywhere (a process pool, a Ray node).

Each takes and returns plain data, never raises for a cell's own failure (the error comes back as
``{"error": ...}`` so the sweep goes on), and records when it started and ended: the timeline
that shows a device was never shared by two benchmarks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from edgekit.errors import describe_failure


def _failed(exc: BaseException, context: str) -> str:
    """One line: a user error as it is, a bug named as one with its traceback logged (``errors.describe_failure``)."""
    return describe_failure(exc, context)


def convert_model(model: str, weights: str, pairs: list[tuple[str, str]], convert: dict,
                  want_bytes: bool = False) -> dict:
    """Export ``pairs`` of ``model``; returns {"fmt-precision": {"sidecar", "path" | "bytes"}} or an error.

    Written into a scratch folder; the caller files each artifact under its content address.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from edgekit.export.convert import ConvertOptions, convert as run
    from edgekit.zoo.user import is_model_path
    from edgekit.vocab import DEFAULT_CHECK_COUNT, DEFAULT_PTQ

    started = time.time()
    warnings: list[str] = []  # the converter's warnings travel back with the outcome
    scratch = tempfile.mkdtemp(prefix="edgekit-sweep-")
    try:
        opts = ConvertOptions.build(model, weights=weights, precisions=tuple(sorted({p for _, p in pairs})), formats=tuple(sorted({f for f, _ in pairs})),
                              calib=convert.get("calib"), calib_count=convert.get("calib_count", 100),
                              check_count=convert.get("check_count", DEFAULT_CHECK_COUNT), ptq=convert.get("ptq", DEFAULT_PTQ),
                              preprocess=convert.get("preprocess") if is_model_path(model) else None,
                              out=scratch, warn=warnings.append)
        sidecars = run(opts)
        for sidecar in sidecars:
            if sidecar["parity"].get("passed") is False:
                warnings.append(f"{sidecar['artifact']} is below its parity floor: {', '.join(sidecar['parity']['failed'])}")
        out = {}
        for sidecar in sidecars:
            name = f"{sidecar['format']}-{sidecar['precision']}"
            if (sidecar["format"], sidecar["precision"]) not in set(map(tuple, pairs)):
                continue
            path = Path(sidecar["path"])
            out[name] = {"sidecar": sidecar.to_dict(), "bytes": path.read_bytes()} if want_bytes else \
                        {"sidecar": sidecar.to_dict(), "path": str(path)}
        return {"artifacts": out, "scratch": None if want_bytes else scratch, "started": started,
                "ended": time.time(), "warnings": warnings}
    except Exception as exc:  # one model failing must not stop the sweep
        shutil.rmtree(scratch, ignore_errors=True)
        return {"error": _failed(exc, f"converting {model}"), "started": started, "ended": time.time(),
                "warnings": warnings}
    finally:
        if want_bytes:
            shutil.rmtree(scratch, ignore_errors=True)


def bench_artifact(path: str, device: str, threads: int, bench: dict) -> dict:
    """Time one artifact on ``device`` (the caller guarantees the device is ours alone meanwhile)."""
    from edgekit.measure.bench import BenchOptions, bench as run

    started = time.time()
    try:
        opts = BenchOptions.build(device=device, threads=threads, **bench)
        results, errors = run([Path(path)], opts)
        if errors or not results:
            return {"error": "; ".join(errors) or "no result", "started": started, "ended": time.time()}
        return {"result": results[0], "started": started, "ended": time.time()}
    except Exception as exc:
        return {"error": _failed(exc, f"benchmarking {path}"), "started": started, "ended": time.time()}


def eval_artifact(path: str, data: str, limit: int | None = None) -> dict:
    """Evaluate one artifact on the sweep's data set."""
    from edgekit.measure.evaluate import evaluate

    started = time.time()
    try:
        result = evaluate(path, data, limit=limit)
        return {"result": {**result, "device": "host"}, "started": started, "ended": time.time()}
    except Exception as exc:
        return {"error": _failed(exc, f"evaluating {path}"), "started": started, "ended": time.time()}
