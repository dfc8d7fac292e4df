"""Latency you can predict: fit the kernel-level latency model on a device, estimate variants, pick by budget.

``fit_suite`` converts a suite of zoo variants (seeded random weights: latency does not depend on the values;
float and int8, TFLite and ONNX; made once in ``work``), profiles each on the device (``measure.ledger``, locally
or over SSH as bench does) and times them all in one interleaved bench session; the ledger's segment shares of
each bench median are the kernels' times. It fits ``measure.estimate``'s model per runtime and precision on the
training variants and validates it against the bench medians of the held-out ones. The split is fixed before fitting: by default every variant at 160 and
192 px is held out, the fit sees 128 and 224 only.

``estimate`` predicts from ``zoo.arch`` alone (no conversion); ``pick`` walks the zoo's width x resolution grid of
the families asked for, estimates each variant and keeps the accuracy/latency Pareto front under a budget, with
the papers' top-1 (``zoo/published.toml``) where published.
"""

from __future__ import annotations

import re
import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from edgekit import vocab
from edgekit.errors import EdgekitError

SUITE = [f"{family}-{alpha}-{res}" for family, alphas in
         (("v1", ("0.25", "0.5", "1.0")), ("v2", ("0.35", "0.75", "1.0", "1.4")), ("v3-small", ("0.75", "1.0")),
          ("v3-large", ("0.75", "1.0")))
         for alpha in alphas for res in (128, 160, 192, 224)]
HOLD_OUT = vocab.LATENCY_HOLD_OUT
RUNTIMES = vocab.FORMAT_RUNTIME  # format -> runtime
PICK_FAMILIES = {"v1": ("v1",), "v2": ("v2",), "v3": ("v3-small", "v3-large"), "v3-small": ("v3-small",),
                 "v3-large": ("v3-large",)}


def suite_artifacts(models: list[str], work: Path, calib: str | None, calib_count: int = 16,
                    progress: Callable | None = None) -> dict[str, dict[tuple[str, str], Path]]:
    """{model: {(format, precision): path}}, converting what ``work`` does not hold yet."""
    from edgekit.zoo.spec import parse_model

    out = {}
    for text in models:
        spec = parse_model(text)
        folder = work / spec.name
        files = {(fmt, p): folder / f"{fmt}-{p}.{fmt}" for fmt in RUNTIMES for p in ("float", "int8")}
        if not all(f.is_file() for f in files.values()):
            if calib is None:
                raise EdgekitError(f"estimate --fit converts the suite's variants to int8 ({spec.name} is not in "
                                   f"{work} yet): give --calib DIR, a folder of images")
            from edgekit.export.convert import ConvertOptions, convert

            if progress:
                progress(f"converting {spec.name}")
            convert(ConvertOptions.build(spec.name, weights="none", ptq="minmax", precisions=("float", "int8"),
                                         formats=("tflite", "onnx"), calib=calib, calib_count=calib_count,
                                         out=str(work)))
        out[spec.name] = files
    return out


