"""Baselines for ``edgekit regress``: every timing sample of a suite run, with its conditions.

A baseline is one JSON file: the environment fingerprint, how the suite was run, and per entry
the artifact's hash and *all* samples with their round boundaries, plus the same for the pinned
reference workload timed in the same rounds. Entries are keyed by artifact path and run settings,
not by file hash: a changed model file under the same entry is exactly what regress compares.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.files import write_atomic

FORMAT_VERSION = 2  # 2: built-in references per kind, origin (the oldest kept baseline) for creep
READABLE = (1, 2)  # a version-1 baseline is read as it is: it has one reference or none, and no origin
# Fingerprint fields that make timings incomparable when they differ (versions may change: that is the test).
MACHINE_FIELDS = ("cpu", "cpu_id", "cpu_features", "machine", "cores", "usable_cores")


class BaselineError(EdgekitError):
    """A baseline that cannot be read or does not match what it is compared with."""


def entry_key(result: dict) -> str:
    """The key that pairs a baseline entry with its candidate: model, format, precision, threads and artifact name."""
    options = json.dumps(result.get("options") or {}, sort_keys=True)
    return (f"{result['artifact']} | {result['runtime']} | threads {result['threads']} | batch {result['batch']}"
            f" | {result['device']} | {options}")


def slim(result: dict) -> dict:
    """The result without its environment (stored once per baseline)."""
    return {k: v for k, v in result.items() if k != "environment"}


def merge_sessions(parts: list[dict]) -> dict:
    """Several sessions of one artifact as one result: samples and rounds concatenated, sessions marked."""
    from edgekit.measure.latency import summarize

    merged = dict(parts[0])
    merged["samples_ms"] = [x for p in parts for x in p["samples_ms"]]
    merged["round_sizes"] = [n for p in parts for n in p["round_sizes"]]
    merged["round_medians_ms"] = [m for p in parts for m in p["round_medians_ms"]]
    merged["session_rounds"] = [len(p["round_sizes"]) for p in parts]
    merged["session_medians_ms"] = [p["median_ms"] for p in parts]
    merged.update(summarize(merged["samples_ms"], merged.get("batch", 1)))
    merged["statistic"] = (f"median of {merged['runs']} runs in {len(parts)} sessions (fresh worker processes) x "
                           f"{len(parts[0]['round_sizes'])} interleaved rounds after {merged.get('warmup')} warm-ups")
    return merged


def make_baseline(entries: list[dict], environment: dict, how: dict) -> dict:
    """A baseline file's content: the run description, its measured entries and the machine's fingerprint."""
    return {"edgekit_baseline": FORMAT_VERSION, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "environment": environment, "run": how, "entries": entries}


def save(path: str | Path, baseline: dict) -> Path:
    """Write a baseline (every timing sample, the run description, the fingerprint) atomically to ``path``.

    Artifact paths are stored absolute, with the folder the baseline was saved in (``saved_in``): a baseline
    moved together with its artifacts (a CI cache restored elsewhere) is re-rooted when it is read."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BaselineError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
    write_atomic(path, (json.dumps({**baseline, "saved_in": str(path.parent.resolve())}, indent=1) + "\n").encode())
    return path


def _artifact_paths(data: dict) -> list[str]:
    """Every artifact path a baseline names: the run's artifacts and references, and each entry's."""
    run = data.get("run") or {}
    paths = [*(run.get("artifacts") or []), *([run["reference"]] if run.get("reference") else []),
             *(ref["path"] for ref in (run.get("references") or {}).values())]
    for entry in data["entries"]:
        paths += [part["artifact"] for part in (entry["result"], entry.get("reference")) if part]
    return [p for p in dict.fromkeys(paths) if isinstance(p, str) and os.path.isabs(p)]


def _rerooted(data: dict, path: Path) -> dict:
    """``data`` with its paths moved along with it: when the baseline now lies elsewhere than where it was saved
    (``saved_in``) and its artifacts are gone from their old place, each path keeps its place relative to the
    baseline (a CI cache restored in another checkout), if the file is there."""
    old, new = data.get("saved_in"), str(path.parent.resolve())
    paths = _artifact_paths(data)
    if not old or old == new or not paths or all(Path(p).exists() for p in paths):
        return data
    moves = {p: os.path.normpath(os.path.join(new, os.path.relpath(p, old))) for p in paths}
    if not all(Path(target).exists() for target in moves.values()):
        return data
    text = json.dumps(data)
    for before, after in sorted(moves.items(), key=lambda m: -len(m[0])):
        text = text.replace(json.dumps(before)[1:-1], json.dumps(after)[1:-1])
    moved = json.loads(text)
    moved["saved_in"] = new
    return moved


MIN_SAMPLES = 2  # timed runs an entry (and its reference) must carry for any interval
MAX_MS = 3.6e6  # an hour per run: beyond it a "latency" is a unit error or garbage


