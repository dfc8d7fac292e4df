"""Edge TPU: the mapping predictor against Google's own compiler output, and the device's errors."""

from __future__ import annotations

import json

import pytest

from conftest import assert_clean_error, run_edgekit
from edgekit.edgetpu import compiler
from edgekit.edgetpu.check import predict
from edgekit.run.tflite_graph import EDGETPU_CUSTOM_OP, read_graph


def twins(coral):
    """(CPU model, Google's Edge TPU compiler output of it) for every pair in the data folder."""
    pairs = []
    for compiled in sorted(coral.rglob("*_edgetpu.tflite")):
        cpu = compiled.with_name(compiled.name.replace("_edgetpu", ""))
        if cpu.exists():
            pairs.append((cpu, compiled))
    return pairs


def test_prediction_matches_googles_compiler_output(coral):
    pairs = twins(coral)
    assert len(pairs) >= 6, pairs  # v1 0.25/128, 0.5/160, 0.75/192, the embedding extractor, DeepLab (PASCAL, Cityscapes)
    assert any("segmentation" in str(cpu) for cpu, _ in pairs)
    for cpu, compiled in pairs:
        got = read_graph(compiled)
        inside = [op for op in got.ops if op.name == EDGETPU_CUSTOM_OP]
        outside = [op for op in got.ops if op.name != EDGETPU_CUSTOM_OP]
        predicted = predict(cpu)
        assert predicted["ops_on_cpu"] == len(outside), (cpu.name, predicted["first_unsupported"])
        assert predicted["ops_total"] == len(read_graph(cpu).ops)
        # one segment, fed by the model input; it produces the model output unless the graph is cut, and then
        # the op we predict to cut it (DeepLab's image-pooling resize, its final 15.5x upsampling) is where the
        # compiler cut it: the first op outside the segment has our predicted op's name
        assert len(inside) == 1 and inside[0].inputs == got.inputs
        if predicted["first_unsupported"] is None:
            assert inside[0].outputs == got.outputs
        else:
            assert outside[0].name == predicted["first_unsupported"]["op"], (cpu.name, outside[0].name)
        as_compiled = predict(compiled)
        assert as_compiled["compiled"] and as_compiled["ops_on_tpu"] == 1 and as_compiled["ops_on_cpu"] == len(outside)


def test_float_model_maps_nothing_and_says_why(ours):
    _, paths = ours
    result = predict(paths[("tflite", "float")])
    assert result["ops_on_tpu"] == 0 and result["ops_on_cpu"] == result["ops_total"]
    assert "FLOAT32" in result["first_unsupported"]["reason"]
    assert any("full-integer" in a for a in result["advice"])


@pytest.mark.slow
def test_v3_hard_swish_split_maps_entirely_and_stock_is_cut(v3_for_edgetpu):
    split, stock = v3_for_edgetpu["split"], v3_for_edgetpu["stock"]
    assert split["io"]["inputs"][0]["dtype"] == "uint8"
    assert split["edgetpu"]["predicted"]["ops_on_cpu"] == 0 and split["edgetpu"]["predicted"]["ops_on_tpu"] > 100
    first = stock["edgetpu"]["predicted"]["first_unsupported"]
    assert first["op"] == "HARD_SWISH"
    assert stock["edgetpu"]["predicted"]["ops_on_cpu"] > 0.9 * stock["edgetpu"]["predicted"]["ops_total"]
    assert any("minimalistic" in a for a in stock["edgetpu"]["predicted"]["advice"])
    if not compiler.available():
        assert "not on PATH" in split["edgetpu"]["compiler"]


def test_cli_json_shape_and_bad_input(coral, tmp_path):
    out = run_edgekit("edgetpu-check", str(coral / "mobilenet_v2_1.0_224_quant.tflite"), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"ops_total", "ops_on_tpu", "ops_on_cpu", "first_unsupported", "ops"} <= set(data)
    assert isinstance(data["ops_on_tpu"], int) and data["ops_on_tpu"] == data["ops_total"] == 66
    assert {"index", "op", "mapped", "reason"} <= set(data["ops"][0])
    assert_clean_error(run_edgekit("edgetpu-check", str(tmp_path / "nope.tflite")), "not found")
    truncated = tmp_path / "cut.tflite"
    truncated.write_bytes((coral / "mobilenet_v2_1.0_224_quant.tflite").read_bytes()[:3000])
    assert_clean_error(run_edgekit("edgetpu-check", str(truncated)), "cut.tflite")
    assert_clean_error(run_edgekit("edgetpu-check", str(coral / "parrot.jpg")), ".tflite files only")


def test_strict_exit_for_ci(ours):
    _, paths = ours
    assert run_edgekit("edgetpu-check", str(paths[("tflite", "float")]), "--strict").returncode == 1
    assert run_edgekit("edgetpu-check", str(paths[("tflite", "float")])).returncode == 0


def test_compiled_file_on_a_cpu_and_a_missing_runtime_are_one_line(coral):
    compiled = str(coral / "mobilenet_v1_0.25_128_quant_edgetpu.tflite")
    assert_clean_error(run_edgekit("bench", compiled, "--no-record"), "Edge TPU compiler output", "--device edgetpu")
    assert_clean_error(run_edgekit("eval", compiled, "--data", str(coral.parent / "imagenet-val" / "eval300"),
                                   "--limit", "5", "--no-record"), "Edge TPU compiler output")
    cpu = str(coral / "mobilenet_v1_0.25_128_quant.tflite")
    out = run_edgekit("bench", cpu, "--device", "edgetpu", "--no-record")
    try:
        import ctypes

        ctypes.CDLL("libedgetpu.so.1")
    except OSError:
        assert_clean_error(out, "libedgetpu.so.1", "not installed")
    else:  # an Edge TPU runtime is here: the CPU twin is refused for what it is
        assert_clean_error(out, "not compiled for the Edge TPU")


def test_compiler_report_parser_reads_the_documented_summary():
    """The summary format of edgetpu_compiler 16 (as Coral's docs show it); the compiler itself is not here."""
    text = "\n".join([
        "Edge TPU Compiler version 16.0.384591198", "",
        "Model compiled successfully in 352 ms.", "",
        "Input model: model.tflite", "Input size: 3.44MiB", "Output model: model_edgetpu.tflite",
        "Output size: 3.73MiB", "On-chip memory used for caching model parameters: 3.42MiB",
        "On-chip memory remaining for caching model parameters: 4.31MiB",
        "Off-chip memory used for streaming uncached model parameters: 0.00B",
        "Number of Edge TPU subgraphs: 1", "Total number of operations: 66",
        "Operation log: model_edgetpu.log", "",
        "Number of operations that will run on Edge TPU: 64", "Number of operations that will run on CPU: 2",
    ])
    report = compiler.parse_report(text)
    assert report["compiler_version"] == "16.0.384591198" and report["subgraphs"] == 1
    assert (report["ops_total"], report["ops_on_tpu"], report["ops_on_cpu"]) == (66, 64, 2)
    assert report["on_chip_bytes"] == int(3.42 * 2**20) and report["off_chip_bytes"] == 0
    everything = compiler.parse_report("Total number of operations: 31\nNumber of Edge TPU subgraphs: 1\n")
    assert everything["ops_on_cpu"] == 0 and everything["ops_on_tpu"] == 31
