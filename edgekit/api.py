"""The documented Python face of edgekit: every CLI command is one call here.

    import edgekit

    artifacts = edgekit.convert("v1-0.25-128", weights="weights.h5", precisions=("float", "int8"),
                                formats=("tflite", "onnx"), calib="calib100/", out="models")
    run = edgekit.bench([a.path for a in artifacts], threads=1)
    for result in run.results:
        print(result.artifact, result.median_ms, result.statistic)
    accuracy = edgekit.evaluate([a.path for a in artifacts], data="eval300/").results

Calls return typed, frozen records (``Artifact``, ``BenchResult``, ``EvalResult``, ...) with
``to_dict()``/``from_dict()``. Problems with the input raise ``EdgekitError`` (one line). Results of
``bench`` and ``evaluate`` are recorded in the results store (``Store``) unless ``record=False``:
recording is the API's job, so a script gets the same history as the command line.
TensorFlow is imported only by the calls that build or convert models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from edgekit import files, vocab
from edgekit.errors import EdgekitError
from edgekit.export.artifact import Artifact
from edgekit.record.results import (BenchResult, BenchRun, EvalResult, EvalRun, QuantReport, RegressReport,
                                    SweepSummary)
from edgekit.record.store import ResultsStore as Store

__all__ = [
    "Artifact", "BenchResult", "BenchRun", "EvalResult", "EvalRun", "QuantReport", "RegressReport", "Store", "SweepSummary",
    "bench", "classify", "compare", "convert", "cost", "devices", "edgetpu_check", "evaluate", "models", "profile",
    "quant_report", "regress", "report", "results", "study_keep_float", "study_relu6", "summary", "sweep",
]

Warn = Callable[[str], None]


# --- the zoo -------------------------------------------------------------------------------------

def models(family: str | None = None, published_only: bool = False) -> list[dict]:
    """The zoo: every variant with MACs, parameters and the published numbers beside them."""
    from edgekit.zoo.describe import zoo_listing

    return zoo_listing(family, published_only)


def summary(model: str) -> dict:
    """Per-layer description of ``model`` (a zoo name) in the style of the v1 paper's Table 1."""
    from edgekit.zoo.describe import summary as describe
    from edgekit.zoo.spec import parse_model

    return describe(parse_model(model))


def cost(in_shape: str, out_channels: int, kernel: int = 3, *, alpha: float | None = None, rho: float | None = None,
         stride: int = 1) -> dict:
    """The v1 paper's cost calculator for one layer (``in_shape`` "HxWxC"): mult-adds and parameters of the
    standard convolution, the depthwise separable one, and with width multiplier ``alpha`` and resolution
    multiplier ``rho``; exact (the paper's worked example to the digit), with the ratio formula."""
    from edgekit.zoo.cost import layer_cost, parse_shape

    return layer_cost(parse_shape(in_shape), out_channels, kernel, alpha=alpha, rho=rho, stride=stride)


def classify(model: str, images: Sequence[str | Path], *, weights: str = "imagenet", crop: float = vocab.DEFAULT_CROP,
             top: int = 5, labels: str | Path | None = None) -> list[dict]:
    """Top-``top`` classes of each image by the Keras float model (the reference every export is held to).

    ``labels`` (class_index.csv or a labels .txt) adds class names.
    """
    from edgekit.zoo.classify import classify as run
    from edgekit.zoo.spec import parse_model

    names = None
    if labels:
        from edgekit.data.labels import class_names

        names = class_names(labels)
    results = run(parse_model(model), weights, [str(i) for i in images], crop=crop, top=top)
    for result in results:
        for item in result["top"]:
            if names:
                item["class_name"] = names[item["class_index"]]
    return results


# --- export --------------------------------------------------------------------------------------

