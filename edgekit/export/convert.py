"""The export stage end to end: build -> calibrate -> convert -> check parity -> publish.

``convert(ConvertOptions(...))`` is the Python API behind ``edgekit convert``; it returns the
sidecars of the artifacts it wrote.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from edgekit import files
from edgekit.errors import EdgekitError
from edgekit.export import artifact as art
from edgekit.export import calibration as cal
from edgekit.export import mixed
from edgekit.export import onnx as onnx_export
from edgekit.export import parity
from edgekit.export import tflite as tflite_export
from edgekit.export.quiet import quiet
from edgekit.zoo import count as count_mod
from edgekit.zoo import user as user_mod
from edgekit.zoo import weights as weights_mod
from edgekit.zoo.spec import parse_model
from edgekit.vocab import (DEFAULT_CALIB_COUNT, DEFAULT_CHECK_COUNT, DEFAULT_CROP, DEFAULT_ONNX_CALIBRATION,
                           DEFAULT_OPSET, DEFAULT_PTQ, FORMAT_PRECISIONS, FORMAT_RUNTIME, FORMATS, HSWISH_MODES,
                           IO_TYPES, ONNX_CALIBRATION, PTQ_ALGORITHMS, QUANTIZED)

MIN_HELD_APART = 8


@dataclass(kw_only=True)
class ConvertOptions:
    """What ``convert`` makes: one model at several precisions and formats, and how.

    ``model`` is a zoo name (``edgekit models``) with ``weights`` none (seeded random, ``none:SEED``),
    imagenet or a Keras .h5 file; or the user's own model file (.keras, .h5, a SavedModel folder or a float
    .onnx), whose preprocessing is declared (``preprocess``) or detected from a leading Rescaling layer.
    Quantized precisions calibrate on ``calib`` (``calib_count`` images) and every artifact is checked for
    parity against the source model on ``check`` images held apart from them.
    """

    model: str
    weights: str | None = None  # zoo models: "none" when not given; a model file carries its own
    preprocess: str | None = None  # a model file: vocab.PREPROCESSING name (zoo models know theirs)
    mean: tuple[float, float, float] | None = None  # with preprocess="imagenet-mean-std"
    std: tuple[float, float, float] | None = None
    input_size: int | None = None  # an ONNX model with a dynamic spatial size
    labels: str | None = None  # a model file: its class names, one per line (default: calibration class folders)
    trust_model_code: bool = False  # a Keras file with Lambda layers / custom objects: run code from it
    precisions: tuple[str, ...] = ("float",)
    formats: tuple[str, ...] = ("tflite",)
    calib: str | None = None
    calib_count: int = DEFAULT_CALIB_COUNT
    check: str | None = None
    check_count: int = DEFAULT_CHECK_COUNT
    io: str = "float"
    out: str = "models"
    crop: float = DEFAULT_CROP
    onnx_opset: int = DEFAULT_OPSET
    onnx_calibration: str = DEFAULT_ONNX_CALIBRATION
    onnx_activations: str = onnx_export.DEFAULT_ACTIVATION_TYPE
    ptq: str = DEFAULT_PTQ  # weight rounding before int8 conversion (vocab.PTQ_ALGORITHMS)
    keep_float: str | None = None  # "LAYER[,LAYER...]" or "auto[:N]": a mixed int8/float TFLite model
    hswish: str = "split"  # v3 int8 TFLite: "split" hard-swish into delegable ops, or keep the "stock" graph
    edgetpu: bool = False  # int8 TFLite for the Edge TPU: predicted mapping in the sidecar, compiled if possible
    skip_unsupported: bool = False  # --format all: skip pairs a format lacks instead of failing
    require: str | None = None  # quantized parity floors, "agreement>=0.9,sqnr>=15,drop<=1.0"; None: the
    #                             defaults (export.parity.DEFAULT_FLOORS); "none": report without judging
    max_drop: float | None = None  # int8: keep the fewest layers float until top-1 drops at most this (points)
    min_agreement: float | None = None  # int8: ... until top-1 agreement with Keras is at least this
    min_sqnr: float | None = None  # int8: ... until the logits' SQNR against Keras is at least this (dB)
    warn: Callable[[str], None] = field(default=lambda msg: warnings.warn(msg, stacklevel=2))
    progress: Callable | None = None  # wraps an iterable (e.g. a progress bar)


def keep_float_request(text: str) -> tuple[list[str], int | None]:
    """``"a,b"`` -> (["a", "b"], None); ``"auto"`` / ``"auto:N"`` -> ([], N) (N defaults to 1)."""
    text = text.strip()
    if text == "auto" or text.startswith("auto:"):
        count = text.partition(":")[2] or "1"
        if not count.isdigit() or int(count) < 1:
            raise EdgekitError(f"--keep-float auto:N needs a positive N, got {text!r}")
        return [], int(count)
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise EdgekitError("--keep-float needs layer names or auto[:N]")
    return names, None


def plan(opts: ConvertOptions) -> list[tuple[str, str]]:
    """Validate the request and list (format, precision) pairs, before any heavy work."""
    for fmt in opts.formats:
        if fmt not in FORMATS:
            raise EdgekitError(f"unknown format '{fmt}' (known: {', '.join(FORMATS)}, all)")
    pairs = []
    for fmt in opts.formats:
        for precision in opts.precisions:
            if precision not in FORMAT_PRECISIONS[fmt] and opts.skip_unsupported:
                opts.warn(f"{fmt} has no {precision} export: skipped")
                continue
            if precision not in FORMAT_PRECISIONS[fmt]:
                raise EdgekitError(f"{fmt} has no {precision} export here "
                                   f"({fmt} supports {', '.join(FORMAT_PRECISIONS[fmt])})")
            pairs.append((fmt, precision))
    if not pairs:
        raise EdgekitError("nothing to export: no format supports the precisions asked for")
    if opts.io not in IO_TYPES:
        raise EdgekitError(f"unknown --io '{opts.io}' (known: {', '.join(IO_TYPES)})")
    if opts.io != "float" and ("tflite", "int8") not in pairs:
        raise EdgekitError(f"--io {opts.io} applies to full-integer TFLite only: add --int8 and --format tflite")
    if opts.calib_count < 1 or opts.check_count < 1:
        raise EdgekitError("--calib-count and --check-count must be at least 1")
    if opts.onnx_calibration not in ONNX_CALIBRATION:
        raise EdgekitError(f"unknown ONNX calibration '{opts.onnx_calibration}' "
                           f"(known: {', '.join(ONNX_CALIBRATION)})")
    if opts.ptq not in PTQ_ALGORITHMS:
        raise EdgekitError(f"unknown --ptq '{opts.ptq}' (known: {', '.join(PTQ_ALGORITHMS)})")
    if opts.hswish not in HSWISH_MODES:
        raise EdgekitError(f"unknown --hswish '{opts.hswish}' (known: {', '.join(HSWISH_MODES)})")
    if opts.keep_float is not None:
        if any(f == "onnx" and p == "int8" for f, p in pairs):
            raise EdgekitError("--keep-float is TFLite-only for now: use --format tflite")
        if ("tflite", "int8") not in pairs:
            raise EdgekitError("--keep-float makes a mixed int8/float model: it needs --int8 and --format tflite")
        if opts.io != "float":
            raise EdgekitError("--keep-float keeps float model I/O: drop --io")
        keep_float_request(opts.keep_float)
    if opts.edgetpu:
        if ("tflite", "int8") not in pairs:
            raise EdgekitError("--edgetpu needs --int8 and --format tflite (the Edge TPU runs full-integer TFLite only)")
        if opts.io == "float":
            raise EdgekitError("--edgetpu needs integer model I/O: --io uint8 (what Coral's models use) or int8")
        if opts.keep_float is not None:
            raise EdgekitError("--edgetpu and --keep-float do not mix: a float layer cuts the Edge TPU graph")
    if opts.require is not None:
        parity.parse_require(opts.require)
    if opts.max_drop is not None or opts.min_agreement is not None or opts.min_sqnr is not None:
        what = ("--max-drop" if opts.max_drop is not None else "--min-agreement" if opts.min_agreement is not None
                else "--min-sqnr")
        if not any(p == "int8" for _, p in pairs):
            raise EdgekitError(f"{what} chooses which int8 layers to keep float: it needs --int8")
        if opts.keep_float is not None:
            raise EdgekitError(f"{what} chooses the layers to keep float itself: drop --keep-float")
        if opts.edgetpu:
            raise EdgekitError(f"{what} keeps layers float, and a float layer cuts the Edge TPU graph: drop --edgetpu")
        if opts.io != "float":
            raise EdgekitError(f"{what} makes mixed int8/float models with float I/O: drop --io")
        if opts.max_drop is not None and not 0 <= opts.max_drop < 100:
            raise EdgekitError(f"--max-drop is a top-1 drop in points, from 0 up to 100, got {opts.max_drop:g}")
        if opts.min_agreement is not None and not 0 < opts.min_agreement <= 1:
            raise EdgekitError(f"--min-agreement is a fraction above 0 up to 1, got {opts.min_agreement:g}")
    if opts.calib and opts.check and Path(opts.calib).resolve() == Path(opts.check).resolve():
        raise EdgekitError("--check must not be the calibration folder: parity needs images the model was not calibrated on")
    return pairs


@dataclass(frozen=True)
class UserWeights:
    """A model file's own weights, as the sidecar records them."""
    model: user_mod.UserModel
    kind: str = "user"

    def to_dict(self) -> dict:
        return {"kind": "user", "file": self.model.path.name, "sha256": self.model.sha256}


