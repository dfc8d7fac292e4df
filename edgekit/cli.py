"""The ``edgekit`` command: parse the arguments, make one ``edgekit.api`` call, present the result.

Library errors (EdgekitError) become one line on stderr and exit status 2; a quality gate that
fails (``regress``, ``sweep``, ``edgetpu-check --strict``) exits 1. Choices and defaults come from
``edgekit.vocab``; TensorFlow is imported only by the calls that build models, so ``--help`` and
``models`` stay fast.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sys

import click

from edgekit import chatter, vocab
from edgekit.zoo.families import FAMILIES
from edgekit.version import __version__
from edgekit.errors import EdgekitError, describe_failure


EXIT_INCONCLUSIVE = 3  # regress: no entry regressed, but some could not be decided within the budget
EXIT_BUG = 70  # EX_SOFTWARE: an internal error (a bug), apart from bad input (2) and a failed gate (1)


class Terminated(BaseException):
    """SIGTERM, as an exception: ``finally`` blocks run (no half-written file, no scratch left) and the
    command ends with one line and status 143, as a signal's would."""


def _on_sigterm(signum, frame):
    raise Terminated()


# The user's own problems with the machine, not bugs: a full disk, a read-only or forbidden path.
_USER_OS_ERRORS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                   errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
                   errno.EPERM: "operation not permitted"}


