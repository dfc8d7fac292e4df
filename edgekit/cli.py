"""The ``edgekit`` command: parse arguments, call the Python API, print. No logic of its own.

Library errors (EdgekitError) become one line on stderr and exit status 2. TensorFlow is
imported only by the commands that build models, so ``--help`` and ``models`` stay fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from edgekit import __version__
from edgekit.errors import EdgekitError

# edgekit.quant.ALGORITHMS, spelled out so --help does not import numpy (a test keeps them equal)
PTQ_CHOICES = ("gptq", "gptq-seq", "bias-correction", "gptq+bias-correction", "minmax")


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EdgekitError as exc:
            click.echo(f"edgekit: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("edgekit: interrupted", err=True)
            ctx.exit(130)


def _emit_json(data) -> None:
    click.echo(json.dumps(data, indent=2))


def _spec(name: str):
    from edgekit.zoo.spec import parse_model

    return parse_model(name)


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgekit")
def cli():
    """MobileNet-class classifiers from the papers to the device.

    Build MobileNet v1/v2/v3 at the papers' multipliers, count them against the published
    tables, and (in later stages) export, quantize and measure them.
    """


@cli.command()
@click.option("--family", type=click.Choice(["v1", "v2", "v3-small", "v3-large"]), help="Only this family.")
@click.option("--published", "published_only", is_flag=True, help="Only variants with published numbers.")
@json_option
def models(family, published_only, as_json):
    """List the zoo with MACs, params and the published numbers beside them."""
    from edgekit.zoo.describe import zoo_listing

    entries = zoo_listing(family, published_only)
    if as_json:
        _emit_json(entries)
        return
    from edgekit.present import console, zoo_table

    console.print(zoo_table(entries))
    console.print("Names: FAMILY[-ALPHA][-RESOLUTION][-min], e.g. v1-0.25-128, v2-1.4, v3-large-0.75-min. "
                  "Any resolution >= 32 divisible by 8 builds with --weights none or a file.")


@cli.command()
@click.argument("model")
@json_option
def summary(model, as_json):
    """Per-layer table of MODEL (type/stride, filter shape, input size, MACs, params)."""
    from edgekit.zoo.describe import summary as describe

    spec = _spec(model)
    data = describe(spec)
    if as_json:
        _emit_json(data)
        return
    from edgekit.present import console, published_lines, summary_table

    console.print(summary_table(data))
    console.print(f"[bold]{spec.name}[/]: {data['macs'] / 1e6:.2f} M MACs, {data['params']:,} params "
                  f"({data['params_folded']:,} with BN folded), {data['elementwise_ops'] / 1e6:.2f} M element-wise ops; "
                  f"input {spec.preprocessing.note}")
    if not spec.paper_resolution:
        console.print(f"[yellow]{spec.resolution} px is not one of the paper's resolutions: no published numbers.[/]")
    for line in published_lines(data):
        console.print(line)


@cli.command()
@click.argument("model")
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--weights", default="imagenet", show_default=True, help="none, imagenet, or a .h5 file.")
@click.option("--labels", type=click.Path(), help="class_index.csv or a labels .txt for class names.")
@click.option("--crop", default=0.875, show_default=True, help="Central crop fraction before resizing.")
@click.option("--top", default=5, show_default=True)
@json_option
def classify(model, images, weights, labels, crop, top, as_json):
    """Classify IMAGES with MODEL in Keras (the float reference)."""
    from edgekit.zoo.classify import classify as run

    spec = _spec(model)
    names = None
    if labels:
        from edgekit.measure.labels import class_names

        names = class_names(labels)
    results = run(spec, weights, list(images), crop=crop, top=top)
    for result in results:
        for item in result["top"]:
            if names:
                item["class_name"] = names[item["class_index"]]
    if as_json:
        _emit_json({"model": spec.name, "weights": weights, "crop": crop, "results": results})
        return
    for result in results:
        click.echo(f"{result['image']}  ({spec.name}, weights {weights}, crop {crop})")
        for item in result["top"]:
            click.echo(f"  {item['class_index']:4d}  {item['prob']:6.1%}  {item.get('class_name', '')}")


@cli.command()
@click.option("--model", "-m", required=True, help="Zoo name, e.g. v1-0.25-128, v3-small.")
@click.option("--weights", default="none", show_default=True, help="none, imagenet, or a .h5 file.")
@click.option("--float", "p_float", is_flag=True, help="float32 (the default when no precision is given).")
@click.option("--fp16", "p_fp16", is_flag=True, help="float16 weights (TFLite).")
@click.option("--dynamic", "p_dynamic", is_flag=True, help="dynamic-range int8 (int8 weights).")
@click.option("--int8", "p_int8", is_flag=True, help="full-integer int8, calibrated.")
@click.option("--int16x8", "p_int16x8", is_flag=True, help="int16 activations, int8 weights (TFLite).")
@click.option("--format", "fmt", type=click.Choice(["tflite", "onnx", "all"]), default="tflite", show_default=True)
@click.option("--calib", type=click.Path(), help="Calibration image folder (flat, class folders or labels.csv).")
@click.option("--calib-count", default=100, show_default=True, help="At most this many calibration images.")
@click.option("--check", type=click.Path(), help="Images for the parity check (default: held apart from --calib).")
@click.option("--check-count", default=32, show_default=True)
@click.option("--io", type=click.Choice(["float", "int8", "uint8"]), default="float", show_default=True,
              help="Input/output type of full-integer TFLite models (uint8 for the Edge TPU).")
@click.option("--onnx-calibration", type=click.Choice(["minmax", "entropy", "percentile"]), default="minmax",
              show_default=True)
@click.option("--ptq", type=click.Choice(PTQ_CHOICES), default="gptq-seq", show_default=True,
              help="Weight rounding before int8 conversion (minmax = the converters' own).")
@click.option("--keep-float", help="With --int8 (TFLite): leave these layers float, LAYER[,LAYER...] or "
              "auto[:N] for the N worst by RMSE/scale; writes tflite-int8-mixed.tflite.")
@click.option("--hswish", type=click.Choice(["split", "stock"]), default="split", show_default=True,
              help="MobileNetV3 int8 TFLite: split hard-swish into ops XNNPACK delegates, or keep the stock graph.")
@click.option("--edgetpu", is_flag=True, help="For the Edge TPU: full-integer int8 TFLite, uint8 I/O, batch 1; "
              "predicts the op mapping into the sidecar and compiles it if edgetpu_compiler is on PATH.")
@click.option("--opset", default=17, show_default=True, help="ONNX opset (13..18).")
@click.option("--crop", default=0.875, show_default=True, help="Central crop fraction before resizing.")
@click.option("--out", default="models", show_default=True, type=click.Path(), help="Output root folder.")
@json_option
def convert(model, weights, p_float, p_fp16, p_dynamic, p_int8, p_int16x8, fmt, calib, calib_count, check,
            check_count, io, onnx_calibration, ptq, keep_float, hswish, edgetpu, opset, crop, out, as_json):
    """Export MODEL to TFLite and/or ONNX at one or more precisions, each checked for parity."""
    from edgekit.export.convert import ConvertOptions, convert as run
    from edgekit.present import console, convert_table, progress_over

    flags = [("float", p_float), ("fp16", p_fp16), ("dynamic", p_dynamic), ("int8", p_int8), ("int16x8", p_int16x8)]
    precisions = tuple(name for name, on in flags if on) or (("int8",) if edgetpu else ("float",))
    if edgetpu:
        if fmt != "tflite":
            raise EdgekitError("--edgetpu makes a TFLite file (the Edge TPU compiler reads only TFLite): drop --format")
        if "int8" not in precisions:
            precisions = (*precisions, "int8")
        if io == "float":
            io = "uint8"  # what Coral's own models and examples use
    formats = ("tflite", "onnx") if fmt == "all" else (fmt,)
    opts = ConvertOptions(
        model=model, weights=weights, precisions=precisions, formats=formats, calib=calib,
        calib_count=calib_count, check=check, check_count=check_count, io=io, out=out, crop=crop,
        onnx_opset=opset, onnx_calibration=onnx_calibration, ptq=ptq, keep_float=keep_float, hswish=hswish,
        edgetpu=edgetpu,
        skip_unsupported=fmt == "all",
        warn=lambda msg: click.secho(f"edgekit: warning: {msg}", err=True, fg="yellow"),
        progress=None if as_json else progress_over("decoding calibration images"),
    )
    sidecars = run(opts)
    if as_json:
        _emit_json({"artifacts": sidecars})
        return
    console.print(convert_table(sidecars))


db_option = click.option("--db", type=click.Path(), help="Results database (default: $EDGEKIT_DB or "
                         "~/.local/share/edgekit/results.db).")


def _record(kind: str, results: list[dict], db: str | None) -> str:
    """Store results; returns the database path. Each result gets its row id."""
    from edgekit.record.environment import fingerprint
    from edgekit.record.store import ResultsStore

    with ResultsStore(db) as store:
        for result in results:
            env = result.pop("environment", None) or fingerprint()
            result["id"] = store.record(kind, result, env)
            result["environment"] = env
        return str(store.path)


@cli.command()
@click.argument("artifacts", nargs=-1)
@click.option("--runtime", type=click.Choice(["litert", "onnxruntime"]), help="Default: from the file suffix.")
@click.option("--threads", type=int, help="Threads [default: the device profile's: host 1, rpi4 4].")
@click.option("--warmup", default=10, show_default=True, help="Untimed runs before timing.")
@click.option("--runs", default=50, show_default=True, help="Timed runs (at least).")
@click.option("--min-time", default=1.0, show_default=True, help="Seconds of timed runs per artifact (at least).")
@click.option("--rounds", default=3, show_default=True, help="Interleaved rounds the timed runs are split into.")
@click.option("--batch", default=1, show_default=True)
@click.option("--device", default="host", show_default=True, help="A device profile (see 'edgekit devices').")
@click.option("--host", "ssh_host", help="user@host[:port] of an SSH device, instead of its profile's.")
@click.option("--inputs", type=click.Path(), help="Image folder for inputs (default: random images).")
@click.option("--suite", type=click.Path(), help="Suite file (models x formats x precisions x threads); "
              "missing artifacts are converted first.")
@click.option("--reference", type=click.Path(), help="A pinned artifact timed in the same rounds as each "
              "artifact, to cancel machine drift (suites name theirs).")
@click.option("--save-baseline", type=click.Path(), help="Write every timing sample to this baseline file "
              "for 'edgekit regress'.")
@click.option("--sessions", type=int, help="With --suite/--reference/--save-baseline: sessions (fresh worker processes) per artifact [default: 5].")
@click.option("--preprocess", type=click.Choice(["minus-one-to-one", "zero-to-one", "raw-pixels"]),
              help="Float-input preprocessing of a foreign artifact (ours are read from the sidecar).")
@click.option("--no-xnnpack", is_flag=True, help="LiteRT: built-in kernels only.")
@click.option("--optimization", type=click.Choice(["disable", "basic", "extended", "all"]), default="all",
              show_default=True, help="ONNX Runtime graph optimization level.")
@click.option("--delegate", help="LiteRT delegate library to load (e.g. libedgetpu.so.1).")
@click.option("--models-dir", default="models", show_default=True, help="Where zoo names find their artifacts.")
@db_option
@click.option("--no-record", is_flag=True, help="Do not store the results.")
@json_option
def bench(artifacts, runtime, threads, warmup, runs, min_time, rounds, batch, device, ssh_host, inputs, suite, reference,
          save_baseline, sessions, preprocess, no_xnnpack, optimization, delegate, models_dir, db, no_record, as_json):
    """Latency and memory of ARTIFACTS (.tflite/.onnx files, or zoo names meaning their exports).

    With --suite, --reference or --save-baseline each artifact is timed with its reference in the
    same rounds, in several sessions of fresh worker processes (defaults then: 5 sessions of 40 runs,
    0.8 s, 8 rounds, unless given).
    """
    from edgekit.measure.bench import BenchOptions, bench as run, resolve_artifacts

    paired = bool(suite or reference or save_baseline)
    timing = {"warmup": warmup, "runs": runs, "min_time": min_time, "rounds": rounds}
    if paired:
        from edgekit.compare.runs import REGRESS_DEFAULTS

        ctx = click.get_current_context()
        timing = {k: (REGRESS_DEFAULTS[k] if ctx.get_parameter_source(k).name == "DEFAULT" else v)
                  for k, v in timing.items()}
    opts = BenchOptions(runtime=runtime, threads=threads, batch=batch, device=device, host=ssh_host, inputs=inputs,
                        preprocess=preprocess, xnnpack=not no_xnnpack, optimization=optimization,
                        delegate=delegate, **timing)
    show = not as_json and sys.stderr.isatty()
    if paired:
        from edgekit.compare.runs import describe_run, measure

        from edgekit.compare.runs import SESSIONS

        how = describe_run(list(artifacts), suite, reference, opts, models_dir=models_dir,
                           sessions=sessions or SESSIONS)
        with _progress(opts, show):
            measured, errors = measure(how, progress=opts.progress, warn=_warn)
        results = [dict(part, environment=measured["environment"]) for e in measured["entries"]
                   for part in (e["result"], e["reference"]) if part]
        if save_baseline and measured["entries"]:
            from edgekit.compare.baseline import save

            save(save_baseline, measured)
    else:
        if not artifacts:
            raise EdgekitError("give artifacts (files or zoo names) or --suite FILE")
        paths = resolve_artifacts(list(artifacts), models_dir)
        with _progress(opts, show):
            results, errors = run(paths, opts)
    where = _record("bench", results, db) if results and not no_record else None
    if as_json:
        _emit_json({"results": results, "errors": errors, "db": where,
                    "baseline": str(save_baseline) if save_baseline and results else None})
    elif results:
        from edgekit.present import bench_table, console

        console.print(bench_table(results))
        if where:
            console.print(f"recorded in {where}")
        if save_baseline:
            console.print(f"baseline written to {save_baseline}")
    if errors:
        raise EdgekitError("; ".join(errors))


def _warn(msg: str) -> None:
    click.secho(f"edgekit: warning: {msg}", err=True, fg="yellow")


def _progress(opts, show: bool):
    """A progress bar wired into ``opts.progress`` when on a terminal, else a no-op context."""
    import contextlib

    if not show:
        return contextlib.nullcontext()
    from edgekit.present import step_progress

    bar, opts.progress = step_progress()
    return bar


@cli.command()
@click.option("--baseline", required=True, type=click.Path(), help="From 'edgekit bench --save-baseline'.")
@click.option("--candidate", type=click.Path(), help="A second baseline file (default: run the same suite now).")
@click.option("--threshold", default="5%", show_default=True,
              help="Smallest slowdown that fails, in percent (e.g. 10%).")
@click.option("--confidence", default=0.95, show_default=True, help="Interval level for the suite as a whole (Bonferroni over entries).")
@click.option("--allow-env-change", is_flag=True, help="Compare even if the baseline comes from another machine.")
@click.option("--no-reference", is_flag=True, help="Do not normalise by the reference workload.")
@click.option("--save-candidate", type=click.Path(), help="Also write the candidate run as a baseline file.")
@json_option
def regress(baseline, candidate, threshold, confidence, allow_env_change, no_reference, save_candidate, as_json):
    """Exit 1 if anything in the baseline's suite got slower beyond noise and --threshold (0: no, 2: error)."""
    import os

    from edgekit.compare import baseline as bl
    from edgekit.compare.regress import markdown, regress as compare

    base = bl.load(baseline)
    limit = _percent(threshold)
    if candidate:
        cand = bl.load(candidate)
    else:
        from edgekit.compare.runs import measure
        from edgekit.measure.bench import BenchOptions

        opts = BenchOptions()
        with _progress(opts, not as_json and sys.stderr.isatty()):
            cand, errors = measure(base["run"], progress=opts.progress, warn=_warn)
        if errors:
            raise EdgekitError("; ".join(errors))
    if save_candidate:
        bl.save(save_candidate, cand)
    report = compare(base, cand, limit, confidence, allow_env_change, use_reference=not no_reference)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown(report))
    if as_json:
        _emit_json(report)
    else:
        from edgekit.present import console, regress_table

        console.print(regress_table(report))
    if report["regressed"]:
        click.get_current_context().exit(1)