def convert(model: str, **options) -> list[Artifact]:
    """Export ``model`` (a zoo name, or the user's .keras/.h5/SavedModel/.onnx file) to TFLite and/or ONNX at
    one or more precisions.

    ``options`` are the fields of the option groups in ``edgekit.export.options`` (source: ``weights``,
    ``preprocess``, ``labels``, ``input_size``, ...; calibration: ``calib``, ``check``, counts, ``crop``;
    quantization: ``ptq``, ``keep_float``, ``io``, ``edgetpu``, ...; gate: ``require``, ``max_drop``, ...;
    output: ``precisions``, ``formats``, ``out``, ...), plus ``warn`` and ``progress``. Every artifact is
    checked for parity against the source model on images held apart from calibration; the typed sidecars
    of the artifacts written are returned (a failed float parity check raises ``ParityError``).
    With ``edgetpu=True`` the result is a full-integer TFLite file with uint8 I/O (Coral's convention).
    """
    from edgekit.export.convert import ConvertOptions, convert as run

    return run(ConvertOptions.build(model, **options))


def quant_report(model_or_artifact: str, *, calib: str | Path, weights: str | None = None, fmt: str = "tflite",
                 threshold: float = 0.7, warn: Warn | None = None, **options) -> QuantReport:
    """Per-layer int8 error of a zoo model, the user's Keras model file or one of our exports, worst first
    (TFLite's QuantizationDebugger or ONNX Runtime's qdq_loss_debug). ``options``: calibration and source fields of
    ``export.options`` (``calib_count``, ``check``, ``check_count``, ``ptq``; ``preprocess`` for a model file)."""
    from edgekit.export.options import ConvertOptions
    from edgekit.studies.quant_report import quant_report as run

    import math

    if not (math.isfinite(threshold) and threshold > 0):
        raise EdgekitError(f"--threshold is an RMSE/scale above which a layer is flagged, a number > 0, got {threshold}")
    opts = ConvertOptions.build(model_or_artifact, weights=weights, calib=str(calib), warn=warn, **options)
    if opts.calibration.calib_count < 1 or opts.calibration.check_count < 1:
        raise EdgekitError("--calib-count and --check-count must be at least 1")
    return QuantReport.from_dict(run(model_or_artifact, opts, fmt, threshold))


# --- measure -------------------------------------------------------------------------------------

def _record(kind: str, results: list[dict], db: str | Path | None) -> str:
    """Store results (each gets its row id and keeps its environment); returns the database path."""
    from edgekit.environment import fingerprint

    with Store(db) as store:
        for result in results:
            env = result.pop("environment", None) or fingerprint()
            result["id"] = store.record(kind, result, env)
            result["environment"] = env
        return str(store.path)


