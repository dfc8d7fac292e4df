"""The public API: the README's Python example run as written, typed frozen results, the package face."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import sqlite3

import pytest

import edgekit
from conftest import ROOT


def _readme_python() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Ten lines of Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_the_readme_example_runs_as_written(v1_weights, calib_dir, data_dir, eval_dir, tmp_path):
    code = _readme_python()
    assert len([line for line in code.splitlines() if line.strip()]) <= 12
    db = tmp_path / "results.db"
    names = {"WEIGHTS": str(v1_weights), "CALIB": str(calib_dir), "CHECK": str(data_dir / "imagenet-val" / "fullres20"),
             "EVAL": str(eval_dir), "OUT": str(tmp_path / "models"), "DB": str(db)}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), dict(names))  # noqa: S102 - our own README
    lines = printed.getvalue().splitlines()
    timing = [line for line in lines if " ms (median of " in line]
    accuracy = [line for line in lines if "top-1" in line]
    assert [line.split(":")[0] for line in timing] == ["float", "int8"]
    assert [line.split(":")[0] for line in accuracy] == ["float", "int8"]
    for line in accuracy:  # the real weights on 50 real images: far above chance (0.1%)
        assert float(re.search(r"top-1 ([\d.]+)%", line).group(1)) > 30
        assert "on 50 images of" in line
    with sqlite3.connect(db) as con:  # recording is the API's job, not only the CLI's
        kinds = sorted(kind for (kind,) in con.execute("SELECT kind FROM results"))
    assert kinds == ["bench", "bench", "eval", "eval"]


def test_results_are_typed_frozen_and_round_trip():
    result = edgekit.BenchResult.from_dict({"artifact": "m.tflite", "median_ms": 1.5, "threads": 1,
                                            "samples_ms": [1.4, 1.5, 1.6], "device": "host"})
    assert result.median_ms == 1.5 and result.extra["samples_ms"] == [1.4, 1.5, 1.6]
    assert result["samples_ms"] == [1.4, 1.5, 1.6] and result["median_ms"] == 1.5 and "threads" in result
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.median_ms = 1.0
    data = result.to_dict()
    assert list(data)[:5] == ["artifact", "median_ms", "threads", "samples_ms", "device"]  # the order it came in
    assert data["schema"] == 1 and edgekit.BenchResult.from_dict(data) == result
    with pytest.raises(KeyError):
        result["no-such-field"]


def test_a_newer_schema_is_refused_in_one_line():
    with pytest.raises(edgekit.EdgekitError, match="newer edgekit"):
        edgekit.EvalResult.from_dict({"artifact": "m.onnx", "top1": 0.5, "schema": 99})
    with pytest.raises(edgekit.EdgekitError, match="newer edgekit"):
        edgekit.Artifact.from_dict({"edgekit_sidecar": 2, "path": "x"})


def test_the_package_face_is_documented_and_light():
    import subprocess
    import sys

    for name in edgekit.__all__:
        obj = getattr(edgekit, name)
        if callable(obj) and not name.startswith("_"):
            assert (obj.__doc__ or "").strip(), f"edgekit.{name} has no docstring"
    done = subprocess.run([sys.executable, "-c", "import sys, edgekit; edgekit.Store; "
                           "print(sorted(m for m in ('tensorflow', 'keras', 'onnx', 'tf2onnx') if m in sys.modules))"],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_options_are_keyword_only_small_records():
    from edgekit.export.options import FIELDS, ConvertOptions, SourceOptions
    from edgekit.measure.bench import BenchOptions

    with pytest.raises(TypeError):
        SourceOptions("v1-0.25-128")
    with pytest.raises(TypeError):
        BenchOptions("litert")
    from edgekit.errors import EdgekitError
    from edgekit.vocab import DEFAULT_PTQ

    opts = ConvertOptions.build("v1-0.25-128", calib="c", ptq="minmax", max_drop=1.0, formats=("onnx",))
    assert ConvertOptions.build("v1-0.25-128").quantization.ptq == DEFAULT_PTQ
    assert (opts.source.model, opts.calibration.calib, opts.quantization.ptq, opts.gate.max_drop,
            opts.output.formats) == ("v1-0.25-128", "c", "minmax", 1.0, ("onnx",))
    assert opts.replace(ptq="gptq").quantization.ptq == "gptq" and opts.quantization.ptq == "minmax"
    # every field belongs to exactly one of the five groups a user thinks in
    assert set(FIELDS.values()) == {"source", "calibration", "quantization", "gate", "output"}
    with pytest.raises(EdgekitError, match="unknown convert option"):
        ConvertOptions.build("v1-0.25-128", calibrate="c")