def _percent(text: str) -> float:
    try:
        value = float(str(text).strip().rstrip("%"))
    except ValueError:
        raise EdgekitError(f"--threshold must be a percentage such as 10%, got {text!r}") from None
    return value / 100


@cli.command(name="eval")
@click.argument("artifacts", nargs=-1, required=True)
@click.option("--data", required=True, type=click.Path(), help="Labelled folder (labels.csv, or WordNet-id folders).")
@click.option("--limit", type=int, help="Only the first N images.")
@click.option("--crop", default=0.875, show_default=True, help="Central crop fraction before resizing.")
@click.option("--threads", default=1, show_default=True)
@click.option("--runtime", type=click.Choice(["litert", "onnxruntime"]), help="Default: from the file suffix.")
@click.option("--preprocess", type=click.Choice(["minus-one-to-one", "zero-to-one", "raw-pixels"]),
              help="Float-input preprocessing of a foreign artifact (ours are read from the sidecar).")
@click.option("--reference-kernels", is_flag=True, help="LiteRT: TFLite's reference kernels, the same bytes on "
              "every CPU (compare outputs_sha256 across machines).")
@click.option("--models-dir", default="models", show_default=True, help="Where zoo names find their artifacts.")
@db_option
@click.option("--no-record", is_flag=True, help="Do not store the results.")
@json_option
def evaluate(artifacts, data, limit, crop, threads, runtime, preprocess, reference_kernels, models_dir, db, no_record,
             as_json):
    """Top-1/top-5 of ARTIFACTS on a labelled image folder."""
    from edgekit.measure.bench import resolve_artifacts
    from edgekit.measure.evaluate import evaluate as run
    from edgekit.present import progress_over

    results = []
    for path in resolve_artifacts(list(artifacts), models_dir):
        progress = progress_over(f"eval {path.name}") if sys.stderr.isatty() and not as_json else None
        result = run(path, data, limit=limit, crop=crop, threads=threads, runtime=runtime,
                     preprocess=preprocess, progress=progress, reference_kernels=reference_kernels)
        results.append({**result, "device": "host"})
    where = _record("eval", results, db) if not no_record else None
    if as_json:
        if len(results) == 1:
            _emit_json({**results[0], "db": where})
        else:
            _emit_json({"results": results, "db": where})
        return
    from edgekit.present import console, eval_table

    console.print(eval_table(results))
    if where:
        console.print(f"recorded in {where}")