def bench(artifacts: Sequence[str | Path] = (), *, suite: str | Path | None = None, reference: str | Path | None = None,
          save_baseline: str | Path | None = None, sessions: int | None = None, no_reference: bool = False,
          models_dir: str | Path = "models", record: bool = True, db: str | Path | None = None,
          warn: Warn | None = None, progress: Callable | None = None, **options) -> BenchRun:
    """Latency and memory of ``artifacts`` (files, or zoo names meaning their exports), each in its own
    worker process, timed runs interleaved in rounds.

    ``options`` are the fields of ``edgekit.measure.options`` (timing: ``warmup``, ``runs``, ``min_time``,
    ``rounds``, ``batch``; execution: ``runtime``, ``threads``, ``xnnpack``, ``optimization``, ``delegate``;
    where: ``device``, ``host``, ``inputs``, ``preprocess``); None means the default. With ``suite``, ``reference`` or
    ``save_baseline`` each artifact is timed with its reference in several sessions of fresh workers
    (timing defaults then ``vocab.REGRESS_DEFAULTS``) and ``save_baseline`` writes the samples for
    ``regress``. Without a suite or ``reference`` a baseline gets edgekit's built-in reference workloads
    (``compare.reference``, made beside it), unless ``no_reference``. An artifact that fails is listed
    in ``errors``; it never stops the others.
    """
    from edgekit.measure.bench import BenchOptions, bench as run, resolve_artifacts

    paired = bool(suite or reference or save_baseline)
    opts = BenchOptions.build(paired=paired, progress=progress, **options)
    _warn_threads(opts.thread_counts, opts.where.device, warn)
    if paired and isinstance(opts.execution.threads, (list, tuple)):
        if len(opts.execution.threads) > 1:
            raise EdgekitError("a list of thread counts is for plain bench; a baseline or suite times one count "
                               "(a suite file lists its own threads)")
        opts = opts.replace(threads=opts.execution.threads[0])
    if paired:
        from edgekit.compare.reference import folder_for
        from edgekit.compare.runs import describe_run, measure

        builtin = folder_for(save_baseline) if save_baseline and not no_reference else None
        if sessions is not None and sessions < 2:
            raise EdgekitError(f"--sessions must be >= 2 (the interval is drawn over sessions), got {sessions}")
        if save_baseline and sessions is not None and sessions < vocab.MIN_BASELINE_SESSIONS and warn:
            warn(f"a baseline of {sessions} session{'s' if sessions != 1 else ''} leaves the spread between worker "
                 f"processes almost unestimated: regress will mostly answer inconclusive (the default is "
                 f"{vocab.REGRESS_SESSIONS})")
        how = describe_run([str(a) for a in artifacts], suite and str(suite), reference and str(reference), opts,
                           models_dir=str(models_dir), sessions=sessions or vocab.REGRESS_SESSIONS,
                           builtin_references=builtin)
        measured, errors = measure(how, progress=progress, warn=warn)
        results = [dict(part, environment=measured["environment"]) for e in measured["entries"]
                   for part in (e["result"], e["reference"]) if part]
        if save_baseline and measured["entries"]:
            from edgekit.compare.baseline import save

            save(str(save_baseline), measured)
    else:
        if not artifacts:
            raise EdgekitError("give artifacts (files or zoo names) or --suite FILE")
        results, errors = run(resolve_artifacts([str(a) for a in artifacts], models_dir), opts)
    where = _record("bench", results, db) if results and record else None
    return BenchRun(results=tuple(BenchResult.from_dict(r) for r in results), errors=tuple(errors), db=where,
                    baseline=str(save_baseline) if save_baseline and results else None)


def _warn_threads(counts, device: str, warn: Warn | None) -> None:
    """More threads than this machine's cores time contention, not the model: said, not refused."""
    from edgekit.environment import usable_cores

    cores = usable_cores()
    over = [c for c in counts if c and c > cores]
    if over and warn and device in (None, "host", "local"):
        warn(f"--threads {max(over)} on {cores} usable core{'s' if cores != 1 else ''}: the threads will share cores, "
             f"and the timing measures that contention")


def profile(artifacts: Sequence[str | Path], *, device: str = "host", host: str | None = None,
            threads: int | None = None, runs: int = 30, rounds: int = 3, models_dir: str | Path = "models",
            record: bool = True, db: str | Path | None = None, plot: str | Path | None = None,
            allow_modified: bool = False) -> dict:
    """Per-op ledgers of ``artifacts``: each op's measured time and share, MACs and share, GMAC/s,
    parameters, Edge TPU placement and flags, with totals by op kind beside the v1 paper's Table 2 and
    the gap between the per-op sum and the whole-model median of the same run. Recorded in the results
    store (kind ``profile``); ``plot`` writes a PNG of time share beside MAC share by op kind.
    Returns ``{"ledgers": [...], "db": ..., "plot": ...}``.
    """
    from edgekit.measure.bench import resolve_artifacts
    from edgekit.measure.ledger import ProfileOptions, profile as run

    ledgers = run(resolve_artifacts([str(a) for a in artifacts], models_dir),
                  ProfileOptions(device=device, host=host, threads=threads, runs=runs, rounds=rounds,
                                 allow_modified=allow_modified, roofs=_roofs_file(db)))
    where = _record("profile", ledgers, db) if record else None
    written = None
    if plot is not None:
        from edgekit.report.plots import time_vs_macs

        written = Path(plot) if Path(plot).suffix == ".png" else Path(plot) / "profile.png"
        files.write_atomic(written, time_vs_macs(ledgers))
    return {"ledgers": ledgers, "db": where, "plot": str(written) if written else None}


