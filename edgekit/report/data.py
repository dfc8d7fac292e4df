"""What the report shows, picked from the results store: the newest result per artifact and setting."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Point:
    """One artifact under one set of conditions: its latency and, when measured, its accuracy."""
    label: str
    model: str | None
    format: str | None
    precision: str | None
    origin: str | None
    runtime: str
    runtime_version: str
    threads: int
    device: str
    median_ms: float
    statistic: str
    macs_m: float | None = None
    top1: float | None = None  # percent
    data: str | None = None
    count: int | None = None


def label(row: dict) -> str:
    """A short label for a result: model, format-precision, runtime."""
    r = row["result"]
    if r.get("origin") == "google":
        return f"{row['model']} Google int8" if row["precision"] == "int8" else f"{row['model']} Google float"
    if row["model"]:
        return f"{row['model']} {row['format']} {row['precision']}"
    return Path(row["artifact"]).name


def _macs(model: str | None, result: dict) -> float | None:
    """MACs in millions: the sidecar's count when the result carries it (a user's model), else the zoo's."""
    if result.get("macs"):
        return result["macs"] / 1e6
    if not model:
        return None
    from edgekit.errors import UnknownModelError
    from edgekit.zoo.count import count
    from edgekit.zoo.spec import parse_model

    try:
        return count(parse_model(model)).macs / 1e6
    except UnknownModelError:
        return None


def latest(rows: list[dict], key) -> list[dict]:
    """The newest result of each (artifact, runtime, threads, device)."""
    seen, out = set(), []
    for row in rows:  # newest first
        k = key(row)
        if k not in seen:
            seen.add(k)
            out.append(row)
    return out


def main_threads(benches: list[dict]) -> int | None:
    """The thread count most results were measured with: plots compare like with like."""
    counts = Counter((r["threads"], r["device"]) for r in benches)
    return counts.most_common(1)[0][0] if counts else None


def points(benches: list[dict], evals: list[dict]) -> list[Point]:
    """Newest bench per (artifact hash, runtime, threads, device), joined with the newest eval of that file."""
    accuracy = {}
    for row in latest(evals, lambda r: r["artifact_sha256"]):
        r = row["result"]
        trained = r.get("weights") not in (None, "none") or r.get("origin") == "google"
        if trained:
            accuracy[row["artifact_sha256"]] = (100 * row["value"], Path(r.get("data", "?")).name, r.get("count"))
    out = []
    macs_cache: dict = {}
    for row in latest(benches, lambda r: (r["artifact_sha256"], r["runtime"], r["threads"], r["device"])):
        if row["result"].get("format") == "tflite-edgetpu":
            continue
        if row["model"] not in macs_cache:
            macs_cache[row["model"]] = _macs(row["model"], row["result"])
        top1, data, count = accuracy.get(row["artifact_sha256"], (None, None, None))
        out.append(Point(label(row), row["model"], row["format"], row["precision"], row["result"].get("origin"),
                         row["runtime"], row["runtime_version"] or "", row["threads"], row["device"], row["value"],
                         row["result"].get("statistic", ""), macs_cache[row["model"]], top1, data, count))
    return out


def pareto(pts: list[Point]) -> list[Point]:
    """Points no other point beats on both latency (lower) and top-1 (higher), fastest first."""
    ranked = sorted((p for p in pts if p.top1 is not None), key=lambda p: (p.median_ms, -p.top1))
    front, best = [], float("-inf")
    for p in ranked:
        if p.top1 > best:
            front.append(p)
            best = p.top1
    return front


def speedups(pts: list[Point]) -> list[dict]:
    """float / int8 latency for every model exported in both, per runtime (ours only, same conditions)."""
    by = {}
    for p in pts:
        if p.origin == "edgekit" and p.precision in ("float", "int8"):
            by.setdefault((p.model, p.runtime, p.threads, p.device), {})[p.precision] = p
    out = []
    for (model, runtime, threads, device), pair in sorted(by.items()):
        if len(pair) == 2:
            out.append({"model": model, "runtime": runtime, "threads": threads, "device": device,
                        "float_ms": pair["float"].median_ms, "int8_ms": pair["int8"].median_ms,
                        "speedup": pair["float"].median_ms / pair["int8"].median_ms})
    return out
