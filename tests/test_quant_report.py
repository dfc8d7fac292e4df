"""Per-layer int8 error (quant-report) and selective quantization (--keep-float)."""

import csv
from pathlib import Path
import io
import json

import pytest

from conftest import assert_clean_error, run_edgekit


@pytest.fixture(scope="module")
def reports(v1_weights, calib_dir):
    out = {}
    for fmt in ("tflite", "onnx"):
        proc = run_edgekit("quant-report", "v1-0.25-128", "--weights", str(v1_weights), "--calib", str(calib_dir),
                           "--calib-count", "40", "--check-count", "8", "--format", fmt, "--json")
        assert proc.returncode == 0, proc.stderr
        out[fmt] = json.loads(proc.stdout)
    return out


@pytest.mark.slow
def test_quant_report_lists_every_quantized_layer_worst_first(reports):
    report = reports["tflite"]
    layers = report["layers"]
    assert report["tool"] == "tf.lite.experimental.QuantizationDebugger" and len(layers) >= 28
    ratios = [r["rmse_per_scale"] for r in layers]
    assert ratios == sorted(ratios, reverse=True)
    # real weights, sane calibration: every tensor near the rounding floor (0.29), none flagged
    assert all(r < report["threshold"] for r in ratios) and report["flagged"] == 0
    assert sum(r > 0.1 for r in ratios) >= len(ratios) - 2  # only lossless ops (a reshape) sit near 0
    names = {r["layer"] for r in layers}
    assert {"conv_preds", "conv_pw_13_relu", "conv_dw_1_relu"} <= names  # Keras layer names, no clone suffix
    relu6 = next(r for r in layers if r["layer"] == "conv_pw_6_relu")
    assert relu6["float_min"] >= 0 and relu6["float_max"] <= 6.0001 and relu6["scale"] == pytest.approx(6 / 255, rel=1e-3)
    assert report["check"]["count"] == 8 and report["calibration"]["count"] == 40


@pytest.mark.slow
def test_onnx_debugger_agrees_with_tflite_on_the_same_model(reports):
    def worst(layers):  # a layer can own several tensors (e.g. a conv and its lossless reshape)
        out = {}
        for r in layers:
            if r["sqnr_db"] is not None and (r["layer"] not in out or r["sqnr_db"] < out[r["layer"]]["sqnr_db"]):
                out[r["layer"]] = r
        return out
    tfl, ort = worst(reports["tflite"]["layers"]), worst(reports["onnx"]["layers"])
    assert reports["onnx"]["tool"] == "onnxruntime.quantization.qdq_loss_debug"
    shared = set(tfl) & set(ort)
    assert len(shared) >= 25
    # the logits are the weak point in both; the fused ReLU6 is not mistaken for an error
    assert abs(tfl["conv_preds"]["sqnr_db"] - ort["conv_preds"]["sqnr_db"]) < 3
    assert all(ort[name]["rmse_per_scale"] < 0.7 for name in shared)


