"""``edgekit regress``: did anything get slower than its baseline, beyond noise and the threshold?

Entry by entry, the rounds' medians (normalised by the reference workload of the same rounds when
both sides have one, with the same file) are compared with an interval of the ratio over sessions
(two-level bootstrap united with Yuen's t-interval, ``compare.stats``). Mismatched entries, another
machine or a changed reference are refused with one line: such a comparison would measure the wrong
thing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.compare import stats
from edgekit.compare.baseline import BaselineError, machine_changes, version_changes


def _series(entry: dict, use_reference: bool) -> list[np.ndarray]:
    """Per session, the rounds' latencies (over the reference's of the same round when normalising)."""
    mine = stats.sessions(entry["result"])
    if not use_reference:
        return mine
    return [stats.normalised(m, r) for m, r in zip(mine, stats.sessions(entry["reference"]))]


def regress(baseline: dict, candidate: dict, threshold: float, confidence: float = 0.95,
            allow_env_change: bool = False, use_reference: bool = True, looks: int = 1,
            origin: dict | None = None, creep: float | None = None) -> dict:
    """Compare a candidate run with its baseline entry by entry: an interval of the latency ratio,
    verdict per entry, machine and version changes.

    ``looks``: how many times a sequential gate may look at the data (``compare.gate``); the error rate is
    spent evenly over them (Bonferroni), so --confidence holds for the whole run however early it stops.
    ``origin`` (the oldest kept baseline, or a pinned release one) is compared too, against ``creep``: a
    series of slowdowns each under the threshold adds up there.
    """
    moved = _comparable(baseline, candidate, threshold, confidence, allow_env_change, origin)
    base = {e["key"]: e for e in baseline["entries"]}
    cand = {e["key"]: e for e in candidate["entries"]}
    # The interval of each entry is widened so that --confidence holds for the whole suite (Bonferroni):
    # ten entries at 95% each would cry wolf in about one run in five.
    # Each decision uses one tail of an interval (regressed: the low end above 1 + threshold; passed: the high
    # end below it), so each tail gets (1 - confidence) / comparisons: at --confidence 95% the chance of a
    # false "regressed", and that of a false pass, are each at most 5% for the run (Bonferroni).
    comparisons = len(base) * (2 if origin else 1) * looks
    per_entry = 1 - 2 * (1 - confidence) / comparisons
    first = {e["key"]: e for e in origin["entries"]} if origin else {}
    rows = []
    for key, b in base.items():
        c = cand[key]
        normalise = use_reference and bool(b.get("reference")) and bool(c.get("reference"))
        rows.append(_row(key, b, c, normalise, per_entry, threshold))
        if origin and first.get(key) is not None:
            rows[-1]["creep"] = _creep(first[key], c, normalise, per_entry, creep, origin.get("created"))
    return {"threshold": threshold, "confidence": confidence, "rows": rows,
            "warnings": busy_warnings(baseline, candidate),
            "regressed": sum(r["verdict"] == "regressed" for r in rows),
            "crept": sum((r.get("creep") or {}).get("verdict") == "crept" for r in rows),
            "inconclusive": sum(r["verdict"] == "inconclusive" or (r.get("creep") or {}).get("verdict") == "inconclusive"
                                for r in rows),
            "creep_threshold": creep if origin else None, "looks": looks,
            "machine_changes": moved,
            "version_changes": version_changes(baseline.get("environment", {}), candidate.get("environment", {})),
            "statistic": "candidate / baseline of the trimmed mean over sessions of each session's median "
                         "round latency" + ("; each round normalised by the reference workload timed in the same "
                                            "round" if any(r["normalised_by"] for r in rows) else "")
                         + "; interval: two-level bootstrap (sessions, then rounds) united with Yuen's trimmed-mean "
                           f"t-interval over sessions; each kind of error at most "
                           f"{1 - confidence:.0%} for the run ({per_entry:.2%} intervals: {comparisons} = entries"
                         + (" x 2 (rolling and oldest baseline)" if origin else "") + f" x {looks} look"
                         + ("s" if looks > 1 else "") + ")"}


def _comparable(baseline: dict, candidate: dict, threshold: float, confidence: float, allow_env_change: bool,
                origin: dict | None) -> list[str]:
    """Refuse (one line) what cannot be compared; returns the machine changes that were allowed."""
    if not 0 < threshold < 1:
        raise BaselineError(f"--threshold must be between 0% and 100%, got {threshold:.0%}")
    if not 0.5 <= confidence < 1:
        raise BaselineError(f"--confidence must be in [0.5, 1), got {confidence}")
    moved = machine_changes(baseline.get("environment", {}), candidate.get("environment", {}))
    if moved and not allow_env_change:
        raise BaselineError("the baseline was taken on another machine (" + "; ".join(moved) +
                            "): timings are not comparable; pass --allow-env-change to compare anyway")
    base = {e["key"] for e in baseline["entries"]}
    cand = {e["key"] for e in candidate["entries"]}
    if not cand:
        raise BaselineError("the candidate run has no entries")
    missing, extra = sorted(base - cand), sorted(cand - base)
    if missing or extra:
        what = "; ".join(filter(None, [f"only in baseline: {', '.join(missing)}" if missing else "",
                                       f"only in candidate: {', '.join(extra)}" if extra else ""]))
        raise BaselineError(f"baseline and candidate entries do not match ({what}): same suite and settings?")
    if origin:
        moved_origin = machine_changes(origin.get("environment", {}), candidate.get("environment", {}))
        if moved_origin and not allow_env_change:
            raise BaselineError("the oldest kept (or pinned) baseline was taken on another machine ("
                                + "; ".join(moved_origin) + "): pass --allow-env-change, or pin a baseline from this one")
    return moved


def _row(key: str, b: dict, c: dict, normalise: bool, per_entry: float, threshold: float) -> dict:
    """One entry's ratio interval and verdict against its baseline."""
    if normalise and b["reference"]["artifact_sha256"] != c["reference"]["artifact_sha256"]:
        raise BaselineError(f"the reference {Path(c['reference']['artifact']).name} changed since the baseline: "
                            f"keep reference files pinned, or pass --no-reference")
    est = stats.ratio_estimate(_series(b, normalise), _series(c, normalise), per_entry)
    return {
        "key": key, "artifact": b["result"]["artifact"],
        "name": b["result"].get("model") or Path(b["result"]["artifact"]).name,
        "format": b["result"].get("format"), "precision": b["result"].get("precision"),
        "runtime": b["result"]["runtime"], "threads": b["result"]["threads"], "device": b["result"]["device"],
        "baseline_ms": b["result"]["median_ms"], "candidate_ms": c["result"]["median_ms"],
        **est.to_dict(), "verdict": stats.verdict(est, threshold),
        "normalised_by": Path(b["reference"]["artifact"]).name if normalise else None,
        "file_changed": b["result"]["artifact_sha256"] != c["result"]["artifact_sha256"],
        "sessions": {"baseline": len(stats.sessions(b["result"])), "candidate": len(stats.sessions(c["result"]))},
    }