@cli.command()
@click.option("--kind", type=click.Choice(["bench", "eval"]))
@click.option("--model", help="Zoo name recorded in the artifact's sidecar.")
@click.option("--artifact", help="Any part of the artifact path.")
@click.option("--runtime", type=click.Choice(["litert", "onnxruntime"]))
@click.option("--device")
@click.option("--threads", type=int)
@click.option("--limit", type=int, default=50, show_default=True, help="Newest N (0: all).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout (one row per result, headline columns).")
@db_option
@json_option
def results(kind, model, artifact, runtime, device, threads, limit, as_csv, db, as_json):
    """List recorded bench and eval results; export them as JSON or CSV."""
    from edgekit.record.store import ResultsStore

    with ResultsStore(db) as store:
        rows = store.query(kind=kind, model=model, artifact=artifact, runtime=runtime, device=device,
                           threads=threads, limit=limit or None)
        where = str(store.path)
    if as_json:
        _emit_json({"db": where, "results": rows})
    elif as_csv:
        from edgekit.record.export import to_csv

        click.echo(to_csv(rows), nl=False)
    else:
        from edgekit.present import console, results_table

        console.print(results_table(rows, where))


@cli.command(name="quant-report")
@click.argument("model_or_artifact")
@click.option("--weights", help="none, imagenet, or a .h5 file (default: from the artifact's sidecar, else none).")
@click.option("--calib", required=True, type=click.Path(), help="Calibration image folder.")
@click.option("--calib-count", default=100, show_default=True)
@click.option("--check", type=click.Path(), help="Debug images (default: held apart from --calib).")
@click.option("--check-count", default=32, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["tflite", "onnx"]), default="tflite", show_default=True)
@click.option("--ptq", type=click.Choice(PTQ_CHOICES), default="gptq-seq", show_default=True)
@click.option("--threshold", default=0.7, show_default=True, help="Flag layers whose RMSE/scale exceeds this.")
@click.option("--top", default=20, show_default=True, help="Rows in the table (JSON/CSV have all).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout, one row per tensor.")
@json_option
def quant_report_cmd(model_or_artifact, weights, calib, calib_count, check, check_count, fmt, ptq, threshold, top,
                     as_csv, as_json):
    """Per-layer int8 error of MODEL_OR_ARTIFACT (a zoo name or one of our exports), worst first."""
    from edgekit.export.convert import ConvertOptions
    from edgekit.quant.report import quant_report

    opts = ConvertOptions(model=model_or_artifact, weights=weights or "none", calib=calib, calib_count=calib_count,
                          check=check, check_count=check_count, ptq=ptq, warn=_warn)
    report = quant_report(model_or_artifact, opts, fmt, threshold)
    if as_json:
        _emit_json(report)
    elif as_csv:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(report["layers"][0]) if report["layers"] else ["layer"])
        writer.writeheader()
        writer.writerows(report["layers"])
        click.echo(buf.getvalue(), nl=False)
    else:
        from edgekit.present import console, quant_report_table

        console.print(quant_report_table(report, top))