def _os_error(exc: OSError) -> str | None:
    """One line for an OSError that is the user's (with the path), or None for one that is a bug."""
    what = _USER_OS_ERRORS.get(exc.errno)
    if what is None:
        return None
    where = exc.filename or getattr(exc, "filename2", None)
    return f"{what}" + (f": {where}" if where else "") + " (nothing half-written was kept)"


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EdgekitError as exc:
            click.echo(f"edgekit: error: {describe_failure(exc, _what(ctx))}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("edgekit: interrupted", err=True)
            ctx.exit(130)
        except Terminated:
            click.echo("edgekit: terminated (SIGTERM); nothing half-written was kept", err=True)
            ctx.exit(143)
        except click.UsageError as exc:
            _usage_error(exc)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except Exception as exc:  # a bug: one line naming the log with its traceback (EDGEKIT_DEBUG=1 re-raises)
            if isinstance(exc, OSError) and _os_error(exc):
                click.echo(f"edgekit: error: {_os_error(exc)}", err=True)
                ctx.exit(2)
            if os.environ.get("EDGEKIT_DEBUG"):
                raise
            note = chatter.captured()
            if note.strip():
                exc.add_note("native libraries wrote (last lines):\n" + "\n".join(note.strip().splitlines()[-20:]))
            click.echo(f"edgekit: error: {describe_failure(exc, _what(ctx))}", err=True)
            ctx.exit(EXIT_BUG)


def _usage_error(exc: click.UsageError) -> None:
    """click's usage errors (a bad option value, a missing argument) as one ``edgekit: error:`` line, exit 2."""
    ctx = exc.ctx
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:  # `edgekit` alone: the help, as click shows it
        click.echo(ctx.get_help())
        sys.exit(2)
    where = f" (see 'edgekit {ctx.info_name} --help')" if ctx is not None and ctx.parent is not None else \
        " (see 'edgekit --help')"
    message = " ".join(exc.format_message().split())
    click.echo(f"edgekit: error: {message}{where}", err=True)
    sys.exit(2)


class Sectioned(click.Command):
    """A command whose ``--help`` lists its options in sections, as a user thinks of them (``sections``:
    title -> parameter names, in order); options in no section come last under "Other"."""

    def __init__(self, *args, sections: dict[str, tuple[str, ...]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sections = sections or {}

    def format_options(self, ctx, formatter) -> None:
        records = {p.name: p.get_help_record(ctx) for p in self.get_params(ctx)}
        placed: set[str] = set()
        for title, names in self.sections.items():
            rows = [records[n] for n in names if records.get(n)]
            placed.update(names)
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
        rest = [record for name, record in records.items() if record and name not in placed]
        if rest:
            with formatter.section("Other options"):
                formatter.write_dl(rest)


def _defaults(key: str, unit: str = "") -> str:
    """``[default: 50; paired: 20]``: a timing default of plain and paired (baseline) runs, from vocab."""
    return f"[default: {vocab.BENCH_DEFAULTS[key]}{unit}; paired: {vocab.REGRESS_DEFAULTS[key]}{unit}]"


def _what(ctx) -> str:
    return "edgekit " + " ".join(sys.argv[1:2]) if len(sys.argv) > 1 else "edgekit"


def _emit_json(data) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _warn(msg: str) -> None:
    click.secho(f"edgekit: warning: {msg}", err=True, fg="yellow")


def _show(as_json: bool) -> bool:
    """Progress bars only for a person at a terminal."""
    return not as_json and sys.stderr.isatty()


def _bar(show: bool):
    """(context manager, progress callback or None): a step progress bar on stderr when ``show``."""
    import contextlib

    if not show:
        return contextlib.nullcontext(), None
    from edgekit.present import step_progress

    return step_progress()


def _api():
    from edgekit import api

    return api


def _console():
    from edgekit import present

    return present.console, present


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
db_option = click.option("--db", type=click.Path(), help="Results database (default: $EDGEKIT_DB or "
                         "~/.local/share/edgekit/results.db).")
no_record_option = click.option("--no-record", is_flag=True, help="Do not store the results.")
models_dir_option = click.option("--models-dir", default="models", show_default=True,
                                 help="Where zoo names find their artifacts.")
crop_option = click.option("--crop", default=vocab.DEFAULT_CROP, show_default=True,
                           help="Central crop fraction before resizing.")
weights_option = click.option("--weights", default="none", show_default=True, help="none, imagenet, or a .h5 file.")
runtime_option = click.option("--runtime", type=click.Choice(vocab.RUNTIME_NAMES), help="Default: from the file suffix.")
preprocess_option = click.option("--preprocess", type=click.Choice(tuple(vocab.PREPROCESSING)),
                                 help="Float-input preprocessing of a foreign artifact (ours are read from the sidecar).")
ptq_option = click.option("--ptq", type=click.Choice(vocab.PTQ_ALGORITHMS), default=vocab.DEFAULT_PTQ,
                          show_default=True, help="Weight rounding before int8 conversion (minmax = the converters' own).")
allow_modified_option = click.option("--allow-modified", is_flag=True, help="Measure an artifact that no longer matches "
                                     "its sidecar's sha256, as a file of unknown origin (default: refused).")
calib_count_option = click.option("--calib-count", default=vocab.DEFAULT_CALIB_COUNT, show_default=True,
                                  help="At most this many calibration images.")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgekit")
@click.option("--verbose", "-v", is_flag=True, help="Show what TensorFlow, absl, oneDNN and LiteRT write to the "
              "terminal (kept off it by default; also EDGEKIT_VERBOSE=1).")
def cli(verbose):
    """MobileNet-class classifiers from the papers to the device.

    Build MobileNet v1/v2/v3 at the papers' multipliers, count them against the published tables,
    export them to TFLite and ONNX (float and int8), and measure latency, memory and accuracy on
    this host or a device, beside the papers' figures. Every command is one call of the Python API
    (``import edgekit``).
    """


@cli.command()
@click.option("--family", type=click.Choice(list(FAMILIES)), help="Only this family.")
@click.option("--published", "published_only", is_flag=True, help="Only variants with published numbers.")
@json_option
def models(family, published_only, as_json):
    """List the zoo with MACs, params and the published numbers beside them."""
    entries = _api().models(family, published_only)
    if as_json:
        return _emit_json(entries)
    console, present = _console()
    console.print(present.zoo_table(entries))
    console.print("Names: FAMILY[-ALPHA][-RESOLUTION][-dDEPTH][-min], e.g. v1-0.25-128, v1-conv-1.0-224 (Conv MobileNet), "
                  "v2-1.0-224-d4 (EfficientNet's depth scaling), v2-1.4, v3-large-0.75-min. "
                  "Any resolution >= 32 divisible by 8 builds with --weights none or a file. Segmenters add -osN "
                  "and -aspp and take HxW: deeplabv3-v2-0.5, deeplabv3-v2-1.0-513-aspp, lraspp-v3-small-1.0-512x1024. "
                  "Detectors: ssdlite-v2, ssdlite-v3-large-1.0-320-reduced. ShuffleNet takes -gG (shufflenet-v1-g8-1.0); "
                  "classifiers -cN classes (v1-1.0-224-c120); v3 -origlast, -stem32, -relu (its redesigns undone).")


@cli.command()
@click.argument("model")
@json_option
def summary(model, as_json):
    """Per-layer table of MODEL (type/stride, filter shape, input size, MACs, params)."""
    data = _api().summary(model)
    if as_json:
        return _emit_json(data)
    console, present = _console()
    console.print(present.summary_table(data))
    for line in present.summary_lines(data):
        console.print(line)


@cli.command()
@click.argument("model")
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--weights", default="imagenet", show_default=True, help="none, imagenet, or a .h5 file.")
@click.option("--labels", type=click.Path(), help="class_index.csv or a labels .txt for class names.")
@crop_option
@click.option("--top", default=5, show_default=True, type=click.IntRange(1, 1000), help="Classes to show per image.")
@json_option
def classify(model, images, weights, labels, crop, top, as_json):
    """Classify IMAGES with MODEL in Keras (the float reference)."""
    from edgekit.zoo.spec import parse_model

    name = parse_model(model).name
    results = _api().classify(model, images, weights=weights, crop=crop, top=top, labels=labels)
    if as_json:
        return _emit_json({"model": name, "weights": weights, "crop": crop, "results": results})
    for line in _console()[1].classify_lines(results, name, weights, crop):
        click.echo(line)


def _number_list(value: str, kind) -> tuple:
    """``"1,2"`` -> (1, 2) in ``kind``; () when a part is not a number (the caller says what it wanted)."""
    try:
        return tuple(kind(v) for v in value.split(","))
    except ValueError:
        return ()


def _triple(ctx, param, value):
    if value is None:
        return None
    numbers = _number_list(value, float)
    if len(numbers) != 3:
        raise EdgekitError(f"--{param.name} takes three comma-separated numbers (R,G,B), got {value!r}")
    return numbers


user_model_options = [
    click.option("--preprocess", type=click.Choice(tuple(vocab.PREPROCESSING)),
                 help="A model file: how 0..255 RGB pixels become its input (detected when the model starts "
                 "with a Rescaling/Normalization layer; otherwise required)."),
    click.option("--mean", callback=_triple, help="With --preprocess imagenet-mean-std: R,G,B means [0.485,0.456,0.406]."),
    click.option("--std", callback=_triple, help="With --preprocess imagenet-mean-std: R,G,B stds [0.229,0.224,0.225]."),
    click.option("--input-size", help="A model file with a dynamic image size: N (square) or HxW, e.g. 48x192 "
                 "(with a fixed size: checked against it)."),
    click.option("--task", "task", type=click.Choice(vocab.TASKS), help="What a model file's outputs mean "
                 "[default: one (N, classes) output is a classifier; anything else plain tensors, compared element by "
                 "element]; an embedding of shape (N, D) needs --task tensor."),
    click.option("--channel-order", type=click.Choice(vocab.CHANNEL_ORDERS), help="A model file trained on BGR "
                 "images (OpenCV's order) [default: rgb]."),
    click.option("--resize", type=click.Choice(vocab.RESIZE_POLICIES), help="How a photo of another shape becomes its "
                 "input: stretch (after --crop), crop to its aspect ratio, or letterbox [default: stretch]."),
    click.option("--labels", "class_labels", type=click.Path(),
                 help="A model file: its class names, one per line in output order [default: the class folders of "
                 "--calib when they are as many as its outputs]."),
    click.option("--trust-model-code", is_flag=True, help="Load a Keras file whose Lambda layers or custom objects run "
                 "code from the file (off: safe mode)."),
    click.option("--anchors", type=click.Path(), help="A detector file with raw outputs (box encodings and class "
                 "scores): its anchors as JSON (the SSD anchor generator's feature_maps, per_cell, min_scale, "
                 "max_scale), recorded in every sidecar so eval can decode its boxes."),
]


def user_model_opts(func):
    for option in reversed(user_model_options):
        func = option(func)
    return func


@cli.command()
@click.option("--in", "in_shape", required=True, help="The layer's input, HxWxC (e.g. 14x14x512).")
@click.option("--out", "out_channels", required=True, type=int, help="Output channels N.")
@click.option("--kernel", default=3, show_default=True, type=int, help="Kernel size D_K.")
@click.option("--alpha", type=float, help="Width multiplier (thins M and N).")
@click.option("--rho", type=float, help="Resolution multiplier (shrinks D_F).")
@click.option("--stride", default=1, show_default=True, type=int)
@json_option
def cost(in_shape, out_channels, kernel, alpha, rho, stride, as_json):
    """Mult-adds and parameters of one layer: standard vs depthwise separable, alpha and rho (v1 paper, Sec. 3)."""
    result = _api().cost(in_shape, out_channels, kernel, alpha=alpha, rho=rho, stride=stride)
    if as_json:
        return _emit_json(result)
    console, present = _console()
    console.print(present.cost_table(result))


CONVERT_SECTIONS = {  # the groups of edgekit.export.options, as the command line spells them
    "Source (which model)": ("model", "weights", "preprocess", "mean", "std", "input_size", "task", "channel_order",
                             "resize", "class_labels", "trust_model_code", "anchors"),
    "Output (precisions, formats, where)": ("p_float", "p_fp16", "p_dynamic", "p_int8", "p_int16x8", "fmt", "out",
                                            "opset", "postprocess"),
    "Calibration and check images": ("calib", "calib_count", "check", "check_count", "crop"),
    "Quantization (what int8 means)": ("ptq", "keep_float", "hswish", "io", "edgetpu", "onnx_calibration"),
    "Quality gate": ("require", "max_drop", "min_agreement", "min_sqnr"),
}


@cli.command(cls=Sectioned, sections=CONVERT_SECTIONS)
@click.option("--model", "-m", required=True, help="Zoo name (v1-0.25-128, v3-small) or your model file: .keras, "
              ".h5, a SavedModel folder, a float .onnx (its .onnx.data beside it) or a float .tflite.")
@click.option("--weights", help="Zoo models: none, imagenet, or a .h5 file [default: none]. A model file has its own.")
@user_model_opts
@click.option("--float", "p_float", is_flag=True, help="float32 (the default when no precision is given).")
@click.option("--fp16", "p_fp16", is_flag=True, help="float16 weights (TFLite).")
@click.option("--dynamic", "p_dynamic", is_flag=True, help="dynamic-range int8 (int8 weights).")
@click.option("--int8", "p_int8", is_flag=True, help="full-integer int8, calibrated.")
@click.option("--int16x8", "p_int16x8", is_flag=True, help="int16 activations, int8 weights (TFLite).")
@click.option("--format", "fmt", type=click.Choice([*vocab.FORMATS, "all"]), default="tflite", show_default=True)
@click.option("--calib", type=click.Path(), help="Calibration image folder (flat, class folders or labels.csv).")
@calib_count_option
@click.option("--check", type=click.Path(), help="Images for the parity check (default: held apart from --calib).")
@click.option("--check-count", default=vocab.DEFAULT_CHECK_COUNT, show_default=True)
@click.option("--io", type=click.Choice(vocab.IO_TYPES), default="float", show_default=True,
              help="Input/output type of full-integer TFLite models (uint8 for the Edge TPU).")
@click.option("--onnx-calibration", type=click.Choice(vocab.ONNX_CALIBRATION), default=vocab.DEFAULT_ONNX_CALIBRATION,
              show_default=True)
@ptq_option
@click.option("--keep-float", help="With --int8 (TFLite): leave these layers float, LAYER[,LAYER...] or "
              "auto[:N] for the N worst by RMSE/scale; writes tflite-int8-mixed.tflite.")
@click.option("--hswish", type=click.Choice(vocab.HSWISH_MODES), default=vocab.DEFAULT_HSWISH, show_default=True,
              help="MobileNetV3 int8 TFLite: split hard-swish into ops XNNPACK delegates, or keep the stock graph.")
@click.option("--edgetpu", is_flag=True, help="For the Edge TPU: full-integer int8 TFLite, uint8 I/O, batch 1; "
              "predicts the op mapping into the sidecar and compiles it if edgetpu_compiler is on PATH.")
@click.option("--opset", default=vocab.DEFAULT_OPSET, show_default=True, help="ONNX opset (13..18).")
@click.option("--postprocess", type=click.Choice(vocab.POSTPROCESS_MODES), default=vocab.DEFAULT_POSTPROCESS,
              show_default=True, help="A detector with raw outputs: box decoding and NMS done by edgekit on the host, "
              "or written into the graph (TFLite_Detection_PostProcess; ONNX NonMaxSuppression), kept float.")
@click.option("--require", help="Parity floors for quantized artifacts, e.g. agreement>=0.9,sqnr>=15,drop<=1.0 "
              "(drop needs labelled --check images), or none [default: measured floors per precision, "
              "SQNR only for random weights; see docs/export.md]. A miss: written, marked failed, exit 1.")
@click.option("--max-drop", type=float, help="With --int8: keep the fewest layers float (worst first) until the "
              "top-1 drop on the labelled check images is at most this many points; writes *-int8-mixed.")
@click.option("--min-agreement", type=float, help="With --int8: the same until top-1 agreement with Keras on the "
              "check images is at least this fraction (no labels needed).")
@click.option("--min-sqnr", type=float, help="With --int8: the same until the logits' SQNR against Keras is at "
              "least this many dB (the target a random-weight model has).")
@crop_option
@click.option("--out", default="models", show_default=True, type=click.Path(), help="Output root folder.")
@json_option
def convert(model, weights, preprocess, mean, std, input_size, task, channel_order, resize, class_labels,
            trust_model_code, anchors, p_float, p_fp16,
            p_dynamic, p_int8, p_int16x8, fmt, calib, calib_count, check, check_count, io, onnx_calibration, ptq,
            keep_float, hswish, edgetpu, opset, postprocess, require, max_drop, min_agreement, min_sqnr, crop, out,
            as_json):
    """Export MODEL to TFLite and/or ONNX at one or more precisions, each checked for parity.

    Float and fp16 must match Keras (else nothing is written, exit 2); quantized artifacts are judged
    against floors on agreement, SQNR and (labelled check images) top-1 drop: one below its floor is
    written, marked failed in its sidecar and table, and the command exits 1.
    """
    flags = [("float", p_float), ("fp16", p_fp16), ("dynamic", p_dynamic), ("int8", p_int8), ("int16x8", p_int16x8)]
    from edgekit.present import progress_over

    artifacts = _api().convert(
        model, weights=weights, preprocess=preprocess, mean=mean, std=std, input_size=input_size,
        task=task, channel_order=channel_order, resize=resize, labels=class_labels,
        trust_model_code=trust_model_code, anchors=anchors, precisions=tuple(name for name, on in flags if on),
        formats=vocab.FORMATS if fmt == "all" else (fmt,), calib=calib, calib_count=calib_count, check=check,
        check_count=check_count, io=io, out=out, crop=crop, onnx_opset=opset, onnx_calibration=onnx_calibration,
        postprocess=postprocess, ptq=ptq, keep_float=keep_float, hswish=hswish, edgetpu=edgetpu, skip_unsupported=fmt == "all", warn=_warn,
        require=require, max_drop=max_drop, min_agreement=min_agreement, min_sqnr=min_sqnr,
        progress=None if as_json else progress_over("decoding calibration images"))
    if as_json:
        _emit_json({"artifacts": [a.to_dict() for a in artifacts]})
    else:
        console, present = _console()
        console.print(present.convert_table(artifacts))
        for line in present.convert_lines(artifacts):
            console.print(line)
    failed = [a for a in artifacts if a["parity"].get("passed") is False]
    if failed:
        from edgekit.errors import QualityGateError

        raise QualityGateError(f"{len(failed)} artifact{'s' if len(failed) > 1 else ''} below the parity floor (written, "
                               "marked failed): " + "; ".join(f"{a['artifact']}: {', '.join(a['parity']['failed'])}"
                                                              for a in failed))


def _thread_counts(ctx, param, value):
    if value is None:
        return None
    counts = _number_list(value, int)
    if not counts or any(c < 1 for c in counts):
        raise EdgekitError(f"--threads takes thread counts >= 1, one or a comma-separated list (1,2), got {value!r}")
    return counts[0] if len(counts) == 1 else counts


BENCH_SECTIONS = {  # the groups of edgekit.measure.options, then the paired (baseline) runs and the output
    "Timing": ("warmup", "runs", "min_time", "rounds", "batch"),
    "Execution": ("runtime", "threads", "no_xnnpack", "optimization", "delegate"),
    "Device and inputs": ("device", "ssh_host", "inputs", "preprocess", "allow_modified"),
    "Paired runs and baselines (for regress)": ("suite", "reference", "save_baseline", "sessions", "no_reference"),
}
BENCH_HELP = f"""Latency and memory of ARTIFACTS (.tflite/.onnx files, or zoo names meaning their exports).

    With --suite, --reference or --save-baseline ("paired") each artifact is timed with its reference
    in the same rounds, in several sessions of fresh worker processes (defaults then:
    {vocab.REGRESS_SESSIONS} sessions of {vocab.REGRESS_DEFAULTS['runs']} runs, {vocab.REGRESS_DEFAULTS['min_time']} s,
    {vocab.REGRESS_DEFAULTS['rounds']} rounds, unless given). A baseline without --suite or --reference gets
    edgekit's built-in reference workloads, one per kind of artifact, made beside it.
    """


@cli.command(cls=Sectioned, sections=BENCH_SECTIONS, help=BENCH_HELP)
@click.argument("artifacts", nargs=-1)
@runtime_option
@click.option("--threads", callback=_thread_counts, help="Threads, or a list (1,2,4): each count timed in the same "
              "interleaved run, with the speed-up per thread [default: the device profile's: host 1, rpi4 4].")
@click.option("--warmup", type=int, help=f"Untimed runs before timing {_defaults('warmup')}.")
@click.option("--runs", type=int, help=f"Timed runs, at least {_defaults('runs')}.")
@click.option("--min-time", type=float, help=f"Seconds of timed runs per artifact, at least {_defaults('min_time', ' s')}.")
@click.option("--rounds", type=int, help=f"Interleaved rounds the timed runs are split into {_defaults('rounds')}.")
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
@click.option("--sessions", type=int, help="With --suite/--reference/--save-baseline: sessions (fresh worker "
              f"processes) per artifact [default: {vocab.REGRESS_SESSIONS}].")
@click.option("--no-reference", is_flag=True, help="With --save-baseline: no reference workload (raw medians); "
              "by default edgekit makes its own beside the baseline (<baseline>.refs/).")
@preprocess_option
@click.option("--no-xnnpack", is_flag=True, help="LiteRT: built-in kernels only.")
@click.option("--optimization", type=click.Choice(vocab.ORT_OPTIMIZATION), default=vocab.DEFAULT_ORT_OPTIMIZATION,
              show_default=True, help="ONNX Runtime graph optimization level.")
@click.option("--delegate", help="LiteRT delegate library to load (e.g. libedgetpu.so.1).")
@allow_modified_option
@models_dir_option
@db_option
@no_record_option
@json_option
def bench(artifacts, runtime, threads, warmup, runs, min_time, rounds, batch, device, ssh_host, inputs, suite, reference,
          save_baseline, sessions, no_reference, preprocess, no_xnnpack, optimization, delegate, allow_modified, models_dir,
          db, no_record, as_json):
    bar, progress = _bar(_show(as_json))
    with bar:
        run = _api().bench(
            artifacts, suite=suite, reference=reference, save_baseline=save_baseline, sessions=sessions,
            no_reference=no_reference,
            models_dir=models_dir, record=not no_record, db=db, warn=_warn, progress=progress, runtime=runtime,
            threads=threads, warmup=warmup, runs=runs, min_time=min_time, rounds=rounds, batch=batch, device=device,
            host=ssh_host, inputs=inputs, preprocess=preprocess, xnnpack=not no_xnnpack, optimization=optimization,
            delegate=delegate, allow_modified=allow_modified)
    if as_json:
        _emit_json(run.to_dict())
    elif run.results:
        console, present = _console()
        console.print(present.bench_table(run.results))
        for line in present.scaling_lines(run.results) + present.int8_slower_lines(run.results):
            console.print(line)
        for line in present.recorded_lines(run.db, run.baseline):
            console.print(line)
    if run.errors:
        raise EdgekitError("; ".join(run.errors))


@cli.command()
@click.argument("artifacts", nargs=-1, required=True)
@click.option("--device", default="host", show_default=True, help="A device profile (see `edgekit devices`).")
@click.option("--host", "ssh_host", help="user@host[:port] for an SSH device instead of its profile's.")
@click.option("--threads", type=int, help="Threads [default: the device profile's].")
@click.option("--runs", type=int, default=30, show_default=True, help="Timed runs per op per round.")
@click.option("--rounds", type=int, default=3, show_default=True)
@click.option("--top", default=15, show_default=True, type=click.IntRange(min=1),
              help="Op rows in the table (--json/--csv have all).")
@click.option("--plot", type=click.Path(), help="Write a PNG bar chart (time share beside MAC share by op kind) here.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout, one row per op.")
@allow_modified_option
@models_dir_option
@db_option
@no_record_option
@json_option
def profile(artifacts, device, ssh_host, threads, runs, rounds, top, plot, as_csv, allow_modified, models_dir, db,
            no_record, as_json):
    """Where the time goes: per-op latency of ARTIFACTS joined with MACs, parameters, Edge TPU placement.

    LiteRT: each op is cut into a one-op model and timed by the same interpreter and kernels (XNNPACK
    runs the whole graph as one node and offers no per-op profile), in rounds interleaved with the whole
    model; ONNX Runtime: its own profiler. The per-op sum is set beside the whole-model median of the
    same run, and the gap is reported. Op kinds are totalled beside the v1 paper's Table 2.
    """
    run = _api().profile(artifacts, device=device, host=ssh_host, threads=threads, runs=runs, rounds=rounds,
                         models_dir=models_dir, record=not no_record, db=db, plot=plot, allow_modified=allow_modified)
    if as_json:
        return _emit_json(run)
    if as_csv:
        from edgekit.record.export import rows_to_csv

        rows = [{"artifact": lg["artifact"], **{k: v for k, v in op.items() if k != "shape"},
                 "shape": "x".join(map(str, op["shape"]))} for lg in run["ledgers"] for op in lg["ops"]]
        return click.echo(rows_to_csv(rows, default_fields=["artifact"]), nl=False)
    console, present = _console()
    for table in present.ledger_tables(run["ledgers"], top):
        console.print(table)
    for line in present.recorded_lines(run["db"]) + ([f"plot: {run['plot']}"] if run.get("plot") else []):
        console.print(line)


@cli.command()
@click.option("--device", default="host", show_default=True, help="A device profile (see 'edgekit devices').")
@click.option("--host", "ssh_host", help="user@host[:port] of an SSH device, instead of its profile's.")
@click.option("--threads", default=1, show_default=True)
@click.option("--runs", default=30, show_default=True, help="Timed runs per kernel and round.")
@click.option("--rounds", default=3, show_default=True)
@click.option("--out", default="models/roof-kernels", show_default=True, type=click.Path(),
              help="Where the three kernel models are made (once).")
@db_option
@json_option
def roof(device, ssh_host, threads, runs, rounds, out, db, as_json):
    """The device's roofs: float32 and int8 compute peaks (a large 1x1 convolution) and streaming bandwidth (a
    32 MiB ADD), timed on the device; stored with its fingerprint so 'profile' gives each op its fraction."""
    measured = _api().roof(device=device, host=ssh_host, threads=threads, runs=runs, rounds=rounds, out=out, db=db)
    if as_json:
        return _emit_json(measured)
    console, present = _console()
    console.print(present.roof_table(measured))


def _resolutions(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        values = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise EdgekitError(f"--hold-out '{text}': give input resolutions in pixels, e.g. 160,192") from None
    if not values or min(values) < 1:
        raise EdgekitError(f"--hold-out '{text}': give input resolutions in pixels, e.g. 160,192")
    return values


@cli.command()
@click.argument("models", nargs=-1)
@click.option("--fit", "do_fit", is_flag=True, help="Fit the latency model on --device: convert the suite of zoo "
              "variants (once), profile each there, fit per runtime and precision, validate on the held-out ones.")
@click.option("--device", default="host", show_default=True, help="A device profile (see 'edgekit devices').")
@click.option("--host", "ssh_host", help="user@host[:port] of an SSH device (with --fit), instead of its profile's.")
@click.option("--runtime", default="litert", show_default=True, type=click.Choice(["litert", "onnxruntime"]))
@click.option("--precision", default="int8", show_default=True, type=click.Choice(["float", "int8"]))
@click.option("--threads", default=1, show_default=True)
@click.option("--suite", help="With --fit: comma-separated zoo variants to fit and validate on [default: v1, v2, "
              "v3-small and v3-large at three or four widths x 128, 160, 192, 224 px].")
@click.option("--hold-out", default=",".join(map(str, vocab.LATENCY_HOLD_OUT)), show_default=True,
              help="With --fit: the resolutions held out of the fit, to validate it on.")
@click.option("--calib", type=click.Path(), help="With --fit: images to calibrate the suite's int8 conversions.")
@click.option("--work", default=vocab.LATENCY_WORK, show_default=True, type=click.Path(),
              help="With --fit: where the suite's artifacts are made (and kept).")
@click.option("--runs", default=10, show_default=True, help="With --fit: runs per op and round of each profile.")
@click.option("--rounds", default=2, show_default=True)
@db_option
@json_option
def estimate(models, do_fit, device, ssh_host, runtime, precision, threads, suite, hold_out, calib, work, runs, rounds,
             db, as_json):
    """Estimated latency of zoo variants on a device, from their architecture alone (no conversion), by a
    kernel-level model fitted on that device's ledgers; every figure is an estimate, shown with the fit's
    error on variants it did not see. 'estimate --fit --device D' makes the fit."""
    api = _api()
    if do_fit:
        if models:
            raise EdgekitError("estimate --fit fits the model on --suite; estimate variants in a second call")
        bar, progress = _bar(_show(as_json))
        with bar:
            fitted = api.fit_latency(device=device, host=ssh_host, threads=threads,
                                     models=[m.strip() for m in suite.split(",") if m.strip()] if suite else None,
                                     hold_out=_resolutions(hold_out), work=work, calib=calib, runs=runs, rounds=rounds,
                                     db=db, progress=progress)
        if as_json:
            return _emit_json(fitted)
        console, present = _console()
        for table in present.latency_fit_tables(fitted):
            console.print(table)
        return
    if suite or calib:
        raise EdgekitError("--suite and --calib are for 'estimate --fit'")
    got = api.estimate(list(models), device=device, runtime=runtime, precision=precision, threads=threads, db=db)
    if as_json:
        return _emit_json(got)
    console, present = _console()
    console.print(present.estimate_table(got))


@cli.command()
@click.option("--budget", required=True, help="Latency budget: 5ms, 800us, 0.01s (a bare number is ms).")
@click.option("--device", default="host", show_default=True, help="A device with a latency fit ('estimate --fit').")
@click.option("--runtime", default="litert", show_default=True, type=click.Choice(["litert", "onnxruntime"]))
@click.option("--precision", default="int8", show_default=True, type=click.Choice(["float", "int8"]))
@click.option("--family", "families", default="v1,v2,v3", show_default=True,
              help="Comma-separated: v1, v2, v3 (both v3 sizes), v3-small, v3-large.")
@click.option("--threads", default=1, show_default=True)
@click.option("--plot", type=click.Path(), help="Write a PNG of top-1 against estimated latency.")
@click.option("--verify", is_flag=True, help="Convert the front's variants (random weights) and bench them on the "
              "device in one interleaved session: each estimate beside its measurement.")
@click.option("--calib", type=click.Path(), help="With --verify: images to calibrate int8 conversions.")
@click.option("--work", type=click.Path(), help="With --verify: where the variants are converted (and kept; the fit's "
              f"suite is reused).  [default: {vocab.LATENCY_WORK}]")
@db_option
@json_option
def pick(budget, device, runtime, precision, families, threads, plot, verify, calib, work, db, as_json):
    """The zoo variants (width x resolution) on the accuracy/latency Pareto front under --budget on a device:
    the papers' top-1 beside each one's estimated latency (from 'estimate --fit' on that device)."""
    if (calib is not None or work is not None) and not verify:
        raise EdgekitError("--calib and --work go with --verify (they say how to convert the picked variants)")
    bar, progress = _bar(_show(as_json) and verify)
    with bar:
        picked = _api().pick(budget=budget, device=device, runtime=runtime, precision=precision, families=families,
                             threads=threads, db=db, plot=plot, verify=verify, calib=calib, work=work or vocab.LATENCY_WORK,
                             progress=progress)
    if as_json:
        return _emit_json(picked)
    console, present = _console()
    console.print(present.pick_table(picked))


@cli.command()
@click.option("--baseline", required=True, type=click.Path(), help="From 'edgekit bench --save-baseline' (or an earlier "
              "--save-candidate: a rolling baseline).")
@click.option("--candidate", type=click.Path(), help="A second baseline file (default: time the baseline's entries "
              "again, adding sessions until each decides).")
@click.option("--threshold", default=f"{vocab.REGRESS_THRESHOLD:.0%}", show_default=True,
              help="Smallest slowdown that fails, in percent (e.g. 10%).")
@click.option("--creep", default=f"{vocab.CREEP_THRESHOLD:.0%}", show_default=True,
              help="Drift from the oldest baseline of the line (or --pinned) that fails: small slowdowns add up.")
@click.option("--pinned", type=click.Path(), help="A pinned (release) baseline to measure creep against, instead "
              "of the oldest one the rolling baseline carries.")
@click.option("--confidence", default=0.95, show_default=True,
              help="Interval level for the run as a whole (Bonferroni over entries, comparisons and looks).")
@click.option("--max-sessions", type=int, help="Sessions per entry the gate may spend before an open entry is "
              f"inconclusive [default: {vocab.REGRESS_MAX_SESSIONS}].")
@click.option("--time-budget", type=float, help=f"Seconds the gate may spend [default: {vocab.REGRESS_TIME_BUDGET:g}].")
@click.option("--allow-env-change", is_flag=True, help="Compare even if the baseline comes from another machine.")
@click.option("--no-reference", is_flag=True, help="Do not normalise by the reference workload.")
@click.option("--save-candidate", type=click.Path(), help="Also write the candidate run as the next (rolling) "
              "baseline; it carries the oldest one along for --creep.")
@json_option
def regress(baseline, candidate, threshold, creep, pinned, confidence, max_sessions, time_budget, allow_env_change,
            no_reference, save_candidate, as_json):
    """Did anything in the baseline's suite get slower beyond noise and --threshold?

    Exit 0: every entry decided and none regressed; 1: an entry regressed, or crept past --creep since
    the oldest (or pinned) baseline; 3: none regressed but some stayed inconclusive within the session
    and time budget (run again on a quieter machine, or raise the budget); 2: bad input.
    """
    bar, progress = _bar(_show(as_json))
    with bar:
        report = _api().regress(baseline, candidate=candidate, threshold=_percent(threshold), confidence=confidence,
                                allow_env_change=allow_env_change, use_reference=not no_reference, pinned=pinned,
                                creep=_percent(creep, "--creep"), max_sessions=max_sessions, time_budget=time_budget,
                                save_candidate=save_candidate, warn=_warn, progress=progress)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        from edgekit.compare.regress import markdown

        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as handle:
            handle.write(markdown(report.to_dict()))
    if as_json:
        _emit_json(report.to_dict())
    else:
        console, present = _console()
        console.print(present.regress_table(report))
    if report.regressed or report.get("crept"):
        click.get_current_context().exit(1)
    if report.get("inconclusive"):
        click.get_current_context().exit(EXIT_INCONCLUSIVE)


def _percent(text: str, option: str = "--threshold") -> float:
    try:
        value = float(str(text).strip().rstrip("%"))
    except ValueError:
        raise EdgekitError(f"{option} must be a percentage such as 10%, got {text!r}") from None
    return value / 100


@cli.command(name="eval")
@click.argument("artifacts", nargs=-1, required=True)
@click.option("--data", required=True, type=click.Path(), help="Labelled data: a folder (labels.csv, WordNet-id or "
              "class folders; a segmenter's images/ + masks/ or a VOC tree) or a COCO JSON file.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N images.")
@crop_option
@click.option("--threads", default=1, show_default=True)
@runtime_option
@preprocess_option
@click.option("--reference-kernels", is_flag=True, help="LiteRT: TFLite's reference kernels, the same bytes on "
              "every CPU (compare outputs_sha256 across machines).")
@click.option("--labels", "class_labels", type=click.Path(), help="An N-class model: class names, one per line in "
              "output order [default: the sidecar's, else the sorted class folders].")
@click.option("--confusion", type=click.Path(), help="An N-class model: write its confusion matrix as a PNG in this folder.")
@click.option("--overlay", type=click.Path(), help="A segmenter: write image | reference mask | prediction as one "
              "PNG per image in this folder (`edgekit report` shows them).")
@click.option("--task", type=click.Choice(vocab.SCORED_TASKS), help="What the outputs mean [default: from the "
              "model's outputs]; a model that is not a classifier needs its task named.")
@allow_modified_option
@models_dir_option
@db_option
@no_record_option
@json_option
def evaluate(artifacts, data, limit, crop, threads, runtime, preprocess, reference_kernels, class_labels, confusion,
             overlay, task, allow_modified, models_dir, db, no_record, as_json):
    """Accuracy of ARTIFACTS on labelled data: a classifier's top-1/top-5, a segmenter's mIoU.

    DATA: ImageNet labels (labels.csv with class_index, or WordNet-id folders) for ImageNet classifiers;
    for a model of N other classes, one sub-folder per class (sorted names = class indices) or a
    labels.csv (filename,class). N-class results add per-class accuracy, balanced accuracy and the
    confusion matrix. A segmenter (per-pixel logits, a sigmoid mask or a class map) reads images/ +
    masks/ (the same stems; class-index PNG or BMP, 255 = ignore), a PASCAL VOC tree, or a COCO JSON
    file whose categories --labels maps by name; it scores mIoU, per-class IoU and pixel accuracy over
    the whole frame (no --crop).
    """
    from edgekit.present import progress_over

    run = _api().evaluate(artifacts, data, limit=limit, crop=crop, threads=threads, runtime=runtime,
                          preprocess=preprocess, reference_kernels=reference_kernels, models_dir=models_dir,
                          record=not no_record, db=db, progress=progress_over if _show(as_json) else None,
                          labels=class_labels, confusion=confusion, task=task, allow_modified=allow_modified,
                          overlay=overlay)
    if as_json:
        one = len(run.results) == 1
        return _emit_json({**run.results[0].to_dict(), "db": run.db} if one else run.to_dict())
    console, present = _console()
    for table in present.eval_tables(run.results):
        console.print(table)
    for table in present.class_tables(run.results):
        console.print(table)
    for line in present.recorded_lines(run.db):
        console.print(line)


@cli.command()
@click.option("--kind", type=click.Choice(["bench", "eval", "profile"]))
@click.option("--model", help="Zoo name recorded in the artifact's sidecar.")
@click.option("--artifact", help="Any part of the artifact path.")
@runtime_option
@click.option("--device")
@click.option("--threads", type=int)
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True, help="Newest N (0: all).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout (one row per result, headline columns).")
@db_option
@json_option
def results(kind, model, artifact, runtime, device, threads, limit, as_csv, db, as_json):
    """List recorded bench and eval results; export them as JSON or CSV."""
    where, rows = _api().results(kind=kind, model=model, artifact=artifact, runtime=runtime, device=device,
                                 threads=threads, limit=limit, db=db)
    if as_json:
        return _emit_json({"db": where, "results": rows})
    if as_csv:
        from edgekit.record.export import to_csv

        return click.echo(to_csv(rows), nl=False)
    console, present = _console()
    console.print(present.results_table(rows, where))


@cli.command(name="quant-report")
@click.argument("model_or_artifact")
@click.option("--weights", help="none, imagenet, or a .h5 file (default: from the artifact's sidecar, else none).")
@click.option("--preprocess", type=click.Choice(tuple(vocab.PREPROCESSING)),
              help="A Keras model file without a leading Rescaling layer: how pixels become its input.")
@click.option("--trust-model-code", is_flag=True, help="A Keras file with Lambda layers or custom objects.")
@click.option("--calib", required=True, type=click.Path(), help="Calibration image folder.")
@calib_count_option
@click.option("--check", type=click.Path(), help="Debug images (default: held apart from --calib).")
@click.option("--check-count", default=vocab.DEFAULT_CHECK_COUNT, show_default=True)
@click.option("--format", "fmt", type=click.Choice(vocab.FORMATS), default="tflite", show_default=True)
@ptq_option
@click.option("--threshold", default=0.7, show_default=True, help="Flag layers whose RMSE/scale exceeds this.")
@click.option("--top", default=20, show_default=True, type=click.IntRange(min=1),
              help="Rows in the table (JSON/CSV have all).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout, one row per tensor.")
@json_option
def quant_report_cmd(model_or_artifact, weights, preprocess, trust_model_code, calib, calib_count, check, check_count,
                     fmt, ptq, threshold, top, as_csv, as_json):
    """Per-layer int8 error of MODEL_OR_ARTIFACT (a zoo name, your Keras model file, or one of our exports),
    worst first."""
    report = _api().quant_report(model_or_artifact, calib=calib, weights=weights, fmt=fmt, threshold=threshold,
                                 warn=_warn, calib_count=calib_count, check=check, check_count=check_count, ptq=ptq,
                                 preprocess=preprocess, trust_model_code=trust_model_code)
    if as_json:
        return _emit_json(report.to_dict())
    if as_csv:
        from edgekit.record.export import rows_to_csv

        return click.echo(rows_to_csv(report.layers, default_fields=["layer"]), nl=False)
    console, present = _console()
    console.print(present.quant_report_table(report, top))


@cli.group()
def study():
    """Studies that answer one question with measurements."""


@study.command(name="relu6")
@click.option("-m", "--model", default="v1-0.25-128", show_default=True)
@weights_option
@click.option("--calib", required=True, type=click.Path(), help="Calibration image folder.")
@calib_count_option
@click.option("--data", required=True, type=click.Path(), help="Labelled folder for top-1.")
@click.option("--limit", type=int, help="Only the first N labelled images.")
@click.option("--out", default="relu6-study", show_default=True, type=click.Path(), help="Where the plot goes.")
@json_option
def study_relu6(model, weights, calib, calib_count, data, limit, out, as_json):
    """Same weights with ReLU6 and plain ReLU: float/int8 top-1, activation ranges, per-layer int8 error."""
    report = _api().study_relu6(model, weights=weights, calib=calib, data=data, calib_count=calib_count, limit=limit,
                                out=out)
    if as_json:
        return _emit_json(report)
    console, present = _console()
    console.print(present.relu6_table(report))
    console.print(report["conclusion"])
    console.print(f"plot: {report['plot']}")


@study.command(name="keep-float")
@click.option("-m", "--model", default="v1-0.25-128", show_default=True)
@weights_option
@click.option("--calib", required=True, type=click.Path(), help="Calibration image folder.")
@calib_count_option
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
    report = _api().study_keep_float(model, weights=weights, calib=calib, data=data, keep_float=keep_float,
                                     calib_count=calib_count, check=check, limit=limit, threads=threads, out=out,
                                     warn=_warn)
    if as_json:
        return _emit_json(report)
    console, present = _console()
    console.print(present.keep_float_table(report))


@study.command(name="v3-ablations")
@click.option("--models", default="v3-large,v3-small", show_default=True, help="Comma-separated: v3-large, v3-small.")
@click.option("--calib", required=True, type=click.Path(), help="Calibration image folder (int8).")
@calib_count_option
@click.option("--format", "fmt", type=click.Choice([*vocab.FORMATS, "all"]), default="all", show_default=True)
@click.option("--alpha", default=1.0, show_default=True, type=float, help="Width multiplier of every variant.")
@click.option("--resolution", default=224, show_default=True, type=int, help="Input size of every variant.")
@click.option("--threads", default=1, show_default=True)
@click.option("--runs", default=20, show_default=True, help="Timed runs per artifact and round.")
@click.option("--rounds", default=4, show_default=True, help="Interleaved rounds.")
@click.option("--out", default="v3-ablations", show_default=True, type=click.Path())
@json_option
def study_v3_ablations(models, calib, calib_count, fmt, alpha, resolution, threads, runs, rounds, out, as_json):
    """MobileNetV3's redesigns undone (original last stage, 32-filter stem, ReLU for h-swish): MAdds, params and
    float/int8 latency here, in one interleaved run, beside the v3 paper's savings (Sec. 5.1, Table 5)."""
    report = _api().study_v3_ablations(tuple(m.strip() for m in models.split(",") if m.strip()), calib=calib,
                                       formats=vocab.FORMATS if fmt == "all" else (fmt,), alpha=alpha,
                                       resolution=resolution, calib_count=calib_count, threads=threads, runs=runs,
                                       rounds=rounds, out=out, warn=_warn)
    if as_json:
        return _emit_json(report)
    console, present = _console()
    console.print(present.v3_ablations_table(report))


@cli.command(name="compare")
@click.argument("models", nargs=-1)
@db_option
@json_option
def compare_cmd(models, db, as_json):
    """Our measured figures beside the papers' for MODELS (default: every model in the results store)."""
    data = _api().compare(models, db=db)
    if as_json:
        return _emit_json(data)
    console, present = _console()
    for table in present.compare_tables(data):
        console.print(table)


@cli.command()
@db_option
@click.option("--out", default="report", show_default=True, type=click.Path(), help="Output folder.")
@json_option
def report(db, out, as_json):
    """Markdown, a self-contained HTML page and PNG plots from the results store."""
    written = _api().report(out=out, db=db)
    if as_json:
        return _emit_json({name: str(path) for name, path in written.items()})
    for path in written.values():
        click.echo(f"wrote {path}")


@cli.command()
@click.option("--no-check", is_flag=True, help="List the profiles without trying to reach them.")
@json_option
def devices(no_check, as_json):
    """Device profiles (built-in and ./edgekit.toml) and whether each is reachable now."""
    rows = _api().devices(check=not no_check)
    if as_json:
        return _emit_json({"devices": rows})
    console, present = _console()
    console.print(present.devices_table(rows))


@cli.command(name="edgetpu-check")
@click.argument("model", type=click.Path())
@click.option("--all-ops", is_flag=True, help="List every op, not only those that stay on the CPU.")
@click.option("--strict", is_flag=True, help="Exit 1 unless every op maps (for CI).")
@json_option
def edgetpu_check(model, all_ops, strict, as_json):
    """Predict which ops of MODEL.tflite the Edge TPU compiler maps (Coral's documented rules).

    An Edge TPU compiler output file is read as it is (what sits inside its custom op).
    """
    result = _api().edgetpu_check(model)
    if as_json:
        _emit_json(result)
    else:
        console, present = _console()
        console.print(present.edgetpu_table(result, all_ops))
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
    from edgekit.present import sweep_progress

    summary = _api().sweep(suite, executor=executor, address=address, resume=resume, task_timeout=task_timeout,
                           db=db, progress=sweep_progress if _show(as_json) else None)
    if as_json:
        _emit_json(summary.to_dict())
    else:
        console, present = _console()
        console.print(present.sweep_table(summary))
    if summary.failed:  # the summary (and the store) lists them; exit 1 so CI notices
        sys.exit(1)


def main() -> None:
    """Entry point of the ``edgekit`` console script: native libraries' chatter kept off the terminal
    (``--verbose`` shows it), SIGTERM ending like Ctrl-C, and every usage error as one line."""
    verbose = any(a in ("--verbose", "-v") for a in sys.argv[1:2]) or bool(os.environ.get("EDGEKIT_VERBOSE"))
    chatter.capture(verbose)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = cli.main(prog_name="edgekit", standalone_mode=False)
    except click.UsageError as exc:
        _usage_error(exc)
    except click.exceptions.Abort:
        click.echo("edgekit: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"edgekit: error: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    sys.exit(main())
