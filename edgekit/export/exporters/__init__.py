"""Format exporters, one per (format, kind of source), registered by decorator as tf2onnx registers its
op handlers:

    @register
    class KerasTFLite(Exporter):
        format, source_kind = "tflite", "keras"
        ...

An exporter turns a source's forms (``export.forms``) into the bytes of one artifact and the sidecar
fields that say how (``export``); the int8 exporters also rank layers for accuracy-controlled mixed
precision (``ranking``) and write the int8 model with some layers kept float (``mixed``). A new
format, or a new kind of source for a format, is one more registered class: the runner
(``export.convert``) never asks which format it is writing.
"""

from __future__ import annotations

from typing import ClassVar

from edgekit.errors import EdgekitError


class Exporter:
    """Base class: one file format written from one kind of source model."""

    format: ClassVar[str]  # vocab.FORMATS
    source_kind: ClassVar[str]  # "keras" | "onnx" (export.forms.FORMS)
    title: ClassVar[str]  # how messages name the format
    precisions: ClassVar[tuple[str, ...]]
    runtime: ClassVar[str]  # the runtime that reads the file (parity, mixed-precision costs)
    extension: ClassVar[str]
    mixed_scheme: ClassVar[str | None] = None  # how layers are kept float in int8; None: no mixed precision
    debugger: ClassVar[str | None] = None  # the converter's own per-layer int8 error tool (quant-report)
    # what int8 can mean in this format (the plan asks; export.plan)
    integer_io: ClassVar[bool] = False  # full-integer model I/O (int8/uint8) instead of float
    named_keep_float: ClassVar[bool] = False  # --keep-float LAYER,... / auto:N (a mixed model from a request)
    edgetpu: ClassVar[bool] = False  # the Edge TPU compiler reads this format

    def __init__(self, forms):
        self.forms = forms

    @classmethod
    def unavailable(cls) -> str | None:
        """Why this exporter cannot run here (an extra not installed), or None."""
        return None

    def export(self, item) -> tuple[bytes, dict]:
        """The artifact of ``item`` (an ``export.plan.Item``) and the sidecar fields that describe it."""
        raise NotImplementedError

    def layer_errors(self, debug_x, split: bool = True) -> list:
        """The converter's own per-layer int8 error rows (``quant.layer_error``) on the preprocessed ``debug_x``;
        ``split``: of the int8 graph as exported (MobileNetV3's hard-swish split), else of the stock graph."""
        raise EdgekitError(f"{self.title} from a {self.source_kind} model has no per-layer int8 debugger")

    def ranking(self) -> list[tuple[str, list[str]]]:
        """Layers worst first by int8 RMSE/scale on calibration images, each with its quantized tensors."""
        calib_x = self.forms.calib_x
        return ranked_layers(self.forms.own_names(self.layer_errors(calib_x[: min(32, len(calib_x))])))

    def mixed(self, tensors: list[str]) -> bytes:
        """The int8 model with the ops producing ``tensors`` kept float."""
        raise EdgekitError(f"{self.title} from a {self.source_kind} model has no mixed precision")


def ranked_layers(rows) -> list[tuple[str, list[str]]]:
    """(layer, its tensors) worst first, from debugger rows already ranked by ``quant.layer_error.finish``."""
    ranked: dict[str, list[str]] = {}
    for row in rows:
        if row.layer and row.rmse_per_scale is not None:
            ranked.setdefault(row.layer, []).append(row.tensor)
    return list(ranked.items())


_REGISTRY: dict[tuple[str, str], type[Exporter]] = {}


def register(cls: type[Exporter]) -> type[Exporter]:
    """Class decorator: the exporter of ``cls.format`` for sources of ``cls.source_kind``."""
    _REGISTRY[(cls.format, cls.source_kind)] = cls
    return cls


def _load() -> None:
    from edgekit.export.exporters import onnx, tflite  # noqa: F401  (each registers itself)


def exporter_class(fmt: str, source_kind: str | None = None) -> type[Exporter]:
    """The exporter of ``fmt`` for ``source_kind`` (None: the format's first, for what every one shares)."""
    _load()
    for (f, kind), cls in _REGISTRY.items():
        if f == fmt and source_kind in (None, kind):
            return cls
    raise EdgekitError(f"no {fmt} exporter takes a {source_kind} model")


def formats_for(fmt: str) -> set[str]:
    """The kinds of source model ``fmt`` can be written from."""
    _load()
    return {kind for f, kind in _REGISTRY if f == fmt}


def registered() -> dict[tuple[str, str], type[Exporter]]:
    _load()
    return dict(_REGISTRY)