@cli.group()
def study():
    """Studies that answer one question with measurements."""


@study.command(name="relu6")
@click.option("-m", "--model", default="v1-0.25-128", show_default=True)
@click.option("--weights", default="none", show_default=True, help="none, imagenet, or a .h5 file.")
@click.option("--calib", required=True, type=click.Path(), help="Calibration image folder.")
@click.option("--calib-count", default=100, show_default=True)
@click.option("--data", required=True, type=click.Path(), help="Labelled folder for top-1.")
@click.option("--limit", type=int, help="Only the first N labelled images.")
@click.option("--out", default="relu6-study", show_default=True, type=click.Path(), help="Where the plot goes.")
@json_option
def study_relu6(model, weights, calib, calib_count, data, limit, out, as_json):
    """Same weights with ReLU6 and plain ReLU: float/int8 top-1, activation ranges, per-layer int8 error."""
    from edgekit.quant.relu6_study import plot, relu6_study

    report = relu6_study(model, weights, calib, data, limit=limit, calib_count=calib_count)
    report["plot"] = str(plot(report, Path(out) / f"relu6_{report['model']}.png"))
    if as_json:
        _emit_json(report)
        return
    from edgekit.present import console, relu6_table

    console.print(relu6_table(report))
    console.print(report["conclusion"])
    console.print(f"plot: {report['plot']}")