def test_quant_report_csv_and_bad_input(v1_weights, calib_dir, coral, tmp_path):
    proc = run_edgekit("quant-report", "v1-0.25-128", "--weights", str(v1_weights), "--calib", str(calib_dir),
                       "--calib-count", "16", "--check-count", "4", "--csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert rows and {"layer", "op", "scale", "zero_point", "rmse_per_scale", "sqnr_db", "flagged"} <= set(rows[0])
    assert_clean_error(run_edgekit("quant-report", str(coral / "mobilenet_v1_0.25_128_quant.tflite"),
                                   "--calib", str(calib_dir)), "no edgekit sidecar")
    assert_clean_error(run_edgekit("quant-report", "v1-0.3-128", "--calib", str(calib_dir)), "v1-0.3-128")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_clean_error(run_edgekit("quant-report", "v1-0.25-128", "--calib", str(empty)), "empty")


@pytest.mark.slow
def test_keep_float_makes_a_mixed_model(v1_weights, calib_dir, data_dir, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    proc = run_edgekit("convert", "--model", "v1-0.25-128", "--weights", str(v1_weights), "--int8",
                       "--keep-float", "conv_preds", "--calib", str(calib_dir), "--calib-count", "40",
                       "--check", str(data_dir / "imagenet-val" / "fullres20"), "--out", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    (sidecar,) = json.loads(proc.stdout)["artifacts"]
    assert sidecar["variant"] == "mixed" and sidecar["artifact"] == "tflite-int8-mixed.tflite"
    assert sidecar["quantization"]["keep_float"]["layers"] == ["conv_preds"]
    it = Interpreter(str(tmp_path / "v1-0.25-128" / "tflite-int8-mixed.tflite"))
    tensors = it.get_tensor_details()
    convs = [(o["op_name"], tensors[o["outputs"][0]]["dtype"].__name__) for o in it._get_ops_details()
             if o["op_name"] == "CONV_2D"]
    assert convs[-1] == ("CONV_2D", "float32")  # conv_preds, the last conv, stayed float
    assert all(dtype == "int8" for _, dtype in convs[:-1])
    assert sidecar["parity"]["top1_agreement"] > 0.6


@pytest.mark.slow
def test_keep_float_bad_requests_are_one_line_errors(v1_weights, calib_dir, tmp_path):
    base = ["convert", "--model", "v1-0.25-128", "--weights", str(v1_weights), "--calib", str(calib_dir),
            "--calib-count", "16", "--out", str(tmp_path)]
    assert_clean_error(run_edgekit(*base, "--float", "--keep-float", "conv_preds"), "needs --int8")
    assert_clean_error(run_edgekit(*base, "--int8", "--format", "onnx", "--keep-float", "conv_preds"), "TFLite")
    assert_clean_error(run_edgekit(*base, "--int8", "--keep-float", "auto:0"), "positive N")
    assert_clean_error(run_edgekit(*base, "--int8", "--keep-float", "conv_pred"), "conv_pred", "nearest: conv_preds")
    assert not list(tmp_path.rglob("*.tflite"))


@pytest.mark.slow
def test_v3_int8_hard_swish_split_is_one_partition_and_the_same_function(calib_dir, v3_for_edgetpu):
    """The default v3 int8 TFLite export writes hard-swish as delegable int8 ops; --hswish stock keeps
    HARD_SWISH, which XNNPACK leaves to the reference kernels (many partitions). The forms themselves
    are tested on a toy in test_hswish_rewrite.py."""
    import numpy as np

    from edgekit.export import calibration as cal
    from edgekit.export.rewrite import split_hard_swish
    from edgekit.run.runtime import open_runtime
    from edgekit.run.tflite_graph import read_graph
    from edgekit.zoo.build import build, warm_batchnorm
    from edgekit.zoo.spec import parse_model

    spec = parse_model("v3-small-0.75-96")
    x = spec.preprocessing.apply(cal.load_folder(calib_dir, 96, 8).pixels)
    model, _ = build(spec, "none", logits=True)
    warm_batchnorm(model, x)
    split, folded = split_hard_swish(model)
    assert folded == 19  # every hard-swish of v3-small folds its 1/6 into the next convolutions
    assert not any(type(l).__name__ == "Activation" and "hard" in l.get_config()["activation"] for l in split.layers)
    assert np.abs(np.asarray(split(x)) - np.asarray(model(x))).max() <= 1e-4

    partitions, ops = {}, {}
    for mode, sidecar in v3_for_edgetpu.items():
        assert bool(sidecar["graph_rewrites"]) == (mode == "split")
        with open_runtime(sidecar["path"]) as rt:
            partitions[mode] = rt.delegation()["delegate_partitions"]
        ops[mode] = read_graph(sidecar["path"]).op_names()
    assert partitions["split"] == 1 and partitions["stock"] > 5
    assert "19 of 19" in v3_for_edgetpu["split"]["graph_rewrites"][0]
    assert "HARD_SWISH" not in ops["split"] and ops["stock"].count("HARD_SWISH") == 19
    # one ADD + one MUL per hard-swish, nothing else added: the stock graph's MULs (squeeze-excite) + 19
    assert ops["split"].count("MUL") == ops["stock"].count("MUL") + 19


@pytest.mark.slow
def test_relu6_study_on_the_real_weights(v1_weights, calib_dir, eval_dir, tmp_path):
    proc = run_edgekit("study", "relu6", "--model", "v1-0.25-128", "--weights", str(v1_weights), "--calib",
                       str(calib_dir), "--calib-count", "40", "--data", str(eval_dir), "--limit", "60",
                       "--out", str(tmp_path), "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    capped, free = report["variants"]["relu6"], report["variants"]["relu"]
    assert len(capped["layers"]) == 27 and report["data"]["count"] == 60
    assert all(layer["max_abs_activation"] <= 6.0001 for layer in capped["layers"])
    assert max(layer["max_abs_activation"] for layer in free["layers"]) > 12  # uncapped ranges grow
    assert capped["float_top1"] > free["float_top1"] + 20  # the weights were trained with the cap
    assert capped["int8_sqnr_db"] > free["int8_sqnr_db"]
    assert "layers exceed 6" in report["conclusion"]
    assert Path(report["plot"]).read_bytes()[:4] == b"\x89PNG"


def test_relu6_study_needs_relu6(calib_dir, eval_dir):
    assert_clean_error(run_edgekit("study", "relu6", "--model", "v3-small-0.75-96-min", "--calib", str(calib_dir),
                                   "--data", str(eval_dir)), "no ReLU6")