def resolve_model(opts: ConvertOptions):
    """The zoo ``ModelSpec`` or the ``UserModel`` that ``opts.model`` names, checked."""
    if user_mod.is_model_path(opts.model):
        if opts.weights not in (None, "none"):
            raise EdgekitError("a model file carries its own weights: drop --weights")
        names = None
        if opts.labels:
            from edgekit.data.labels import name_list

            names = name_list(opts.labels)
        return user_mod.load(opts.model, preprocess=opts.preprocess, mean=opts.mean, std=opts.std,
                             input_size=opts.input_size, class_names=names, trust_code=opts.trust_model_code)
    for flag, value in (("--preprocess", opts.preprocess), ("--input-size", opts.input_size),
                        ("--labels", opts.labels), ("--mean", opts.mean), ("--std", opts.std)):
        if value is not None:
            raise EdgekitError(f"{flag} is for a model file; zoo models know their own (see `edgekit summary`)")
    return parse_model(opts.model)


def user_class_names(model: user_mod.UserModel, *folders) -> tuple[str, ...] | None:
    """The class names of a user model: its --labels, else the class sub-folders of its calibration (or
    check) folder when they are as many as its outputs (the image_dataset_from_directory order)."""
    if model.class_names:
        return model.class_names
    for folder in folders:
        if not folder:
            continue
        subdirs = sorted(p.name for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith("."))
        if len(subdirs) == model.classes:
            return tuple(subdirs)
    return None