@study.command(name="keep-float")
@click.option("-m", "--model", default="v1-0.25-128", show_default=True)
@click.option("--weights", default="none", show_default=True, help="none, imagenet, or a .h5 file.")
@click.option("--calib", required=True, type=click.Path(), help="Calibration image folder.")
@click.option("--calib-count", default=100, show_default=True)
@click.option("--check", type=click.Path(), help="Parity images (default: held apart from --calib).")
@click.option("--data", required=True, type=click.Path(), help="Labelled folder for top-1.")
@click.option("--limit", type=int, help="Only the first N labelled images.")
@click.option("--keep-float", "keep_float", default="auto:3", show_default=True,
              help="LAYER[,LAYER...] or auto[:N] (the N worst layers by RMSE/scale).")
@click.option("--threads", default=1, show_default=True)
@click.option("--out", default="keep-float-study", show_default=True, type=click.Path())
@json_option
def study_keep_float(model, weights, calib, calib_count, check, data, limit, keep_float, threads, out, as_json):
    """Float, int8 and mixed (layers kept float) side by side: top-1, agreement, SQNR, size, latency."""
    from edgekit.quant.keep_float_study import keep_float_study

    report = keep_float_study(model, weights, calib, data, keep_float, out=out, calib_count=calib_count, limit=limit,
                              check=check, threads=threads, warn=_warn)
    if as_json:
        _emit_json(report)
        return
    from edgekit.present import console, keep_float_table

    console.print(keep_float_table(report))


