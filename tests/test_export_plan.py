"""edgekit.export.plan and edgekit.export.exporters: what each (format, precision) means, validated before any
heavy work, and the registry of format exporters (no model is built here: these tests are fast)."""

from __future__ import annotations

import pytest

from edgekit import vocab
from edgekit.errors import EdgekitError
from edgekit.export.exporters import exporter_class, formats_for, registered
from edgekit.export.options import ConvertOptions
from edgekit.export.plan import make_plan
from edgekit.export.source import resolve
from edgekit.tasks import known as known_tasks


def _plan(model="v1-0.25-128", **fields):
    opts = ConvertOptions.build(model, warn=lambda msg: None, **fields)
    return make_plan(opts, resolve(opts.source))


def test_the_registry_is_the_vocabulary():
    """One exporter per (format, kind of source); the precisions each writes are vocab's."""
    got = registered()
    assert {fmt for fmt, _ in got} == set(vocab.FORMATS)
    for (fmt, kind), cls in got.items():
        assert set(cls.precisions) <= set(vocab.FORMAT_PRECISIONS[fmt]) and cls.runtime == vocab.FORMAT_RUNTIME[fmt]
        assert cls.extension == vocab.EXTENSIONS[fmt] and cls.format == fmt and cls.source_kind == kind
    for fmt in vocab.FORMATS:  # a Keras model reaches every format at every precision vocab names for it
        assert exporter_class(fmt, "keras").precisions == vocab.FORMAT_PRECISIONS[fmt]
    assert formats_for("tflite") == {"keras", "onnx", "tflite"} and formats_for("onnx") == {"keras", "onnx", "tflite"}
    assert set(known_tasks()) == set(vocab.TASKS)
    assert exporter_class("tflite", "keras").mixed_scheme and exporter_class("onnx", "onnx").mixed_scheme is None


def test_what_each_precision_means_per_format():
    plan = _plan(precisions=("float", "int8"), formats=("tflite", "onnx"), io="uint8")
    items = {(i.format, i.precision): i for i in plan.items}
    assert items[("tflite", "int8")].io == "uint8" and items[("onnx", "int8")].io == "float"
    assert items[("tflite", "float")].io == "float" and not plan.target.max_drop
    assert plan.needs_calibration and [i.label for i in plan.items] == ["float", "int8", "float", "int8"]
    mixed = _plan(precisions=("int8",), keep_float="auto:2")
    assert mixed.items[0].label == "int8-mixed" and mixed.items[0].keep_float == "auto:2"


def test_the_edge_tpu_is_decided_once():
    """--edgetpu: full-integer TFLite with uint8 I/O, int8 added when not asked for."""
    plan = _plan(precisions=("float",), edgetpu=True)
    assert [(i.format, i.precision, i.io, i.edgetpu) for i in plan.items] == [
        ("tflite", "float", "float", False), ("tflite", "int8", "uint8", True)]
    assert _plan(precisions=("int8",), edgetpu=True, io="int8").items[0].io == "int8"
    with pytest.raises(EdgekitError, match="drop --format"):
        _plan(precisions=("int8",), edgetpu=True, formats=("onnx",))


@pytest.mark.parametrize("fields, message", [
    ({"formats": ("coreml",)}, "unknown format 'coreml'"),
    ({"precisions": ("fp16",), "formats": ("onnx",)}, "onnx has no fp16 export"),
    ({"io": "uint8"}, "applies to full-integer TFLite only"),
    ({"calib_count": 0}, "must be at least 1"),
    ({"precisions": ("int8",), "ptq": "magic"}, "unknown --ptq 'magic'"),
    ({"precisions": ("int8",), "keep_float": "auto:0"}, "positive N"),
    ({"precisions": ("int8",), "formats": ("onnx",), "keep_float": "conv1"}, "TFLite-only"),
    ({"precisions": ("int8",), "max_drop": 1.0, "keep_float": "conv1"}, "drop --keep-float"),
    ({"precisions": ("float",), "max_drop": 1.0}, "needs --int8"),
    ({"precisions": ("int8",), "max_drop": 1.0}, "random weights have no meaningful top-1"),
    ({"precisions": ("int8",), "min_agreement": 1.5}, "fraction above 0 up to 1"),
    ({"precisions": ("int8",), "require": "speed>=2"}, "METRIC one of agreement, sqnr, drop"),
    ({"calib": "/tmp", "check": "/tmp/"}, "must not be the calibration folder"),
])
def test_bad_requests_are_refused_before_any_work(fields, message):
    with pytest.raises(EdgekitError, match=message):
        _plan(**fields)


def test_skipped_pairs_are_said():
    said = []
    opts = ConvertOptions.build("v1-0.25-128", precisions=("fp16",), formats=("tflite", "onnx"), skip_unsupported=True,
                                warn=said.append)
    plan = make_plan(opts, resolve(opts.source))
    assert [(i.format, i.precision) for i in plan.items] == [("tflite", "fp16")]
    assert said == ["onnx has no fp16 export: skipped"]


def test_a_litert_refusal_reads_cause_first():
    """LiteRT's run-together log lines (as MediaPipe's face mesh after AI Edge Quantizer gives them) become one
    readable reason: the failing kernel's check, then the delegations XNNPACK declined, counted."""
    from edgekit.run.litert import refusal

    def _litert_refusal(text):
        return refusal(RuntimeError(text))

    raw = ("failed to delegate MAX_POOL_2D node #11failed to delegate MAX_POOL_2D node #25tflite/kernels/conv.cc:390 "
           "affine_quantization->zero_point->data[i] != 0 (21 != 0)Node number 0 (CONV_2D) failed to prepare.")
    said = _litert_refusal(raw)
    assert said.startswith("conv.cc:390") and "(21 != 0); Node number 0 (CONV_2D)" in said
    assert said.endswith("(XNNPACK also declined 2 MAX_POOL_2D nodes)")
    assert _litert_refusal("") == "it does not run"


def test_a_floor_with_nothing_to_measure_is_said_and_a_task_failure_stands():
    """judge(): a floor whose metric the artifact lacks is "not measured" (never met); a result the task already
    failed (outputs it could not compare) stays failed whatever the floors say."""
    from edgekit.export import parity
    from edgekit.tasks import get_task

    floors = parity.parse_require("sqnr>=10", get_task("detection"))
    unmeasured = parity.judge({"box_iou": 0.9}, floors, "test")
    assert unmeasured["passed"] is None and unmeasured["not_measured"] == ["sqnr>=10"]
    broken = parity.judge({"passed": False, "failed": ["outputs [[100, 4]] where the source model has [[540, 4]]"]},
                          floors, "test")
    assert broken["passed"] is False and "outputs [[100, 4]]" in broken["failed"][0]
    assert parity.judge({"sqnr_db": 12.0}, floors, "test")["passed"] is True