def _roofs_file(db: str | Path | None) -> Path | None:
    """Device roofs live beside the results store they go with (``measure.roofline``)."""
    return Path(db).parent / "roofs.json" if db else None


def roof(*, device: str = "host", host: str | None = None, threads: int = 1, runs: int = 30, rounds: int = 3,
         out: str | Path = "models/roof-kernels", db: str | Path | None = None) -> dict:
    """Measure ``device``'s roofs (float32 and int8 compute peaks, streaming bandwidth) with three kernel models
    timed by bench's workers, and store them with its fingerprint, so ``profile`` holds each op to them."""
    from edgekit.measure.roofline import store_roof
    from edgekit.studies.roof import measure_roof

    measured = measure_roof(device=device, host=host, threads=threads, runs=runs, rounds=rounds, out=out)
    measured["stored"] = str(store_roof(measured, _roofs_file(db)))
    return measured


def _fits_file(db: str | Path | None) -> Path | None:
    """Latency fits live beside the results store they go with (``measure.estimate``)."""
    return Path(db).parent / "fits.json" if db else None


def fit_latency(*, device: str = "host", host: str | None = None, threads: int = 1,
                models: Sequence[str] | None = None, hold_out: Sequence[int] | None = None,
                work: str | Path = vocab.LATENCY_WORK, calib: str | Path | None = None, runs: int = 10,
                rounds: int = 2, db: str | Path | None = None, progress: Callable[[str], None] | None = None) -> dict:
    """Fit the kernel-level latency model on ``device``: convert the suite of zoo variants (once, into ``work``),
    profile each there, fit per runtime and precision on the variants not held out (default: the 160 and 192 px
    ones are held out) and validate on the rest; store the fits beside the results store.
    Returns ``{"fits": [...], "ledger_sums": [...], "stored": path}``."""
    from edgekit.measure.estimate import store_fits
    from edgekit.studies.latency_model import HOLD_OUT, fit_suite

    if threads < 1 or runs < 1 or rounds < 1:
        raise EdgekitError("--threads, --runs and --rounds must be >= 1")
    fits, sums = fit_suite(device=device, host=host, threads=threads, models=list(models) if models else None,
                           hold_out=tuple(hold_out) if hold_out else HOLD_OUT, work=work,
                           calib=str(calib) if calib else None, runs=runs, rounds=rounds, roofs=_roofs_file(db),
                           progress=progress)
    return {"fits": fits, "ledger_sums": sums, "stored": str(store_fits(fits, _fits_file(db)))}