@cli.command(name="compare")
@click.argument("models", nargs=-1)
@db_option
@json_option
def compare_cmd(models, db, as_json):
    """Our measured figures beside the papers' for MODELS (default: every model in the results store)."""
    from edgekit.compare.papers import compare
    from edgekit.record.store import ResultsStore

    with ResultsStore(db) as store:
        evals, benches = store.query(kind="eval"), store.query(kind="bench")
    data = compare(list(models) or None, evals, benches)
    if not data["models"]:
        raise EdgekitError("nothing to compare: no results recorded yet (run 'edgekit eval' / 'edgekit bench'), "
                           "or name models")
    if as_json:
        _emit_json(data)
        return
    from edgekit.present import compare_tables, console

    for table in compare_tables(data):
        console.print(table)


@cli.command()
@db_option
@click.option("--out", default="report", show_default=True, type=click.Path(), help="Output folder.")
@json_option
def report(db, out, as_json):
    """Markdown, a self-contained HTML page and PNG plots from the results store."""
    from edgekit.record.store import ResultsStore
    from edgekit.report.render import build, write

    with ResultsStore(db) as store:
        evals, benches = store.query(kind="eval"), store.query(kind="bench")
        where = str(store.path)
    if not evals and not benches:
        raise EdgekitError(f"no results in {where}: run 'edgekit bench' / 'edgekit eval' first")
    written = write(build(benches, evals, where), out)
    if as_json:
        _emit_json({name: str(path) for name, path in written.items()})
    else:
        for name, path in written.items():
            click.echo(f"wrote {path}")


