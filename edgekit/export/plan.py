"""Stage 4, the quantization plan: the one place that decides what each precision means for each format.

``make_plan(opts, source)`` validates the whole request before any heavy work and lists what will be
written: each (format, precision) as an ``Item`` with its file label, model I/O, weight rounding, the
graph rewrites and kept-float layers it gets, and whether it goes to the Edge TPU; then the quality
gate (``required`` floors) and the accuracy-controlled target (``mixed.Target``). Which formats exist
and what each can write comes from the exporter registry (``export.exporters``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.export import parity
from edgekit.export.exporters import exporter_class, formats_for
from edgekit.export.mixed import Target
from edgekit.export.options import ConvertOptions
from edgekit.vocab import (FORMATS, HSWISH_MODES, IO_TYPES, ONNX_ACTIVATIONS, ONNX_CALIBRATION, POSTPROCESS_MODES,
                           PTQ_ALGORITHMS, QUANTIZED)


@dataclass(frozen=True)
class Item:
    """One artifact to write: ``<format>-<label>.<ext>``."""

    format: str
    precision: str
    io: str = "float"  # full-integer model I/O (int8 TFLite); float everywhere else
    keep_float: str | None = None  # int8: "LAYER,..." or "auto:N" kept float (a mixed model, label int8-mixed)
    edgetpu: bool = False  # predict (and compile, when the compiler is here) the Edge TPU mapping
    mixed: bool = False  # int8 with layers kept float by the accuracy-controlled search (export.mixed)

    @property
    def label(self) -> str:
        return "int8-mixed" if (self.keep_float or self.mixed) else self.precision

    @property
    def quantized(self) -> bool:
        return self.precision in QUANTIZED


@dataclass(frozen=True)
class Plan:
    """Every artifact of one conversion, and how the quantized ones are judged."""

    items: tuple[Item, ...]
    required: tuple[parity.Requirement, ...] | None  # None: the measured default floors
    target: Target  # accuracy-controlled mixed precision (int8): Target() when not asked for
    needs_calibration: bool

    def int8_formats(self) -> list[str]:
        return [i.format for i in self.items if i.precision == "int8"]


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


def make_plan(opts: ConvertOptions, source) -> Plan:
    """Validate ``opts`` for ``source`` (a ``export.source.Source``) and list the artifacts, before any heavy work."""
    out, quant, gate = opts.output, opts.quantization, opts.gate
    precisions, formats, io = _edgetpu_request(opts)
    pairs = _pairs(formats, precisions, out.skip_unsupported, opts.warn, source.kind)
    _check_values(opts, pairs, io)
    _check_postprocess(opts, source)
    _check_tflite_detector(pairs, source)
    source.refuse(opts)
    pairs = _available(pairs, source.kind, out.skip_unsupported, opts.warn)
    items = tuple(_item(fmt, precision, io, quant, source.kind) for fmt, precision in pairs)
    required = parity.parse_require(gate.require, source.task) if gate.require is not None else None
    if not source.real_weights and gate.max_drop is not None:
        raise EdgekitError(f"--max-drop: random weights have no meaningful {source.task.accuracy} to drop: use "
                           f"--min-sqnr (or real weights)")
    if gate.targets:
        _check_target_metrics(opts, source)
    return Plan(items, required, Target(gate.max_drop, gate.min_agreement, gate.min_sqnr, source.task.accuracy),
                needs_calibration=any(p in QUANTIZED for _, p in pairs) or not source.real_weights)


def _item(fmt: str, precision: str, io: str, quant, kind: str) -> Item:
    """What one (format, precision) means: int8 takes the format's integer I/O, kept-float layers and the Edge
    TPU when the format has them (``Exporter`` capabilities); everything else is float I/O."""
    if precision != "int8":
        return Item(fmt, precision)
    can = exporter_class(fmt, kind)
    return Item(fmt, precision, io=io if can.integer_io else "float",
                keep_float=quant.keep_float if can.named_keep_float else None, edgetpu=quant.edgetpu and can.edgetpu)


def _int8_with(pairs, capability: str) -> bool:
    """Whether an int8 pair of ``pairs`` goes to a format with ``capability`` (an ``Exporter`` flag)."""
    return any(p == "int8" and getattr(exporter_class(f), capability) for f, p in pairs)


def _edgetpu_request(opts: ConvertOptions) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """``--edgetpu`` means a full-integer TFLite file with integer I/O (uint8 unless asked: Coral's convention)."""
    precisions, formats, io = opts.output.precisions, opts.output.formats, opts.quantization.io
    if not opts.quantization.edgetpu:
        return precisions, formats, io
    if not all(exporter_class(f).edgetpu for f in formats):
        raise EdgekitError("--edgetpu makes a TFLite file (the Edge TPU compiler reads only TFLite): drop --format")
    return (precisions if "int8" in precisions else (*precisions, "int8")), formats, ("uint8" if io == "float" else io)


def _pairs(formats, precisions, skip_unsupported: bool, warn, kind: str = "keras") -> list[tuple[str, str]]:
    for fmt in formats:
        if fmt not in FORMATS:
            raise EdgekitError(f"unknown format '{fmt}' (known: {', '.join(FORMATS)}, all)")
    pairs = []
    for fmt in formats:
        writes = exporter_class(fmt, kind if kind in formats_for(fmt) else None).precisions
        for precision in precisions:
            if precision not in writes and skip_unsupported:
                warn(f"{fmt} has no {precision} export: skipped")
            elif precision not in writes:
                raise EdgekitError(f"{fmt} has no {precision} export here ({fmt} supports {', '.join(writes)})")
            else:
                pairs.append((fmt, precision))
    if not pairs:
        raise EdgekitError("nothing to export: no format supports the precisions asked for")
    return pairs


def _available(pairs, source_kind: str, skip_unsupported: bool, warn) -> list[tuple[str, str]]:
    """The pairs whose exporter exists for this kind of source and is installed (``--format all`` skips the rest,
    saying why)."""
    missing = {fmt: why for fmt in dict.fromkeys(f for f, _ in pairs) if (why := _unavailable(fmt, source_kind))}
    if not missing:
        return pairs
    if not skip_unsupported:
        raise EdgekitError(next(iter(missing.values())))
    for fmt, why in missing.items():
        warn(f"{exporter_class(fmt).title} skipped: {why}")
    left = [(f, p) for f, p in pairs if f not in missing]
    if not left:
        raise EdgekitError(next(iter(missing.values())))
    return left


def _unavailable(fmt: str, source_kind: str) -> str | None:
    if source_kind not in formats_for(fmt):
        return f"no {fmt} exporter takes a {source_kind} model"
    return exporter_class(fmt, source_kind).unavailable()


def _check_values(opts: ConvertOptions, pairs, io: str) -> None:
    """Every value and combination of values, one line for the first that is wrong."""
    cal, quant, gate = opts.calibration, opts.quantization, opts.gate
    if io not in IO_TYPES:
        raise EdgekitError(f"unknown --io '{io}' (known: {', '.join(IO_TYPES)})")
    if io != "float" and not _int8_with(pairs, "integer_io"):
        raise EdgekitError(f"--io {io} applies to full-integer TFLite only: add --int8 and --format tflite")
    if cal.calib_count < 1 or cal.check_count < 1:
        raise EdgekitError("--calib-count and --check-count must be at least 1")
    for value, known, flag in ((quant.onnx_calibration, ONNX_CALIBRATION, "ONNX calibration"),
                               (quant.onnx_activations, ONNX_ACTIVATIONS, "ONNX activation type"),
                               (quant.ptq, PTQ_ALGORITHMS, "--ptq"), (quant.hswish, HSWISH_MODES, "--hswish")):
        if value not in known:
            raise EdgekitError(f"unknown {flag} '{value}' (known: {', '.join(known)})")
    if quant.keep_float is not None:
        _check_keep_float(quant, pairs, io)
    if quant.edgetpu and quant.keep_float is not None:
        raise EdgekitError("--edgetpu and --keep-float do not mix: a float layer cuts the Edge TPU graph")
    if gate.targets:
        _check_targets(opts, pairs, io)
    if cal.calib and cal.check and Path(cal.calib).resolve() == Path(cal.check).resolve():
        raise EdgekitError("--check must not be the calibration folder: parity needs images the model was not calibrated on")


def _check_postprocess(opts: ConvertOptions, source) -> None:
    mode = opts.output.postprocess
    if mode not in POSTPROCESS_MODES:
        raise EdgekitError(f"unknown --postprocess '{mode}' (known: {', '.join(POSTPROCESS_MODES)})")
    if mode == "host":
        return
    if source.task.name != "detection":
        raise EdgekitError(f"--postprocess graph writes a detector's box decoding and NMS into the graph; {source.name} "
                           f"is a {source.task.name} model")
    if source.kind != "keras":
        raise EdgekitError(f"--postprocess graph is written while converting a Keras detector; a {source.kind} file is "
                           f"converted as its graph stands (export it with its post-processing, or from Keras)")


def _check_target_metrics(opts: ConvertOptions, source) -> None:
    """A target the model's task can measure: agreement is a classifier's; SQNR needs raw outputs to compare."""
    gate, task = opts.gate, source.task
    names = {m.name for m in task.metrics}
    if gate.min_agreement is not None and "agreement" not in names:
        raise EdgekitError(f"--min-agreement is top-1 agreement, a classifier's; {source.name} is a {task.name} model: "
                           f"use --max-drop ({task.accuracy} points) or --min-sqnr")
    if gate.min_sqnr is not None and opts.output.postprocess == "graph":
        raise EdgekitError("--min-sqnr compares raw outputs, and --postprocess graph leaves only boxes: use --max-drop "
                           "(mAP points), or search with --postprocess host")


def _check_tflite_detector(pairs, source) -> None:
    """A .tflite detector that carries TFLite_Detection_PostProcess converts to TFLite (the op kept); tf2onnx maps
    the op to an NMS whose outputs change size with the detections, which no parity check can hold to the file's
    padded ones."""
    if source.kind != "tflite" or not any(f == "onnx" for f, _ in pairs):
        return
    from edgekit.run.tflite_graph import read_graph

    if "TFLite_Detection_PostProcess" in read_graph(source.spec.path).op_names():
        raise EdgekitError(f"{source.spec.path.name} ends in TFLite_Detection_PostProcess, which tf2onnx turns into an "
                           f"NMS of varying output size: use --format tflite, or convert the detector from its Keras "
                           f"file (--postprocess graph writes ONNX's NonMaxSuppression padded to 100)")


def _check_keep_float(quant, pairs, io: str) -> None:
    if any(p == "int8" and not exporter_class(f).named_keep_float for f, p in pairs):
        raise EdgekitError("--keep-float is TFLite-only for now: use --format tflite")
    if not _int8_with(pairs, "named_keep_float"):
        raise EdgekitError("--keep-float makes a mixed int8/float model: it needs --int8 and --format tflite")
    if io != "float":
        raise EdgekitError("--keep-float keeps float model I/O: drop --io")
    keep_float_request(quant.keep_float)


def _check_targets(opts: ConvertOptions, pairs, io: str) -> None:
    gate, what = opts.gate, opts.gate.target_flag
    if not any(p == "int8" for _, p in pairs):
        raise EdgekitError(f"{what} chooses which int8 layers to keep float: it needs --int8")
    if opts.quantization.keep_float is not None:
        raise EdgekitError(f"{what} chooses the layers to keep float itself: drop --keep-float")
    if opts.quantization.edgetpu:
        raise EdgekitError(f"{what} keeps layers float, and a float layer cuts the Edge TPU graph: drop --edgetpu")
    if io != "float":
        raise EdgekitError(f"{what} makes mixed int8/float models with float I/O: drop --io")
    if gate.max_drop is not None and not 0 <= gate.max_drop < 100:
        raise EdgekitError(f"--max-drop is a drop in points (top-1, mAP or mIoU), from 0 up to 100, got "
                           f"{gate.max_drop:g}")
    if gate.min_agreement is not None and not 0 < gate.min_agreement <= 1:
        raise EdgekitError(f"--min-agreement is a fraction above 0 up to 1, got {gate.min_agreement:g}")