def _fit_for(device: str, runtime: str, precision: str, threads: int, db) -> dict:
    from edgekit.environment import cpu_features, cpu_id, cpu_label, cpu_model
    from edgekit.measure.estimate import COLUMNS, find_fit, store_fits

    if runtime not in ("litert", "onnxruntime"):
        raise EdgekitError(f"--runtime '{runtime}': choose litert or onnxruntime")
    if precision not in ("float", "int8"):
        raise EdgekitError(f"--precision '{precision}': the latency model is fitted for float and int8")
    fit = find_fit(device, runtime, precision, threads, _fits_file(db))
    here = {"cpu": cpu_model(), "cpu_id": cpu_id()}
    if device == "host" and ((fit.get("cpu") and fit["cpu"] != here["cpu"])
                             or (fit.get("cpu_id") and fit["cpu_id"] != here["cpu_id"])):
        raise EdgekitError(f"the host's latency model was fitted on {cpu_label(fit)}, this host is {cpu_label(here)}: "
                           f"refit it here with 'edgekit estimate --fit --calib DIR'")
    # one model name can cover CPUs that run int8 differently (an AVX2 and an AVX-512 VNNI 'AMD EPYC' here)
    if device == "host" and fit.get("cpu_features") is not None and set(fit["cpu_features"]) != set(cpu_features()):
        theirs, ours = set(fit["cpu_features"]), set(cpu_features())
        diff = ", ".join([f"+{f}" for f in sorted(ours - theirs)] + [f"-{f}" for f in sorted(theirs - ours)])
        raise EdgekitError(f"the host's latency model was fitted on a {fit['cpu']} with other SIMD features than this "
                           f"one ({diff}): refit it here with 'edgekit estimate --fit --calib DIR'")
    if list(fit.get("columns") or []) != list(COLUMNS):  # fitted under other features: refit on its stored ledgers
        from edgekit.studies.latency_model import refit

        fit = refit(fit)
        try:
            store_fits([fit], _fits_file(db))
        except (OSError, EdgekitError):  # a read-only store still answers, from the refit in memory
            pass
    return fit


def estimate(models: Sequence[str], *, device: str = "host", runtime: str = "litert", precision: str = "int8",
             threads: int = 1, db: str | Path | None = None) -> dict:
    """Estimated latency of zoo variants on ``device`` from their architecture alone (no conversion), under the
    fit ``estimate --fit`` stored; each row is labelled an estimate, with the fit's validation error.
    Returns ``{"estimates": [...], "fit": {...}}``."""
    from edgekit.studies.latency_model import estimate as run, zoo_variants

    if not models:
        raise EdgekitError("estimate: name one or more zoo variants (e.g. v2-0.75-160), or --fit")
    zoo_variants(list(models))  # a file or a name outside the zoo is said before any fit is looked for
    fit = _fit_for(device, runtime, precision, threads, db)
    return {"estimates": run(list(models), fit), "fit": _fit_summary(fit)}


def pick(*, budget: str | float, device: str = "host", runtime: str = "litert", precision: str = "int8",
         families: str | None = None, threads: int = 1, db: str | Path | None = None,
         plot: str | Path | None = None, verify: bool = False, calib: str | Path | None = None,
         work: str | Path = vocab.LATENCY_WORK, host: str | None = None,
         progress: Callable[[str], None] | None = None) -> dict:
    """The zoo variants (width x resolution) on the accuracy/latency Pareto front under ``budget`` on ``device``:
    the papers' top-1 where published, the estimated latency beside it. ``plot`` writes a PNG of every variant.
    ``verify`` converts the front's variants (random weights; into ``work``, int8 calibrated on ``calib``) and
    benches them on the device in one interleaved session: each row gets ``measured_ms`` and ``error_pct``."""
    from edgekit.studies.latency_model import parse_budget, pick as run, pick_families, verify_front

    budget_ms = parse_budget(budget) if isinstance(budget, str) else float(budget)
    if budget_ms <= 0:
        raise EdgekitError(f"--budget {budget_ms:g} ms is impossible: a latency budget must be more than zero")
    chosen = pick_families(families)
    fit = _fit_for(device, runtime, precision, threads, db)
    picked = run(chosen, budget_ms, fit)
    picked["fit"] = _fit_summary(fit)
    if verify:
        verify_front(picked, device=device, host=host, threads=threads, calib=str(calib) if calib else None,
                     work=work, progress=progress)
    if plot is not None:
        from edgekit.report.plots import pick_plot

        written = Path(plot) if Path(plot).suffix == ".png" else Path(plot) / "pick.png"
        files.write_atomic(written, pick_plot(picked))
        picked["plot"] = str(written)
    return picked


