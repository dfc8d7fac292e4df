"""Export stage: every precision x format, parity, sidecars, calibration preprocessing, atomicity."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from edgekit.export import artifact as art
from edgekit.files import sha256_bytes
from edgekit.export import check as check_mod
from edgekit.export import forms as forms_mod
from edgekit.export import parity
from edgekit.export.convert import ConvertOptions, convert

from conftest import assert_clean_error, run_edgekit


@pytest.fixture(scope="module")
def v1_real(tmp_path_factory, v1_weights, calib_dir):
    """The real v1-0.25-128 weights, float/fp16/dynamic TFLite and float ONNX."""
    out = tmp_path_factory.mktemp("v1")
    sidecars = convert(ConvertOptions.build("v1-0.25-128", weights=str(v1_weights), precisions=("float", "fp16", "dynamic"),
                                      formats=("tflite", "onnx"), calib=str(calib_dir), calib_count=40, out=str(out),
                                      skip_unsupported=True))
    return out, {(s["format"], s["precision"]): s for s in sidecars}


def test_float_formats_match_keras(v1_real):
    out, sidecars = v1_real
    for fmt in ("tflite", "onnx"):
        s = sidecars[(fmt, "float")]
        assert s["parity"]["passed"] is True
        assert s["parity"]["max_abs_diff"] <= 1e-4
        assert s["parity"]["top1_agreement"] == 1.0
        assert (out / "v1-0.25-128" / s["artifact"]).is_file()
    assert sidecars[("tflite", "fp16")]["parity"]["passed"] is True
    assert ("onnx", "fp16") not in sidecars  # skipped under --format all, with a warning


def test_sidecar_records_everything(v1_real, v1_weights):
    out, sidecars = v1_real
    s = json.loads((out / "v1-0.25-128" / "tflite-float.json").read_text())
    assert s["model"]["name"] == "v1-0.25-128"
    assert s["model"]["preprocessing"]["offset"] == -1.0
    assert s["weights"]["kind"] == "file" and len(s["weights"]["sha256"]) == 64
    assert s["size_bytes"] == (out / "v1-0.25-128" / "tflite-float.tflite").stat().st_size
    assert s["sha256"] == sha256_bytes((out / "v1-0.25-128" / "tflite-float.tflite").read_bytes())
    assert {"tensorflow", "keras", "onnxruntime", "ai-edge-litert", "edgekit"} <= set(s["tools"])
    assert s["macs"] == 13_570_048 and s["calibration"] is None
    assert s["io"]["inputs"][0]["shape"] == [1, 128, 128, 3]
    assert s["parity"]["check"]["count"] >= 8
    onnx = sidecars[("onnx", "float")]
    assert onnx["onnx"]["opset"] == 17 and onnx["io"]["inputs"][0]["name"] == "input"
    # no temporary files left next to the artifacts
    assert not [p for p in (out / "v1-0.25-128").iterdir() if p.name.startswith(".")]


# Every precision on v2 and v3-small (random weights). v1 is covered elsewhere with its real weights (the
# session's `ours` exports, float and int8 in both formats; fp16, dynamic and int16x8 in test_user_output), and
# v3-large shares v3-small's builder, hard-swish rewrite and export path (its build is held to the architecture
# in test_arch_vs_keras; benchmarks/op_ledger.py and seed_systems.py convert it at 224 px): the suite's budget.
EVERY = ("float", "fp16", "dynamic", "int8", "int16x8")


@pytest.mark.parametrize("model, precisions", [("v2-0.35-96", EVERY), ("v3-small-0.75-96", EVERY)])
@pytest.mark.slow
def test_every_family_converts_to_every_precision(model, precisions, tmp_path, calib_dir):
    sidecars = convert(ConvertOptions.build(model, weights="none", precisions=precisions,
                                      formats=("tflite", "onnx"), calib=str(calib_dir), calib_count=24, check_count=8,
                                      out=str(tmp_path), skip_unsupported=True))
    got = {(s["format"], s["precision"]) for s in sidecars}
    assert got == {("tflite", p) for p in precisions} | {("onnx", p) for p in ("float", "int8")}
    for s in sidecars:
        assert (tmp_path / s["model"]["name"] / s["artifact"]).stat().st_size > 10_000
        if s["precision"] in ("float", "fp16"):
            assert s["parity"]["passed"], s["parity"]
        if s["precision"] == "int8":
            assert s["calibration"]["count"] > 0 and s["calibration"]["weight_rounding"] == "gptq-seq"
            assert s["bn_warmed"]["images"] > 0  # random weights: BN statistics set from calibration
            # BN-warmed random weights (seed 0) give near-flat logits, so int8 SQNR on 8 images after
            # 24 calibration images is modest: v3-large-0.75-96 1.4 dB TFLite (hard-swish split),
            # 4.7 dB ONNX; the others 4-20 dB. A broken quantization (wrong preprocessing, a lost
            # scale) gives 0 dB or less. Real weights are held to 17 dB below.
            assert s["parity"]["sqnr_db"] > 1, (s["format"], s["parity"])


@pytest.mark.slow
def test_int8_of_real_weights_beats_the_converters_own_rounding(tmp_path, v1_weights, calib_dir):
    """The default weight rounding (sequential GPTQ) must stay well above plain min/max int8 (14.9 dB
    here), and above plain GPTQ on the same held-out parity images (21.5 vs 20.6 dB on eval300; the
    parity set is 32 other calib100 images)."""
    sidecars = convert(ConvertOptions.build("v1-0.25-128", weights=str(v1_weights), precisions=("int8",), formats=("tflite", "onnx"),
                                      calib=str(calib_dir), out=str(tmp_path)))
    for s in sidecars:
        assert s["calibration"]["weight_rounding"] == "gptq-seq"
        assert s["parity"]["sqnr_db"] > 17, s["parity"]
        assert s["parity"]["top1_agreement"] >= 0.7
    plain = convert(ConvertOptions.build("v1-0.25-128", weights=str(v1_weights), precisions=("int8",), formats=("tflite",), calib=str(calib_dir),
                                   ptq="gptq", out=str(tmp_path / "gptq")))[0]
    assert plain["calibration"]["weight_rounding"] == "gptq"
    ours = next(s for s in sidecars if s["format"] == "tflite")
    assert plain["parity"]["images"] == ours["parity"]["images"]
    assert ours["parity"]["sqnr_db"] > plain["parity"]["sqnr_db"] + 0.3, (ours["parity"], plain["parity"])


@pytest.mark.slow
def test_v3_onnx_graph_has_no_stray_transposes(tmp_path, calib_dir):
    """tf2onnx's own optimizer gives up on v3's scalar '+3' and leaves ~100 Transposes."""
    import tf2onnx
    import tensorflow as tf

    from edgekit.export import onnx as onnx_export
    from edgekit.zoo.build import build
    from edgekit.zoo.spec import parse_model

    spec = parse_model("v3-small-0.75-96")
    model, _ = build(spec, "none", logits=True)
    ours = onnx_export.count_ops(onnx_export.convert_float(model))
    stock, _ = tf2onnx.convert.from_keras(model, input_signature=[tf.TensorSpec((1, 96, 96, 3), tf.float32)], opset=17)
    stock_transposes = sum(node.op_type == "Transpose" for node in stock.graph.node)
    assert stock_transposes > 50  # the upstream bug is still there: the workaround is needed
    assert ours.get("Transpose", 0) <= 2


@pytest.mark.parametrize("model, scale, zero_point", [
    ("v1-0.25-128", 2 / 255, 128),   # v1/v2 calibrate on x/127.5 - 1: input range [-1, 1]
    ("v3-small-0.75-96", 1.0, 0),    # Keras v3 calibrates on raw pixels: input range [0, 255]
])
@pytest.mark.slow
def test_calibration_uses_each_familys_preprocessing(model, scale, zero_point, tmp_path, calib_dir):
    sidecars = convert(ConvertOptions.build(model, weights="none", precisions=("int8",), formats=("tflite",), calib=str(calib_dir), calib_count=16,
                                      check_count=8, io="uint8", out=str(tmp_path)))
    inp = sidecars[0]["io"]["inputs"][0]
    assert inp["dtype"] == "uint8"
    assert inp["scale"] == pytest.approx(scale, rel=0.02)
    assert abs(inp["zero_point"] - zero_point) <= 1
    assert sidecars[0]["quantization"]["io"] == "uint8"


@pytest.mark.slow
def test_int8_io_variants(tmp_path, calib_dir):
    for io, dtype in (("int8", "int8"), ("float", "float32")):
        s = convert(ConvertOptions.build("v2-0.35-96", weights="none", precisions=("int8",), formats=("tflite",), calib=str(calib_dir),
                                   calib_count=16, check_count=8, io=io, out=str(tmp_path / io)))[0]
        assert s["io"]["inputs"][0]["dtype"] == dtype and s["io"]["outputs"][0]["dtype"] == dtype


@pytest.mark.slow
def test_synthetic_calibration_is_loud_and_recorded(tmp_path):
    warnings = []
    s = convert(ConvertOptions.build("v2-0.35-96", weights="none", precisions=("int8",), formats=("tflite",), out=str(tmp_path),
                               warn=warnings.append))[0]
    assert s["calibration"]["source"] == "synthetic"
    assert any("SYNTHETIC" in w for w in warnings)


@pytest.mark.slow
def test_a_broken_conversion_fails_parity_and_writes_nothing(tmp_path, calib_dir, monkeypatch):
    real_save = forms_mod.tflite_export.save_model

    def broken_save(model, folder, batch=1):
        import keras

        other = keras.models.clone_model(model)  # same architecture, re-initialised weights
        return real_save(other, folder, batch)

    monkeypatch.setattr(forms_mod.tflite_export, "save_model", broken_save)
    with pytest.raises(parity.ParityError, match="parity check failed"):
        convert(ConvertOptions.build("v2-0.35-96", weights="none", precisions=("float",), formats=("tflite",), calib=str(calib_dir),
                               calib_count=16, check_count=8, out=str(tmp_path)))
    folder = tmp_path / "v2-0.35-96"
    assert not folder.exists()  # neither the artifact, its sidecar, a temp file nor an empty model folder
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_interrupted_conversion_leaves_no_file(tmp_path, calib_dir, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(check_mod, "run_check", interrupted)
    with pytest.raises(KeyboardInterrupt):
        convert(ConvertOptions.build("v2-0.35-96", weights="none", precisions=("float",), formats=("tflite",), calib=str(calib_dir),
                               calib_count=16, check_count=8, out=str(tmp_path)))
    assert not (tmp_path / "v2-0.35-96").exists() and not list(tmp_path.iterdir())


def test_write_atomic_keeps_the_old_file_when_replace_fails(tmp_path, monkeypatch):
    target = tmp_path / "a.tflite"
    target.write_bytes(b"old")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        art.write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.tflite"]


@pytest.mark.slow
def test_odd_images_are_converted_not_fatal(tmp_path):
    """Grayscale, CMYK, RGBA PNG and a corrupt file: the first three calibrate, the last is skipped."""
    folder = tmp_path / "calib"
    folder.mkdir()
    Image.new("L", (60, 50), 90).save(folder / "gray.png")
    Image.new("CMYK", (60, 50), (10, 20, 30, 0)).save(folder / "cmyk.jpg")
    Image.new("RGBA", (60, 50), (200, 10, 10, 128)).save(folder / "alpha.png")
    (folder / "broken.jpg").write_bytes(b"nope")
    check = tmp_path / "check"
    check.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(check / "x.png")
    s = convert(ConvertOptions.build("v2-0.35-96", weights="none", precisions=("int8",), formats=("tflite",), calib=str(folder), check=str(check),
                               out=str(tmp_path / "out")))[0]
    assert s["calibration"]["count"] == 3 and s["calibration"]["skipped"] == 1


@pytest.mark.parametrize("setup, args, fragment", [
    ("empty", ["--int8", "--calib", "{d}"], "no images in"),
    ("missing", ["--int8", "--calib", "{d}/nope"], "image folder not found"),
    ("garbage", ["--int8", "--calib", "{d}"], "could be decoded"),
    ("none", ["--fp16", "--format", "onnx"], "onnx has no fp16 export"),
    ("none", ["--io", "uint8"], "--io uint8 applies to full-integer TFLite only"),
    ("none", ["--out", "/proc/edgekit-cannot-write"], "cannot create output folder"),
])
def test_bad_input_is_one_line(tmp_path, setup, args, fragment):
    d = tmp_path / "images"
    d.mkdir()
    if setup == "garbage":
        (d / "a.jpg").write_bytes(b"xx")
        (d / "b.png").write_bytes(b"yy")
    args = [a.format(d=d) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    assert_clean_error(run_edgekit("convert", "--model", "v2-0.35-96", *args), fragment)


@pytest.mark.slow
def test_cli_convert_json(tmp_path, calib_dir):
    proc = run_edgekit("convert", "--model", "v2-0.35-96", "--int8", "--io", "uint8", "--calib", str(calib_dir),
                       "--calib-count", "16", "--check-count", "8", "--out", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["artifacts"][0]["io"]["inputs"][0]["dtype"] == "uint8"
    assert (tmp_path / "v2-0.35-96" / "tflite-int8.tflite").is_file()