def _creep(o: dict, c: dict, normalise: bool, per_entry: float, creep: float | None, since) -> dict:
    """The drift of one entry from the oldest kept (or pinned) baseline."""
    norm = normalise and bool(o.get("reference"))
    if norm and o["reference"]["artifact_sha256"] != c["reference"]["artifact_sha256"]:
        raise BaselineError(f"the reference {Path(c['reference']['artifact']).name} changed since the oldest "
                            f"kept baseline: creep cannot be measured across it; pin a new baseline")
    drift = stats.ratio_estimate(_series(o, norm), _series(c, norm), per_entry)
    return {**drift.to_dict(), "verdict": stats.creep_verdict(drift, creep), "since": since}


def busy_warnings(baseline: dict, candidate: dict) -> list[str]:
    """Runs made while other work loaded the machine: the reference cancels drift, not contention.

    Measured here: with the test suite running beside it, a 0.5 ms int8 model slowed by 65% while
    its reference slowed by 29%, so the gate saw a 28% regression in an unchanged file.
    """
    out = []
    for name, run in (("baseline", baseline), ("candidate", candidate)):
        cores = run.get("environment", {}).get("usable_cores") or 1
        loads = [v for v in (run.get("load") or {}).values() if v is not None]
        # our own worker keeps one core busy: anything well beyond that is someone else
        if loads and max(loads) > 1 + 0.5 * cores:
            out.append(f"the {name} ran on a busy machine (load {max(loads):.1f} on {cores} cores): "
                       f"other work pollutes timings in ways the reference cannot cancel; run the gate alone")
    return out


def markdown(report: dict) -> str:
    """The verdict table as GitHub-flavoured Markdown (for $GITHUB_STEP_SUMMARY)."""
    pct = f"{report['confidence']:.0%}"
    lines = [f"### edgekit regress: {report['regressed']} regressed, {report.get('inconclusive', 0)} inconclusive, "
             f"{report.get('crept', 0)} crept (threshold {report['threshold']:.0%}, {pct} interval)", "",
             f"| entry | runtime | threads | baseline ms | candidate ms | ratio | {pct} interval | sessions | verdict "
             f"| creep |", "|---|---|---|---:|---:|---:|---|---:|---|---|"]
    for r in report["rows"]:
        label = f"{r['name']} {r['format'] or ''} {r['precision'] or ''}".strip()
        creep = r.get("creep") or {}
        lines.append(f"| {label} | {r['runtime']} | {r['threads']} | {r['baseline_ms']:.3f} | {r['candidate_ms']:.3f}"
                     f" | {r['ratio']:.3f} | {r['low']:.3f} - {r['high']:.3f} | "
                     f"{(r.get('sessions') or {}).get('candidate', '')} | {r['verdict']} | "
                     + (f"{creep['ratio']:.3f} {creep['verdict']}" if creep else "") + " |")
    lines += ["", f"Statistic: {report['statistic']}."]
    lines += [f"**Warning:** {w}." for w in report.get("warnings", [])]
    if report["version_changes"]:
        lines.append(f"Versions changed: {', '.join(report['version_changes'])}.")
    return "\n".join(lines) + "\n"