def _fit_summary(fit: dict) -> dict:
    return {k: fit.get(k) for k in ("key", "device", "runtime", "runtime_version", "precision", "threads", "cpu",
                                    "cpu_id", "cpu_features", "split", "fitted", "refitted", "statistic")} | {
        "trained_on": len(fit.get("trained_on") or []), "held_out": len(fit.get("held_out") or []),
        "validation": {k: v for k, v in (fit.get("validation") or {}).items() if k != "rows"}}


def evaluate(artifacts: Sequence[str | Path], data: str | Path, *, limit: int | None = None,
             crop: float = vocab.DEFAULT_CROP, threads: int = 1, runtime: str | None = None,
             preprocess: str | None = None, reference_kernels: bool = False, models_dir: str | Path = "models",
             record: bool = True, db: str | Path | None = None,
             progress: Callable[[str], Callable] | None = None, labels: str | Path | None = None,
             confusion: str | Path | None = None, allow_modified: bool = False, task: str | None = None,
             overlay: str | Path | None = None) -> EvalRun:
    """Top-1/top-5 of each artifact on a labelled image folder, with the artifact's own runtime and the
    preprocessing its sidecar records.

    ImageNet classifiers read labels.csv (class_index) or WordNet-id folders; a model of N other classes
    reads class sub-folders or a labels.csv naming its classes, and its results add per-class accuracy,
    balanced accuracy and the confusion matrix. ``labels`` (one class name per line, in output order)
    names or reorders the classes (default: the sidecar's). ``confusion``: a folder for one confusion-matrix
    PNG per artifact. ``progress(description)`` may return a wrapper for the image iterable (a progress bar).
    A segmenter (``task`` "segmentation", or implied by a dense output) reads images/ + masks/, a VOC tree or a
    COCO JSON file and scores mIoU, per-class IoU and pixel accuracy; ``overlay``: a folder for one picture per
    image (image | reference mask | prediction).
    """
    from edgekit.measure.bench import resolve_artifacts
    from edgekit.measure.evaluate import evaluate as run

    names = None
    if labels is not None:
        from edgekit.data.labels import name_list

        names = name_list(labels)
    results = []
    for path in resolve_artifacts([str(a) for a in artifacts], models_dir):
        result = run(path, data, limit=limit, crop=crop, threads=threads, runtime=runtime, preprocess=preprocess,
                     progress=progress(f"eval {path.name}") if progress else None,
                     reference_kernels=reference_kernels, class_names=names, allow_modified=allow_modified,
                     task=task, overlay=overlay)
        if confusion is not None and result.get("confusion") is not None:
            from edgekit.report.plots import confusion as plot

            target = Path(confusion) / f"confusion-{path.parent.name}-{path.stem}.png"
            files.write_atomic(target, plot(result))
            result["confusion_png"] = str(target)
        results.append({**result, "device": "host"})
    where = _record("eval", results, db) if record else None
    return EvalRun(results=tuple(EvalResult.from_dict(r) for r in results), db=where)


def results(*, kind: str | None = None, model: str | None = None, artifact: str | None = None,
            runtime: str | None = None, device: str | None = None, threads: int | None = None,
            limit: int | None = 50, db: str | Path | None = None) -> tuple[str, list[dict]]:
    """Recorded results, newest first: (database path, rows with their result and environment)."""
    if limit is not None and limit < 0:
        raise EdgekitError(f"--limit is how many results to show (0: all), got {limit}")
    with Store(db, read_only=True) as store:
        rows = store.query(kind=kind, model=model, artifact=artifact, runtime=runtime, device=device,
                           threads=threads, limit=limit or None)
        return str(store.path), rows


# --- compare, regress, report --------------------------------------------------------------------

