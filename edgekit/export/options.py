"""What ``convert`` is asked to do, as a user thinks of it: five small records.

    source        which model: a zoo name and its weights, or the user's file and how pixels become its input
    calibration   the images int8 is calibrated on, and the images parity is checked on (held apart)
    quantization  what int8 means: weight rounding, layers kept float, graph rewrites, model I/O, Edge TPU
    gate          the quality gate quantized artifacts are judged against, and accuracy-controlled targets
    output        which precisions and formats, where to

``ConvertOptions.build(model, **fields)`` takes the fields of every group by name (what
``edgekit.convert`` and the command line pass); ``FIELDS`` says which group each belongs to, and the
command line's grouped ``--help`` is made from the same table. Defaults come from ``vocab``.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import Callable

from edgekit.errors import EdgekitError
from edgekit.vocab import (DEFAULT_CALIB_COUNT, DEFAULT_CHECK_COUNT, DEFAULT_CROP, DEFAULT_HSWISH,
                           DEFAULT_ONNX_ACTIVATIONS, DEFAULT_ONNX_CALIBRATION, DEFAULT_OPSET, DEFAULT_POSTPROCESS,
                           DEFAULT_PTQ)


@dataclass(frozen=True, kw_only=True)
class SourceOptions:
    """The model: a zoo name with ``weights`` (none / none:SEED / imagenet / a .h5 file), or the user's own
    file (.keras, .h5, a SavedModel folder, a float .onnx) with its preprocessing (declared, or detected
    from a leading Rescaling layer), class names and input size."""

    model: str
    weights: str | None = None  # zoo models: "none" when not given; a model file carries its own
    preprocess: str | None = None  # a model file: vocab.PREPROCESSING name (zoo models know theirs)
    mean: tuple[float, float, float] | None = None  # with preprocess="imagenet-mean-std"
    std: tuple[float, float, float] | None = None
    input_size: str | int | None = None  # "N" or "HxW": a model file whose input size is dynamic (or to check it)
    channel_order: str | None = None  # a model file of RGB input trained on BGR (OpenCV) images: "bgr"
    resize: str | None = None  # how photos of another shape become its input (vocab.RESIZE_POLICIES)
    labels: str | None = None  # a model file: its class names, one per line (default: calibration class folders)
    trust_model_code: bool = False  # a Keras file with Lambda layers / custom objects: run code from it
    anchors: str | None = None  # a detector file with raw outputs: its anchors (JSON), recorded in the sidecar
    task: str | None = None  # what the outputs mean (vocab.TASKS); default: from the outputs (a class vector or not)


@dataclass(frozen=True, kw_only=True)
class CalibrationOptions:
    """Calibration images (``calib``, at most ``calib_count``) and parity images held apart from them."""

    calib: str | None = None
    calib_count: int = DEFAULT_CALIB_COUNT
    check: str | None = None
    check_count: int = DEFAULT_CHECK_COUNT
    crop: float = DEFAULT_CROP


@dataclass(frozen=True, kw_only=True)
class QuantizationOptions:
    """What the quantized precisions mean: weight rounding, kept-float layers, rewrites, I/O, Edge TPU."""

    ptq: str = DEFAULT_PTQ  # weight rounding before int8 conversion (vocab.PTQ_ALGORITHMS)
    keep_float: str | None = None  # "LAYER[,LAYER...]" or "auto[:N]": a mixed int8/float TFLite model
    hswish: str = DEFAULT_HSWISH  # v3 int8 TFLite: "split" hard-swish into delegable ops, or keep the "stock" graph
    io: str = "float"  # full-integer TFLite model I/O (vocab.IO_TYPES)
    edgetpu: bool = False  # int8 TFLite for the Edge TPU: predicted mapping in the sidecar, compiled if possible
    onnx_calibration: str = DEFAULT_ONNX_CALIBRATION
    onnx_activations: str = DEFAULT_ONNX_ACTIVATIONS


@dataclass(frozen=True, kw_only=True)
class GateOptions:
    """The floors quantized artifacts are judged on, and the targets of accuracy-controlled mixed precision."""

    require: str | None = None  # "agreement>=0.9,sqnr>=15,drop<=1.0"; None: the measured defaults; "none": report only
    max_drop: float | None = None  # int8: keep the fewest layers float until top-1 drops at most this (points)
    min_agreement: float | None = None  # int8: ... until top-1 agreement with the source is at least this
    min_sqnr: float | None = None  # int8: ... until the outputs' SQNR against the source is at least this (dB)

    @property
    def targets(self) -> bool:
        return self.max_drop is not None or self.min_agreement is not None or self.min_sqnr is not None

    @property
    def target_flag(self) -> str:
        return ("--max-drop" if self.max_drop is not None else "--min-agreement" if self.min_agreement is not None
                else "--min-sqnr")


@dataclass(frozen=True, kw_only=True)
class OutputOptions:
    """Which precisions and formats, and where: ``<out>/<model>/<format>-<precision>.<ext>`` + sidecar."""

    precisions: tuple[str, ...] = ("float",)
    formats: tuple[str, ...] = ("tflite",)
    out: str = "models"
    onnx_opset: int = DEFAULT_OPSET
    postprocess: str = DEFAULT_POSTPROCESS  # a raw detector: decode + NMS on the "host", or in the "graph"
    skip_unsupported: bool = False  # --format all: skip pairs a format lacks instead of failing


GROUPS = {"source": SourceOptions, "calibration": CalibrationOptions, "quantization": QuantizationOptions,
          "gate": GateOptions, "output": OutputOptions}
#: field name -> the group it belongs to
FIELDS = {f.name: group for group, cls in GROUPS.items() for f in dataclasses.fields(cls)}


def _warn(msg: str) -> None:
    warnings.warn(msg, stacklevel=3)


@dataclass(frozen=True, kw_only=True)
class ConvertOptions:
    """What ``convert`` makes: one model at several precisions and formats, and how (see the module)."""

    source: SourceOptions
    calibration: CalibrationOptions = field(default_factory=CalibrationOptions)
    quantization: QuantizationOptions = field(default_factory=QuantizationOptions)
    gate: GateOptions = field(default_factory=GateOptions)
    output: OutputOptions = field(default_factory=OutputOptions)
    warn: Callable[[str], None] = field(default=_warn, compare=False)
    progress: Callable | None = field(default=None, compare=False)  # wraps an iterable (e.g. a progress bar)

    @classmethod
    def build(cls, model: str, *, warn: Callable[[str], None] | None = None, progress: Callable | None = None,
              **fields) -> "ConvertOptions":
        """The options from flat field names (``weights=``, ``calib=``, ``ptq=``, ``formats=``, ...)."""
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise EdgekitError(f"unknown convert option(s): {', '.join(unknown)} (known: {', '.join(FIELDS)})")
        grouped: dict[str, dict] = {name: {} for name in GROUPS}
        for name, value in fields.items():
            grouped[FIELDS[name]][name] = value
        if "precisions" in grouped["output"]:
            grouped["output"]["precisions"] = tuple(grouped["output"]["precisions"]) or ("float",)
        if "formats" in grouped["output"]:
            grouped["output"]["formats"] = tuple(grouped["output"]["formats"])
        parts = {name: GROUPS[name](**values) for name, values in grouped.items() if name != "source"}
        return cls(source=SourceOptions(model=model, **grouped["source"]), **parts,
                   **({"warn": warn} if warn else {}), progress=progress)

    def replace(self, **fields) -> "ConvertOptions":
        """A copy with some fields (by flat name) changed."""
        changes: dict[str, dict] = {}
        for name, value in fields.items():
            if name not in FIELDS:
                raise EdgekitError(f"unknown convert option: {name}")
            changes.setdefault(FIELDS[name], {})[name] = value
        return dataclasses.replace(self, **{g: dataclasses.replace(getattr(self, g), **c) for g, c in changes.items()})