def _positive(value) -> bool:
    """A real, finite, positive number (not a bool, not NaN, not infinite, not absurd)."""
    import math

    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and 0 < value < MAX_MS)


def _check_part(part: dict, where: str, key: str, name: str) -> None:
    """Every number that enters a statistic: samples finite and positive, rounds and sessions that add up."""
    samples, sizes = part.get("samples_ms"), part.get("round_sizes")
    field = f"{where}: entry {key!r}, {name}"
    if not (isinstance(samples, list) and len(samples) >= MIN_SAMPLES):
        raise BaselineError(f"{field}.samples_ms: needs at least {MIN_SAMPLES} timing samples")
    bad = [(i, v) for i, v in enumerate(samples) if not _positive(v)]
    if bad:
        i, v = bad[0]
        raise BaselineError(f"{field}.samples_ms[{i}] is {v!r}: latencies must be finite, positive milliseconds "
                            f"({len(bad)} such values); the file is damaged or not edgekit's")
    if not (isinstance(sizes, list) and sizes and all(isinstance(n, int) and not isinstance(n, bool) and n > 0
                                                      for n in sizes) and sum(sizes) == len(samples)):
        raise BaselineError(f"{field}.round_sizes must be positive whole numbers adding up to the "
                            f"{len(samples)} samples")
    rounds = part.get("session_rounds")
    if rounds is not None and not (isinstance(rounds, list) and all(isinstance(n, int) and n > 0 for n in rounds)
                                   and sum(rounds) == len(sizes)):
        raise BaselineError(f"{field}.session_rounds must be positive whole numbers adding up to the {len(sizes)} rounds")
    if "median_ms" in part and not _positive(part["median_ms"]):
        raise BaselineError(f"{field}.median_ms is {part['median_ms']!r}: not a finite, positive latency")
    if not isinstance(part.get("artifact"), str) or not part["artifact"]:
        raise BaselineError(f"{field}.artifact: missing")


def _check_entry(entry, where: str) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or not isinstance(entry.get("result"), dict):
        raise BaselineError(f"{where}: an entry lacks its key or result")
    _check_part(entry["result"], where, entry["key"], "result")
    if entry.get("reference") is not None:
        if not isinstance(entry["reference"], dict):
            raise BaselineError(f"{where}: entry {entry['key']!r}, reference: not a timed result")
        _check_part(entry["reference"], where, entry["key"], "reference")


def load(path: str | Path) -> dict:
    """Read a baseline file; a missing, unreadable or foreign file is one line of BaselineError."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"baseline not found: {path}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BaselineError(f"{path} is not a readable baseline (corrupt or truncated JSON: {exc})") from None
    if not isinstance(data, dict) or "edgekit_baseline" not in data:
        raise BaselineError(f"{path} is not an edgekit baseline (make one with 'edgekit bench --save-baseline')")
    if data["edgekit_baseline"] not in READABLE:
        raise BaselineError(f"{path}: baseline format {data['edgekit_baseline']} is not one this edgekit reads "
                            f"({', '.join(map(str, READABLE))}): take a new baseline with 'edgekit bench --save-baseline'")
    entries = data.get("entries")
    if not isinstance(entries, list) or not entries:
        raise BaselineError(f"{path}: the baseline has no entries")
    for entry in entries:
        _check_entry(entry, str(path))
    origin = data.get("origin")
    if origin is not None:  # the oldest kept baseline rides along for creep: as checked as the baseline itself
        if not isinstance(origin, dict) or not isinstance(origin.get("entries"), list) or not origin["entries"]:
            raise BaselineError(f"{path}: origin (the oldest kept baseline) has no entries")
        for entry in origin["entries"]:
            _check_entry(entry, f"{path} (origin)")
    return _rerooted(data, path)


def machine_changes(before: dict, after: dict) -> list[str]:
    """Machine fields that differ; a field one side does not record (an older baseline) is not compared."""
    return [f"{k}: {before.get(k)!r} -> {after.get(k)!r}" for k in MACHINE_FIELDS
            if k in before and k in after and before[k] != after[k]]


def version_changes(before: dict, after: dict) -> list[str]:
    """Packages whose versions differ between two fingerprints, as 'name a -> b' strings."""
    old, new = before.get("packages", {}), after.get("packages", {})
    return [f"{k} {old.get(k)} -> {new.get(k)}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def descend(parent: dict, candidate: dict) -> dict:
    """``candidate`` as the next rolling baseline: it keeps the oldest baseline of the line (``origin``, for
    creep) and a short history of every baseline's per-entry medians."""
    origin = parent.get("origin") or {k: v for k, v in parent.items() if k not in ("origin", "history")}
    history = list(parent.get("history") or []) + [{
        "created": parent.get("created"),
        "medians_ms": {e["key"]: e["result"].get("median_ms") for e in parent["entries"]}}]
    return {**candidate, "run": parent["run"], "origin": origin, "history": history[-50:]}