def regress(baseline: str | Path, *, candidate: str | Path | None = None, threshold: float = vocab.REGRESS_THRESHOLD,
            confidence: float = 0.95, allow_env_change: bool = False, use_reference: bool = True,
            pinned: str | Path | None = None, creep: float = vocab.CREEP_THRESHOLD, max_sessions: int | None = None,
            time_budget: float | None = None, save_candidate: str | Path | None = None, warn: Warn | None = None,
            progress: Callable | None = None) -> RegressReport:
    """Did anything in the baseline get slower than ``threshold`` (a fraction: 0.05 = 5%), beyond noise?

    Without ``candidate`` the baseline's entries are timed again by the sequential gate
    (``compare.gate``): sessions are added until every entry's interval decides, or ``max_sessions`` /
    ``time_budget`` run out (``report.inconclusive`` counts what stayed open). Every entry is also
    compared with the oldest baseline this one descends from (kept inside it by ``save_candidate``),
    or with ``pinned``, against ``creep``: ``report.crept`` counts the drift a series of small
    slowdowns added up to. ``save_candidate`` writes the candidate as the next (rolling) baseline,
    carrying the oldest one along.
    """
    from edgekit.compare import baseline as bl
    from edgekit.compare import gate
    from edgekit.compare.regress import regress as compare_runs

    if max_sessions is not None and max_sessions < 1:
        raise EdgekitError(f"--max-sessions is how many sessions the gate may add, at least 1, got {max_sessions}")
    if time_budget is not None and not time_budget > 0:
        raise EdgekitError(f"--time-budget is seconds, more than 0, got {time_budget}")
    base = bl.load(str(baseline))
    if not 0 < creep < 1:
        raise EdgekitError(f"--creep must be between 0% and 100%, got {creep:.0%}")
    origin = bl.load(str(pinned)) if pinned else base.get("origin")
    if candidate:
        cand = bl.load(str(candidate))
        report = compare_runs(base, cand, threshold, confidence, allow_env_change, use_reference=use_reference,
                              origin=origin, creep=creep)
    else:
        report, cand = gate.run_gate(base, threshold, confidence, allow_env_change=allow_env_change,
                                     use_reference=use_reference, origin=origin, creep=creep,
                                     max_sessions=max_sessions or gate.MAX_SESSIONS,
                                     time_budget=time_budget or gate.TIME_BUDGET, progress=progress, warn=warn)
    if save_candidate:
        bl.save(str(save_candidate), bl.descend(base, cand))
    return RegressReport.from_dict(report)


def compare(models: Sequence[str] = (), *, db: str | Path | None = None) -> dict:
    """Our recorded figures beside the papers' for ``models`` (default: every model in the store)."""
    from edgekit.compare.papers import compare as run

    with Store(db, read_only=True) as store:
        evals, benches = store.query(kind="eval"), store.query(kind="bench")
    data = run(list(models) or None, evals, benches)
    if not data["models"]:
        raise EdgekitError("nothing to compare: no results recorded yet (run 'edgekit eval' / 'edgekit bench'), "
                           "or name models")
    return data


def report(*, out: str | Path = "report", db: str | Path | None = None) -> dict[str, Path]:
    """Markdown, a self-contained HTML page and PNG plots from the results store; returns what was written."""
    from edgekit.report.render import build, write

    with Store(db, read_only=True) as store:
        evals, benches = store.query(kind="eval"), store.query(kind="bench")
        where = str(store.path)
    if not evals and not benches:
        raise EdgekitError(f"no results in {where}: run 'edgekit bench' / 'edgekit eval' first")
    return write(build(benches, evals, where), out)


# --- studies -------------------------------------------------------------------------------------

def study_relu6(model: str = "v1-0.25-128", *, calib: str | Path, data: str | Path, weights: str = "none",
                calib_count: int = vocab.DEFAULT_CALIB_COUNT, limit: int | None = None,
                out: str | Path = "relu6-study") -> dict:
    """The same weights with ReLU6 and with plain ReLU: float/int8 top-1, activation ranges, per-layer
    int8 error, a plot (``report["plot"]``) and a conclusion drawn from the numbers."""
    from edgekit.studies.relu6 import plot, relu6_study

    result = relu6_study(model, weights, str(calib), str(data), limit=limit, calib_count=calib_count)
    result["plot"] = str(plot(result, Path(out) / f"relu6_{result['model']}.png"))
    return result