def image_sets(opts: ConvertOptions, size: int, need_calibration: bool):
    """Calibration images, and parity images held apart from them."""
    calib = check = None
    if opts.calib:
        calib = cal.load_folder(opts.calib, size, opts.calib_count, crop=opts.crop, progress=opts.progress)
        if "eval" in Path(opts.calib).name.lower():
            opts.warn(f"calibrating on '{opts.calib}': never calibrate on the data you evaluate on")
    elif need_calibration:
        opts.warn("no --calib folder: using SYNTHETIC images for calibration (and, with random weights, for "
                  "batch-norm statistics). Ranges will be wrong for real data; do not trust this artifact's "
                  "accuracy (recorded as source: synthetic)")
        calib = cal.synthetic(size, min(opts.calib_count, 64))
    if opts.check:
        check = cal.load_folder(opts.check, size, opts.check_count, crop=opts.crop)
    elif opts.calib:
        used = {(Path(calib.source) / f).resolve() for f in calib.files}
        try:
            check = cal.load_folder(opts.calib, size, opts.check_count, crop=opts.crop, exclude=used)
        except EdgekitError:
            check = None
        if check is None or len(check.pixels) < MIN_HELD_APART:
            # Every image went into calibration: hold the last fifth apart for the parity check.
            if len(calib.pixels) < 2:
                raise EdgekitError(f"{opts.calib} has one usable image: too few to calibrate and check; pass --check DIR")
            keep = max(1, len(calib.pixels) - max(MIN_HELD_APART, len(calib.pixels) // 5))
            calib, check = cal.split(calib, keep)
    else:
        check = cal.synthetic(size, min(opts.check_count, 16), seed=1)
    return calib, check


def convert(opts: ConvertOptions) -> list[art.Artifact]:
    """Build ``opts.model``, export it at every (format, precision) asked for, check each artifact's parity
    against the Keras model and publish the ones that pass; returns their typed sidecars."""
    spec = resolve_model(opts)
    pairs = plan(opts)
    is_user = isinstance(spec, user_mod.UserModel)
    if is_user:
        source = UserWeights(spec)
        for note in spec.notes:
            opts.warn(note)
        if spec.kind == "onnx":
            _onnx_limits(opts)
            pairs = _onnx_tflite_pairs(pairs, opts)
    else:
        source = weights_mod.resolve(spec, opts.weights or "none")
    need_calibration = any(p in QUANTIZED for _, p in pairs) or source.kind == "none"
    out_root = Path(opts.out)
    files.ensure_writable(out_root / spec.name)

    calib, check = image_sets(opts, spec.resolution, need_calibration)
    if source.kind == "none" and opts.max_drop is not None:
        raise EdgekitError("--max-drop: random weights have no meaningful top-1 to drop: use --min-sqnr (or real weights)")
    if is_user:
        import dataclasses

        names = user_class_names(spec, opts.calib, opts.check)
        spec = dataclasses.replace(spec, class_names=names)
        if names:
            labels = cal.labels(check, names)
        elif spec.classes in (1000, 1001):  # an ImageNet classifier of the user's: ImageNet-labelled images
            labels = cal.labels(check)
            labels = labels + 1 if labels is not None and spec.classes == 1001 else labels
        else:
            labels = None
    else:
        labels = cal.labels(check) if source.kind != "none" else None  # random weights: top-1 means nothing
    required = parity.parse_require(opts.require) if opts.require is not None else None
    if labels is None and source.kind != "none" and (opts.max_drop is not None or
                                                      any(r.metric == "drop" for r in required or ())):
        raise EdgekitError(f"a top-1 drop needs labelled check images, and {check.source} has no labels "
                           f"(labels.csv or class folders): pass --check DIR with labels, or use --min-agreement / "
                           f"agreement>= instead")
    from edgekit.zoo.build import reference_model

    warmed = None
    with quiet():
        if not is_user:
            model, source, warmed = reference_model(spec, opts.weights or "none",
                                                    calib.pixels if calib is not None else None)
        elif spec.kind == "keras":
            model = spec.keras_model()
        else:
            model = None
    bn_warmed = {"images": warmed, "source": calib.source} if warmed else None
    calib_x = spec.preprocessing.apply(calib.pixels) if calib is not None else None
    if model is not None:
        reference = np.asarray(model.predict(spec.preprocessing.apply(check.pixels), verbose=0))
    else:  # a foreign ONNX model: its own float outputs under ONNX Runtime are the reference
        reference = _run_onnx_scores(spec, check.pixels)
    if is_user:
        counted = count_mod.keras_count(model) if model is not None else count_mod.onnx_count(spec.path)
    else:
        counted = count_mod.count(spec)

    tools = art.tool_versions()
    results, failures = [], []
    real_weights = source.kind != "none"

    def emit(fmt: str, precision: str, label: str, data: bytes, extra: dict, seconds: float) -> art.Artifact | None:
        """Check one artifact's parity, judge it, publish it with its sidecar (None: failed exact parity)."""
        target = art.artifact_path(out_root, spec.name, fmt, label)
        tmp = files.write_temp(target.parent, target.name, data)
        try:
            result = _check(tmp, fmt, spec, check, reference, precision, labels)
            if precision not in parity.EXACT:
                parity.judge(result, *parity.floors(precision, real_weights, required))
            if opts.edgetpu and fmt == "tflite" and precision == "int8":
                extra = {**extra, "edgetpu": _edgetpu(tmp, target, opts)}
            sidecar = art.Artifact.from_dict({
                "edgekit_sidecar": art.SIDECAR_VERSION,
                "artifact": target.name, "format": fmt, "precision": precision,
                **({"variant": "mixed"} if label != precision else {}),
                "size_bytes": len(data), "sha256": files.sha256_bytes(data),
                "model": spec.to_dict(), "macs": counted.macs, "params_folded": counted.params_folded,
                "weights": source.to_dict(), "bn_warmed": bn_warmed, "head": "as saved" if is_user else "logits",
                "io": result.pop("io"),
                "calibration": ({**calib.to_dict(), "weight_rounding": opts.ptq}
                                if (calib is not None and precision in QUANTIZED) else None),
                **extra,
                "parity": {**result, "check": {"source": check.source, "count": int(len(check.pixels)),
                                               "labelled": labels is not None}},
                "tools": tools,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "convert_seconds": round(seconds, 2),
                "path": str(target),
            })
            if result["passed"] is False and precision in parity.EXACT:
                failures.append(f"{fmt}-{precision}: max |logit diff| {result['max_abs_diff']:.3g} > "
                                f"{result['tolerance']:.3g} or top-1 agreement {result['top1_agreement']:.0%}")
                return None
            art.publish(tmp, target, sidecar)
            results.append(sidecar)
            return sidecar
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    target = mixed.Target(opts.max_drop, opts.min_agreement, opts.min_sqnr)
    with tempfile.TemporaryDirectory(prefix="edgekit-savedmodel-") as scratch:
        if model is None:
            graphs = _OnnxGraphs(spec, opts, calib_x, scratch)
        else:
            graphs = _Graphs(model, spec.resolution, opts, calib_x, scratch)
            graphs.user = is_user
        graphs.check_x = spec.preprocessing.apply(check.pixels)
        plain: dict[str, art.Artifact] = {}
        for fmt, precision in pairs:
            start = time.perf_counter()
            with quiet():
                data, extra = graphs.export(fmt, precision)
            seconds = time.perf_counter() - start
            for note in getattr(graphs, "pending", ()):
                opts.warn(note)
            graphs.pending = []
            label = "int8-mixed" if (opts.keep_float and fmt == "tflite" and precision == "int8") else precision
            made = emit(fmt, precision, label, data, extra, seconds)
            if made is not None and precision == "int8":
                plain[fmt] = made
        if target != mixed.Target():
            for fmt, made in plain.items():
                start = time.perf_counter()
                with quiet(), mixed.scratch_dir() as where:
                    chosen, log = mixed.search(
                        fmt, graphs.ranking(fmt), lambda tensors, fmt=fmt: graphs.mixed_bytes(fmt, tensors),
                        lambda path, fmt=fmt: _check(path, fmt, spec, check, reference, "int8", labels),
                        made["parity"], target, where)
                if chosen is None:
                    opts.warn(f"{fmt} int8: {log['note']} ({target})")
                    continue
                if not log["met"]:
                    opts.warn(f"{fmt} int8: {target} {log['note']}")
                extra = {"quantization": {**(made.get("quantization") or {}), "scheme": (
                    "int8 with the fewest layers kept float that meet the target (accuracy-controlled; "
                    + ("TFLite QuantizationDebugger denylisted_nodes)" if fmt == "tflite" else
                       "ONNX Runtime quantize_static nodes_to_exclude)")),
                    "accuracy_control": log}, "graph_rewrites": made.get("graph_rewrites", [])}
                emit(fmt, "int8", "int8-mixed", chosen, extra, time.perf_counter() - start)
    if failures:
        raise parity.ParityError("parity check failed, artifact not written: " + "; ".join(failures))
    return results


def _onnx_limits(opts: ConvertOptions) -> None:
    """What a foreign ONNX model cannot do here (it has no Keras graph to round or rewrite)."""
    for flag, on in (("--keep-float", opts.keep_float is not None), ("--max-drop", opts.max_drop is not None),
                     ("--min-agreement", opts.min_agreement is not None), ("--min-sqnr", opts.min_sqnr is not None),
                     ("--edgetpu", opts.edgetpu)):
        if on:
            raise EdgekitError(f"{flag} needs a Keras model; for an ONNX model edgekit makes plain int8 (ONNX "
                               f"Runtime QDQ) and, with the onnx2tf extra, TFLite")
    if opts.ptq not in (DEFAULT_PTQ, "minmax"):
        raise EdgekitError("--ptq rounds Keras weights; an ONNX model is rounded by ONNX Runtime's quantizer")


def _onnx_tflite_pairs(pairs, opts: ConvertOptions):
    """ONNX -> TFLite needs the onnx-tflite extra: without it, ``--format all`` skips TFLite (saying so)."""
    from edgekit.export import onnx_tflite

    if not any(fmt == "tflite" for fmt, _ in pairs) or onnx_tflite.available():
        return pairs
    if not opts.skip_unsupported:
        raise EdgekitError(onnx_tflite.EXTRA)
    opts.warn(f"TFLite skipped: {onnx_tflite.EXTRA}")
    left = [(fmt, precision) for fmt, precision in pairs if fmt != "tflite"]
    if not left:
        raise EdgekitError(onnx_tflite.EXTRA)
    return left


def _run_onnx_scores(model: user_mod.UserModel, pixels: np.ndarray) -> np.ndarray:
    from edgekit.run.runtime import Classifier, open_runtime

    with open_runtime(model.path, runtime="onnxruntime") as runtime:
        return Classifier(runtime, model.preprocessing.apply).scores(pixels)


def _edgetpu(tmp: str, target: Path, opts: ConvertOptions) -> dict:
    """The predicted Edge TPU mapping; with edgetpu_compiler on PATH, also its compiled twin and report."""
    from edgekit.edgetpu import compiler
    from edgekit.edgetpu.check import predict, summary

    out = {"predicted": summary(predict(tmp)), "compiled": None}
    first = out["predicted"]["first_unsupported"]
    if first:
        opts.warn(f"Edge TPU: {out['predicted']['ops_on_cpu']} of {out['predicted']['ops_total']} ops would stay on "
                  f"the CPU from op #{first['index']} ({first['op']}): see 'edgekit edgetpu-check'")
    if compiler.available():
        with tempfile.TemporaryDirectory(prefix="edgekit-edgetpu-") as scratch:
            staged = Path(scratch) / target.name
            shutil.copyfile(tmp, staged)
            report = compiler.compile_model(staged, Path(scratch))
            compiled = target.with_name(f"{target.stem}_edgetpu.tflite")
            files.write_atomic(compiled, Path(report["output"]).read_bytes())
            out["compiled"] = {**{k: v for k, v in report.items() if k not in ("output", "log")},
                               "artifact": compiled.name}
    else:
        out["compiler"] = f"{compiler.COMPILER} not on PATH: mapping predicted from Coral's documented rules"
    return out


class _Graphs:
    """Produces each artifact's bytes, building every intermediate once.

    The int8 model (weights rounded by ``opts.ptq``), one SavedModel per Keras model (shared by its
    TFLite precisions) and one float ONNX graph per Keras model (shared by ONNX float and int8)
    are made on first use and cached by model.
    """

    def __init__(self, model, resolution: int, opts: ConvertOptions, calib_x, scratch: str):
        self.model, self.resolution, self.opts, self.calib_x, self.scratch = model, resolution, opts, calib_x, scratch
        self.user = False  # a user's model file (not the zoo's)
        self.pending: list[str] = []  # warnings raised inside quiet(), said once it is over
        self._quant_model = None
        self._saved: dict[int, str] = {}
        self._onnx: dict[int, bytes] = {}
        self.keep_float: dict | None = None  # what --keep-float resolved to, for the sidecar
        self._split = None

    def _source(self, precision: str):
        if precision not in QUANTIZED:
            return self.model
        if self._quant_model is None:
            from edgekit.quant import prepare_for_int8

            notes: list[str] = []
            self._quant_model = prepare_for_int8(self.model, self.calib_x, self.opts.ptq, notes=notes)
            if self.user:  # the zoo's heads are known; a user's model hears which layers the converter rounds
                self.pending += [f"--ptq {self.opts.ptq}: {note}" for note in notes]
        return self._quant_model

    def _tflite_int8_source(self, source):
        """v3's int8 TFLite graph with hard-swish split (see export.rewrite), unless --hswish stock."""
        from edgekit.export import rewrite

        if self.opts.hswish != "split" or not rewrite.has_hard_swish(source):
            return source, []
        if self._split is None:
            self._split = rewrite.split_hard_swish(source)
        total = sum(1 for layer in source.layers if rewrite.is_hard_swish(layer))
        return self._split[0], [rewrite.DESCRIPTION.format(folded=self._split[1], total=total)]

    def _saved_model(self, model) -> str:
        if id(model) not in self._saved:
            folder = os.path.join(self.scratch, str(len(self._saved)))
            self._saved[id(model)] = tflite_export.save_model(model, folder)
        return self._saved[id(model)]

    def _onnx_float(self, model) -> bytes:
        if id(model) not in self._onnx:
            self._onnx[id(model)] = onnx_export.convert_float(model, self.resolution, self.opts.onnx_opset)
        return self._onnx[id(model)]

    def _mixed(self, source) -> tuple[bytes, dict]:
        """int8 with the requested (or the worst) layers left float, via the QuantizationDebugger."""
        from edgekit.export import debug_tflite
        from edgekit.quant.layer_error import worst_layers

        saved = self._saved_model(source)
        names, auto = keep_float_request(self.opts.keep_float)
        rows = self._ranked_rows(debug_tflite.layer_errors(saved, self.calib_x, self.check_x))
        if auto:
            names = worst_layers(rows, auto)
        quantized = {row.layer for row in rows}
        for name in names:
            if name not in quantized:
                near = difflib.get_close_matches(name, sorted(quantized), n=3)
                raise EdgekitError(f"--keep-float: no quantized layer named '{name}'"
                                   + (f" (nearest: {', '.join(near)})" if near else
                                      f" (layers: {', '.join(sorted(quantized)[:8])}, ...)"))
        tensors = [row.tensor for row in rows if row.layer in names]
        data = debug_tflite.mixed_model(saved, self.calib_x, tensors)
        self.keep_float = {"request": self.opts.keep_float, "layers": names, "tensors": tensors,
                           "ranking": "RMSE/scale on the parity images (QuantizationDebugger)" if auto else None}
        quant = {**_tflite_quant("int8", "float"), "scheme": "int8 with some layers kept float (selective "
                 "quantization through TFLite's QuantizationDebugger denylisted_nodes)", "keep_float": self.keep_float}
        return data, {"quantization": quant}

    def _ranked_rows(self, rows):
        from edgekit.quant.layer_error import finish, own_names

        return finish(own_names(rows, self.model))

    def ranking(self, fmt: str) -> list[tuple[str, list[str]]]:
        """Layers worst first by int8 RMSE/scale on calibration images, each with its quantized tensors."""
        debug_x = self.calib_x[: min(32, len(self.calib_x))]
        if fmt == "tflite":
            from edgekit.export import debug_tflite

            source, _ = self._tflite_int8_source(self._source("int8"))
            rows = debug_tflite.layer_errors(self._saved_model(source), self.calib_x, debug_x)
        else:
            from edgekit.export import debug_onnx

            float_onnx = self._onnx_float(self._source("int8"))
            qdq = onnx_export.quantize_int8(float_onnx, self.calib_x, self.opts.onnx_calibration,
                                            self.opts.onnx_activations)
            rows = debug_onnx.layer_errors(qdq, debug_x, float_onnx)
        ranked: dict[str, list[str]] = {}
        for row in self._ranked_rows(rows):
            if row.layer and row.rmse_per_scale is not None:
                ranked.setdefault(row.layer, []).append(row.tensor)
        return list(ranked.items())

    def mixed_bytes(self, fmt: str, tensors: list[str]) -> bytes:
        """The int8 model of ``fmt`` with the ops of ``tensors`` kept float."""
        if fmt == "tflite":
            from edgekit.export import debug_tflite

            source, rewrites = self._tflite_int8_source(self._source("int8"))
            data = debug_tflite.mixed_model(self._saved_model(source), self.calib_x, tensors)
            if rewrites:
                from edgekit.export import relu6_ranges

                data, _ = relu6_ranges.tighten(data)
            return data
        return onnx_export.quantize_int8(self._onnx_float(self._source("int8")), self.calib_x,
                                         self.opts.onnx_calibration, self.opts.onnx_activations,
                                         exclude_tensors=tensors)

    def export(self, fmt: str, precision: str) -> tuple[bytes, dict]:
        opts, source = self.opts, self._source(precision)
        if fmt == "tflite":
            io = opts.io if precision == "int8" else "float"
            rewrites: list[str] = []
            if precision == "int8":
                source, rewrites = self._tflite_int8_source(source)
            if precision == "int8" and opts.keep_float:
                data, extra = self._mixed(source)
            else:
                data = tflite_export.convert(self._saved_model(source), precision, self.calib_x, io=io)
                extra = {"quantization": _tflite_quant(precision, opts.io)}
            if rewrites:
                from edgekit.export import relu6_ranges, rewrite

                data, tightened = relu6_ranges.tighten(data)
                rewrites.append(rewrite.TIGHTENED.format(count=len(tightened)))
            return data, {**extra, "graph_rewrites": rewrites}
        extra: dict = {}
        if precision == "float":
            data = self._onnx_float(source)
        else:
            data = onnx_export.quantize_int8(self._onnx_float(source), self.calib_x, opts.onnx_calibration,
                                             opts.onnx_activations)
            extra["quantization"] = {**_onnx_quant(opts, self._onnx_float(source)),
                                     "why": "uint8 activations + int8 weights is the fast pairing of ORT's x86 kernels"}
        return data, {**extra, "onnx": _onnx_graph(data, opts.onnx_opset)}


class _OnnxGraphs:
    """A foreign float ONNX model's artifacts: ONNX float (input fixed to batch 1), ONNX int8 through ONNX
    Runtime's static QDQ quantization on our calibration images, and float/int8 TFLite through onnx2tf
    (the ``onnx-tflite`` extra)."""

    def __init__(self, model: user_mod.UserModel, opts: ConvertOptions, calib_x, scratch: str):
        self.model, self.opts, self.scratch = model, opts, scratch
        self.calib_nhwc = calib_x
        self.calib_x = None if calib_x is None else (
            np.ascontiguousarray(np.transpose(calib_x, (0, 3, 1, 2))) if model.layout == "nchw" else calib_x)
        self._float = None

    def float_onnx(self) -> bytes:
        if self._float is None:
            self._float = onnx_export.fix_input_shape(self.model.path, self.model.resolution, self.model.layout)
        return self._float

    def export(self, fmt: str, precision: str) -> tuple[bytes, dict]:
        if fmt == "tflite":
            from edgekit.export import onnx_tflite

            data, how = onnx_tflite.convert(self.float_onnx(), precision, self.calib_nhwc, self.scratch)
            return data, {"quantization": _tflite_quant(precision, "float"), "converter": how}
        if precision not in ("float", "int8"):
            raise EdgekitError(f"onnx has no {precision} export")
        extra: dict = {}
        if precision == "float":
            data = self.float_onnx()
        else:
            data = onnx_export.quantize_int8(self.float_onnx(), self.calib_x, self.opts.onnx_calibration,
                                             self.opts.onnx_activations,
                                             input_name=onnx_export.input_name(self.float_onnx()))
            extra["quantization"] = {**_onnx_quant(self.opts, self.float_onnx()),
                                     "weight_rounding": "ONNX Runtime (round to nearest)"}
        return data, {**extra, "onnx": _onnx_graph(data, onnx_export.opset_of(data))}


def _onnx_quant(opts: ConvertOptions, float_onnx: bytes) -> dict:
    """The sidecar's description of ONNX Runtime's static int8 quantization as ``opts`` ran it."""
    kept = onnx_export.input_float_ops(float_onnx, onnx_export.input_name(float_onnx))
    return {"scheme": "static int8, QDQ (ONNX Runtime quant_pre_process + quantize_static)", "per_channel": True,
            "weights": "int8", "activations": opts.onnx_activations, "calibration_method": opts.onnx_calibration,
            "kept_float": ({**kept, "why": "ORT's int8 kernels run slower than float on the input's normalisation "
                                           "(element-wise) and on a 3-channel stem convolution"}
                           if kept["normalisation"] or kept["stem"] else None)}


def _onnx_graph(data: bytes, opset: int | None) -> dict:
    """Opset and node counts of an ONNX artifact (Transposes: the layout conversions left in the graph)."""
    ops = onnx_export.count_ops(data)
    return {"opset": opset, "transpose_nodes": ops.get("Transpose", 0), "nodes": sum(ops.values())}


def _tflite_quant(precision: str, io: str) -> dict | None:
    return {
        "float": None,
        "fp16": {"scheme": "float16 weights, float32 compute"},
        "dynamic": {"scheme": "dynamic-range: int8 weights, activations quantized at run time"},
        "int8": {"scheme": "full-integer int8, per-channel int8 weights (TFLiteConverter)", "io": io,
                 "calibration_method": "minmax over the calibration images (TFLiteConverter)"},
        "int16x8": {"scheme": "int16 activations, int8 weights (TFLiteConverter, experimental); "
                               "ops without int16x8 kernels (e.g. HARD_SWISH) stay float"},
    }[precision]


def _check(path: Path, fmt: str, spec, check: cal.ImageSet, reference: np.ndarray, precision: str,
           labels: np.ndarray | None = None) -> dict:
    from edgekit.run.runtime import Classifier, open_runtime

    with quiet():  # LiteRT announces its XNNPACK delegate on stderr
        runtime = open_runtime(path, runtime=FORMAT_RUNTIME[fmt])
    with runtime:
        scores = Classifier(runtime, spec.preprocessing.apply).scores(check.pixels)
        result = parity.compare(reference, scores, precision, labels if labels is not None and
                                labels.max() < reference.shape[1] else None)
        result["io"] = runtime.describe()
    return result