def fit_suite(*, device: str = "host", host: str | None = None, threads: int = 1, models: list[str] | None = None,
              hold_out: tuple[int, ...] = HOLD_OUT, work: str | Path = vocab.LATENCY_WORK, calib: str | None = None,
              runs: int = 10, rounds: int = 2, roofs: Path | None = None,
              progress: Callable | None = None) -> tuple[list[dict], list[dict]]:
    """Profile the suite on ``device``; return (fits per runtime and precision, the ledgers' sums)."""
    from edgekit.measure.estimate import arch_segments, errors, fit, fit_key, ledger_segment_times, predict
    from edgekit.measure.ledger import ProfileOptions, profile
    from edgekit.zoo import arch
    from edgekit.zoo.spec import parse_model

    models = list(models or SUITE)
    specs = {parse_model(m).name: parse_model(m) for m in models}
    train = [n for n, s in specs.items() if s.resolution not in hold_out]
    held = [n for n, s in specs.items() if s.resolution in hold_out]
    if not train or not held:
        raise EdgekitError(f"estimate --fit: the split (--hold-out {','.join(map(str, hold_out))}) leaves "
                           f"{len(train)} variant(s) to fit and {len(held)} to validate: both need one or more")
    artifacts = suite_artifacts(models, Path(work), calib, progress=progress)
    ledgers = {}
    for name, files in artifacts.items():
        if progress:
            progress(f"profiling {name} on {device}")
        for (fmt, precision), path in files.items():
            lg = profile([path], ProfileOptions(device=device, host=host, threads=threads, runs=runs, rounds=rounds,
                                                roofs=roofs))[0]
            ledgers[(name, fmt, precision)] = lg
    # The truth to fit and validate on is bench's: every artifact in one interleaved session (its own worker, warm,
    # rounds interleaved). A profile's whole-model median shares a process with hundreds of one-op models and ran
    # up to a third over bench's on the small variants here.
    from edgekit.measure.bench import BenchOptions, bench

    if progress:
        progress(f"timing the suite's {len(ledgers)} artifacts on {device} in one interleaved bench session")
    keys = {str(artifacts[n][(fmt, p)]): (n, fmt, p) for (n, fmt, p) in ledgers}
    timed, failed = bench([Path(k) for k in keys], BenchOptions.build(device=device, host=host, threads=threads,
                                                                     runs=runs, rounds=rounds, min_time=0.2))
    if failed:
        raise EdgekitError("; ".join(failed))
    benched = {keys[str(r["artifact"])]: r for r in timed}
    bench_statistic = timed[0]["statistic"]
    sums = [{"model": n, "runtime": lg["runtime"], "precision": p, "whole_ms": lg["whole_ms"],
             "bench_ms": benched[(n, fmt, p)]["median_ms"],
             "measured_sum_ms": lg["measured_sum_ms"], "measured_gap_pct": lg["measured_gap_pct"],
             "profiler_gap_pct": lg.get("profiler_gap_pct"), "sum_ms": lg["sum_ms"], "gap_pct": lg["gap_pct"]}
            for (n, fmt, p), lg in ledgers.items()]
    fits = []
    segments = {n: arch_segments(arch.layers(specs[n])) for n in specs}
    for fmt, runtime in RUNTIMES.items():
        for precision in ("float", "int8"):
            examples, skipped = [], []
            for n in train:
                times = ledger_segment_times(ledgers[(n, fmt, precision)])
                if len(times) != len(segments[n]):
                    skipped.append(n)
                    continue
                scale = benched[(n, fmt, precision)]["median_ms"] / (sum(times) or 1.0)  # the ledger's shares of bench's
                examples.append((segments[n], [t * scale for t in times]))
            if not examples:
                raise EdgekitError(f"no {runtime} {precision} ledger lined up with its architecture table")
            model_fit = fit(examples)
            kept = [n for n in train if n not in skipped]
            first = ledgers[(train[0], fmt, precision)]

            def rows(names):
                return [{"model": n, "measured_ms": benched[(n, fmt, precision)]["median_ms"],
                         "spread_pct": benched[(n, fmt, precision)].get("spread_pct"),
                         "estimated_ms": predict(model_fit, segments[n])} for n in names]

            env = first.get("environment") or {}
            validation, training = rows(held), rows(kept)
            fits.append({**model_fit, "key": fit_key(first["device"], runtime, precision, threads),
                         "device": first["device"], "runtime": runtime, "runtime_version": first["runtime_version"],
                         "precision": precision, "threads": threads, "cpu": env.get("cpu"), "cpu_id": env.get("cpu_id"),
                         "cpu_features": env.get("cpu_features"), "trained_on": kept,
                         "skipped": skipped, "held_out": held, "split": f"held out: every variant at "
                         f"{', '.join(map(str, hold_out))} px", "validation": {**errors(validation), "rows": validation},
                         "training": {**errors(training), "rows": training},
                         # the measured segment times themselves: a later edgekit with other features refits from
                         # them (``refit``) instead of profiling the suite again
                         "examples": [{"model": n, "segment_ms": [round(t, 6) for t in ex[1]]}
                                      for n, ex in zip(kept, examples)],
                         "statistic": f"measured = bench medians, the suite in one interleaved session "
                                      f"({bench_statistic}); segment shares from profile ledgers ({runs} runs x "
                                      f"{rounds} rounds per op)",
                         "fitted": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    return fits, sums


def refit(stored: dict) -> dict:
    """A stored fit refitted on its own measured segment times under this edgekit's features (``measure.estimate``
    COLUMNS), its validation recomputed against the same bench medians. Raises when the fit kept no examples."""
    from edgekit.measure.estimate import arch_segments, errors, fit, predict
    from edgekit.zoo import arch
    from edgekit.zoo.spec import parse_model

    if not stored.get("examples"):
        raise EdgekitError(f"the latency fit for {stored.get('device')} ({stored.get('runtime')} "
                           f"{stored.get('precision')}) was made by an older edgekit with other features and kept no "
                           f"ledgers to refit from: fit it again with 'edgekit estimate --fit --device "
                           f"{stored.get('device')} --calib DIR'")
    segments = {}
    for name in [e["model"] for e in stored["examples"]] + [r["model"] for r in stored["validation"]["rows"]]:
        segments[name] = arch_segments(arch.layers(parse_model(name)))
    examples = []
    for e in stored["examples"]:
        if len(e["segment_ms"]) != len(segments[e["model"]]):
            raise EdgekitError(f"the stored ledger of {e['model']} no longer lines up with its architecture table: "
                               f"fit again with 'edgekit estimate --fit --device {stored.get('device')} --calib DIR'")
        examples.append((segments[e["model"]], e["segment_ms"]))
    model_fit = fit(examples)
    out = {**stored, **model_fit, "refitted": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    for part in ("validation", "training"):
        rows = [{**r, "estimated_ms": predict(model_fit, segments[r["model"]])} for r in stored[part]["rows"]
                if r["model"] in segments]
        out[part] = {**errors(rows), "rows": rows}
    return out


def zoo_variants(models: list[str]) -> list:
    """The zoo specs of ``models``; a file or a name the zoo does not know is one clear error."""
    from edgekit.zoo.spec import parse_model

    specs = []
    for text in models:
        if Path(text).suffix.lower() in (".tflite", ".onnx", ".keras", ".h5") or Path(text).is_file():
            raise EdgekitError(f"estimate predicts zoo variants from their architecture ('v2-0.75-160'), not files "
                               f"({text}): bench or profile a file")
        specs.append(parse_model(text))
    return specs


def estimate(models: list[str], fit: dict) -> list[dict]:
    """Estimated latency of zoo variants under one fit, from their architecture tables."""
    from edgekit.measure.estimate import arch_segments, predict
    from edgekit.zoo import arch
    from edgekit.zoo.count import count

    out = []
    for spec in zoo_variants(models):
        counted = count(spec)
        out.append({"model": spec.name, "estimated_ms": predict(fit, arch_segments(arch.layers(spec))),
                    "macs": counted.macs, "params": counted.params_folded, "estimate": True})
    return out


_BUDGET = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*(ms|us|µs|s)?\s*$", re.IGNORECASE)


def parse_budget(text: str) -> float:
    """'5ms', '0.8 ms', '2500us', '0.01s' or a bare number of ms -> milliseconds."""
    match = _BUDGET.match(str(text))
    if not match:
        raise EdgekitError(f"--budget '{text}' is not a latency: give a number with ms, us or s (e.g. 5ms)")
    value = float(match.group(1)) * {"ms": 1.0, "us": 1e-3, "µs": 1e-3, "s": 1e3}[(match.group(2) or "ms").lower()]
    if value <= 0:
        raise EdgekitError(f"--budget '{text}' is impossible: a latency budget must be more than zero")
    return value


def pick_families(text: str | None) -> list[str]:
    from edgekit.zoo.families import FAMILIES

    names = [t.strip() for t in (text or "v1,v2,v3").split(",") if t.strip()]
    out = []
    for name in names:
        if name not in PICK_FAMILIES:
            known = sorted(PICK_FAMILIES)
            hint = " (in the zoo, but pick walks the papers' width x resolution grids)" if name in FAMILIES else ""
            raise EdgekitError(f"--family '{name}' is not one pick can walk{hint}: choose from {', '.join(known)}")
        out += [f for f in PICK_FAMILIES[name] if f not in out]
    return out


def pick(families: list[str], budget_ms: float, fit: dict) -> dict:
    """The Pareto front (top-1 up, latency down) of the families' variants under ``budget_ms``."""
    from edgekit.zoo.published import rows_for
    from edgekit.zoo.spec import zoo_specs

    names = [s.name for f in families for s in zoo_specs(f) if not s.minimalistic]
    rows = estimate(names, fit)
    for r in rows:
        published = [p for p in rows_for(r["model"]) if p.precision == "float" and p.values.get("top1") is not None]
        r["top1"] = published[0].values["top1"] if published else None
        r["top1_source"] = (", ".join(x for x in (published[0].source, published[0].where) if x)
                            if published else None)
    under = [r for r in rows if r["estimated_ms"] <= budget_ms]
    if not under:
        fastest = min(rows, key=lambda r: r["estimated_ms"])
        raise EdgekitError(f"--budget {budget_ms:g} ms is impossible on {fit['device']} ({fit['runtime']} "
                           f"{fit['precision']}): the fastest variant, {fastest['model']}, is estimated at "
                           f"{fastest['estimated_ms']:.2f} ms")
    scored = sorted((r for r in under if r["top1"] is not None), key=lambda r: (r["estimated_ms"], -r["top1"]))
    front, best = [], -1.0
    for r in scored:
        if r["top1"] > best:
            front.append(r)
            best = r["top1"]
    for r in rows:
        r["on_front"] = r in front
        r["under_budget"] = r["estimated_ms"] <= budget_ms
    return {"budget_ms": budget_ms, "families": families, "front": front, "variants": rows,
            "unpublished_under_budget": [r["model"] for r in under if r["top1"] is None]}


def verify_front(picked: dict, *, device: str = "host", host: str | None = None, threads: int = 1,
                 calib: str | None = None, work: str | Path = vocab.LATENCY_WORK, runs: int = 30, rounds: int = 3,
                 progress: Callable | None = None) -> dict:
    """Check a pick against the device: the front's variants converted (seeded random weights, the converters' own
    rounding, made once in ``work``; the fit's suite is reused) and benched in one interleaved session on the
    device the fit is for. Each front row gets its measured median, the estimate's error and whether the
    measurement is under the budget; ``picked["verified"]`` carries the conditions."""
    from edgekit.measure.bench import BenchOptions, bench
    from edgekit.zoo.spec import parse_model

    fit = picked["fit"]
    fmt = next(f for f, r in RUNTIMES.items() if r == fit["runtime"])
    precision = fit["precision"]
    paths = {}
    for row in picked["front"]:
        spec = parse_model(row["model"])
        path = Path(work) / spec.name / f"{fmt}-{precision}.{fmt}"
        if not path.is_file():
            if calib is None and precision != "float":
                raise EdgekitError(f"pick --verify converts {spec.name} to {precision} ({path} is not there yet): give "
                                   f"--calib DIR, a folder of images")
            from edgekit.export.convert import ConvertOptions, convert

            if progress:
                progress(f"converting {spec.name} ({fmt} {precision})")
            convert(ConvertOptions.build(spec.name, weights="none", ptq="minmax", precisions=(precision,),
                                         formats=(fmt,), calib=calib, calib_count=16, check_count=4, out=str(work)))
        paths[str(path)] = row
    if progress:
        progress(f"timing the {len(paths)} picked variant(s) on {device} in one interleaved bench session")
    timed, failed = bench([Path(p) for p in paths], BenchOptions.build(device=device, host=host, threads=threads,
                                                                      runs=runs, rounds=rounds, min_time=0.2))
    if failed:
        raise EdgekitError("; ".join(failed))
    for r in timed:
        row = paths[str(r["artifact"])]
        row["measured_ms"] = r["median_ms"]
        row["spread_pct"] = r.get("spread_pct")
        row["error_pct"] = 100 * (row["estimated_ms"] / r["median_ms"] - 1)
        row["measured_under_budget"] = r["median_ms"] <= picked["budget_ms"]
    errs = [abs(r["error_pct"]) for r in picked["front"] if "error_pct" in r]
    first = timed[0]
    picked["verified"] = {
        "device": first.get("device"), "runtime": f"{first['runtime']} {first['runtime_version']}",
        "threads": threads, "statistic": first["statistic"], "weights": "seeded random (latency does not depend on them)",
        "median_abs_err_pct": float(statistics.median(errs)) if errs else None,
        "all_under_budget": all(r.get("measured_under_budget") for r in picked["front"])}
    return picked