def study_keep_float(model: str = "v1-0.25-128", *, calib: str | Path, data: str | Path, weights: str = "none",
                     keep_float: str = "auto:3", calib_count: int = vocab.DEFAULT_CALIB_COUNT,
                     check: str | Path | None = None, limit: int | None = None, threads: int = 1,
                     out: str | Path = "keep-float-study", warn: Warn | None = None) -> dict:
    """Float, int8 and int8 with layers kept float, side by side: top-1, agreement, SQNR, size, latency."""
    from edgekit.studies.keep_float import keep_float_study

    return keep_float_study(model, weights, str(calib), str(data), keep_float, out=out, calib_count=calib_count,
                            limit=limit, check=check and str(check), threads=threads, warn=warn)


def study_v3_ablations(models=("v3-large", "v3-small"), *, calib: str | Path, formats=("tflite", "onnx"),
                       alpha: float = 1.0, resolution: int = 224, calib_count: int = 32, threads: int = 1,
                       runs: int = 20, rounds: int = 4, out: str | Path = "v3-ablations", warn: Warn | None = None) -> dict:
    """MobileNetV3's Sec. 5.1 redesigns (efficient last stage, 16-filter stem) and h-swish (Table 5) undone one
    at a time: counts, float/int8 latency in one interleaved session, beside the paper's savings."""
    from edgekit.studies.v3_ablations import v3_ablations_study

    return v3_ablations_study(tuple(models), calib=str(calib), out=out, formats=tuple(formats), alpha=alpha,
                              resolution=resolution, calib_count=calib_count, threads=threads, runs=runs,
                              rounds=rounds, warn=warn)


# --- devices -------------------------------------------------------------------------------------

def devices(check: bool = True) -> list[dict]:
    """Device profiles (built-in and ./edgekit.toml), each with whether it is reachable now and why."""
    from edgekit.devices import load_profiles, reachability

    rows = []
    for profile in load_profiles().values():
        row = profile.to_dict()
        if check:
            row["reachable"], row["reason"] = reachability(profile)
        rows.append(row)
    return rows


def edgetpu_check(model: str | Path) -> dict:
    """Which ops of a .tflite file the Edge TPU compiler would map (Coral's documented rules); an Edge
    TPU compiler output is read as it is."""
    from edgekit.edgetpu.check import predict

    if not Path(model).is_file():
        raise EdgekitError(f"model file not found: {model}")
    if Path(model).suffix.lower() != ".tflite":
        raise EdgekitError(f"{Path(model).name}: the Edge TPU compiler reads .tflite files only")
    return predict(str(model))


def sweep(path: str | Path, *, executor: str = "local", address: str | None = None, resume: bool = False,
          task_timeout: float = 900.0, db: str | Path | None = None,
          progress: Callable[[int], object] | None = None) -> SweepSummary:
    """Convert, benchmark and evaluate a whole grid (a sweep TOML file) locally or on a Ray cluster.

    ``progress(total)`` may return a context manager yielding the update callback (a progress bar).
    ``summary.failed`` counts cells that could not run; each is listed and recorded.
    """
    from edgekit.sweep import load_sweep, make_executor, run_sweep

    known = None
    if executor == "local":
        from edgekit.devices import load_profiles

        known = set(load_profiles())
    plan = load_sweep(str(path), known_devices=known)
    runner = make_executor(executor, address, plan.devices if "bench" in plan.steps else [], task_timeout)
    try:
        if progress:
            with progress(len(plan.cells)) as update:
                outcome = run_sweep(plan, runner, db=db, resume=resume, progress=update)
        else:
            outcome = run_sweep(plan, runner, db=db, resume=resume)
    finally:
        runner.close()
    return SweepSummary.from_dict(outcome)