@cli.command()
@click.option("--no-check", is_flag=True, help="List the profiles without trying to reach them.")
@json_option
def devices(no_check, as_json):
    """Device profiles (built-in and ./edgekit.toml) and whether each is reachable now."""
    from edgekit.devices import load_profiles, reachability

    rows = []
    for profile in load_profiles().values():
        row = profile.to_dict()
        if not no_check:
            row["reachable"], row["reason"] = reachability(profile)
        rows.append(row)
    if as_json:
        _emit_json({"devices": rows})
        return
    from edgekit.present import console, devices_table

    console.print(devices_table(rows))


@cli.command(name="edgetpu-check")
@click.argument("model", type=click.Path())
@click.option("--all-ops", is_flag=True, help="List every op, not only those that stay on the CPU.")
@click.option("--strict", is_flag=True, help="Exit 1 unless every op maps (for CI).")
@json_option
def edgetpu_check(model, all_ops, strict, as_json):
    """Predict which ops of MODEL.tflite the Edge TPU compiler maps (Coral's documented rules).

    An Edge TPU compiler output file is read as it is (what sits inside its custom op).
    """
    from edgekit.edgetpu.check import predict

    if not Path(model).is_file():
        raise EdgekitError(f"model file not found: {model}")
    if Path(model).suffix.lower() != ".tflite":
        raise EdgekitError(f"{Path(model).name}: the Edge TPU compiler reads .tflite files only")
    result = predict(model)
    if as_json:
        _emit_json(result)
    else:
        from edgekit.present import console, edgetpu_table

        console.print(edgetpu_table(result, all_ops))
    if strict and result["ops_on_cpu"]:
        sys.exit(1)


@cli.command()
@click.argument("suite", type=click.Path())
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--address", help="Ray cluster: auto, HOST:PORT or ray://HOST:10001 (default: start a local one).")
@click.option("--resume", is_flag=True, help="Skip cells already in the results store with the same settings.")
@click.option("--task-timeout", default=900.0, show_default=True, help="Ray: seconds to wait for any one task.")
@db_option
@json_option
def sweep(suite, executor, address, resume, task_timeout, db, as_json):
    """Convert, benchmark and evaluate a whole grid (SUITE: a sweep TOML file, e.g. benchmarks/sweep-v1.toml).

    Exit 0 when every cell ran, 1 when some failed (each is listed and recorded), 2 on bad input.
    """
    from edgekit.sweep import load_sweep, make_executor, run_sweep

    known = None
    if executor == "local":
        from edgekit.devices import load_profiles

        known = set(load_profiles())
    plan = load_sweep(suite, known_devices=known)
    runner = make_executor(executor, address, plan.devices if "bench" in plan.steps else [], task_timeout)
    show = not as_json and sys.stderr.isatty()
    try:
        if show:
            from edgekit.present import sweep_progress

            with sweep_progress(len(plan.cells)) as update:
                summary = run_sweep(plan, runner, db=db, resume=resume, progress=update)
        else:
            summary = run_sweep(plan, runner, db=db, resume=resume)
    finally:
        runner.close()
    if as_json:
        _emit_json(summary)
    else:
        from edgekit.present import console, sweep_table

        console.print(sweep_table(summary))
    if summary["failed"]:  # the summary (and the store) lists them; exit 1 so CI notices
        sys.exit(1)


def main() -> None:
    cli(prog_name="edgekit")


if __name__ == "__main__":
    sys.exit(main())
