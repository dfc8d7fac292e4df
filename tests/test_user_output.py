"""What users see: every command's default (table) output, run as a real subprocess in a narrow terminal,
shows its key figures; judged parity exits 1 on a broken int8 conversion; --require and --max-drop."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import assert_clean_error, run_edgekit

NARROW = {"COLUMNS": "100"}  # a terminal 100 characters wide: tables wrap, figures must survive


def user(*args: str, timeout: float = 600):
    """The command as a user types it: default output, 100 columns."""
    out = run_edgekit(*args, env=NARROW, timeout=timeout)
    assert "Traceback" not in out.stderr, out.stderr
    return out


def flat(text: str) -> str:
    """Text with the terminal's line wrapping undone (table cells and sentences wrap at 100 columns)."""
    return " ".join(text.split())


def _fits(stdout: str, width: int = 100) -> None:
    assert all(len(line) <= width for line in stdout.splitlines()), max(stdout.splitlines(), key=len)


@pytest.fixture(scope="module")
def blank_folder(tmp_path_factory) -> Path:
    """Calibration images that went wrong: all black (what a decode or scaling bug hands the converter)."""
    folder = tmp_path_factory.mktemp("blank")
    for i in range(16):
        Image.fromarray(np.zeros((128, 128, 3), np.uint8)).save(folder / f"{i:02d}.png")
    return folder


@pytest.mark.slow
def test_convert_table_judges_every_artifact(tmp_path, calib_dir):
    out = user("convert", "--model", "v2-0.35-96", "--float", "--int8", "--format", "all", "--calib", str(calib_dir),
               "--calib-count", "16", "--check-count", "8", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    _fits(out.stdout)
    assert "exported artifacts" in out.stdout and out.stdout.count("pass") >= 4
    assert "sqnr>=1 (default int8 floors for random weights" in flat(out.stdout)
    assert "judged on SQNR only" in flat(out.stdout)
    sidecar = json.loads((tmp_path / "v2-0.35-96" / "tflite-int8.json").read_text())
    assert sidecar["parity"]["passed"] is True and sidecar["parity"]["requirements"] == ["sqnr>=1"]


@pytest.mark.slow
def test_a_broken_int8_conversion_is_written_marked_failed_and_exits_1(tmp_path, v1_weights, blank_folder, data_dir):
    """Real weights calibrated on blank images: SQNR ~5 dB, agreement ~15% (parity_floors.json)."""
    out = user("convert", "--model", "v1-0.25-128", "--weights", str(v1_weights), "--int8", "--calib",
               str(blank_folder), "--check", str(data_dir / "imagenet-val" / "fullres20"), "--out", str(tmp_path))
    assert out.returncode == 1, (out.stdout, out.stderr)
    errors = [line for line in out.stderr.splitlines() if line.startswith("edgekit: error:")]
    assert len(errors) == 1 and "below the parity floor" in errors[0] and "tflite-int8.tflite" in errors[0]
    assert "FAIL" in out.stdout and "missed" in out.stdout
    sidecar = json.loads((tmp_path / "v1-0.25-128" / "tflite-int8.json").read_text())
    assert sidecar["parity"]["passed"] is False and sidecar["parity"]["failed"]
    assert sidecar["parity"]["sqnr_db"] < 10 and (tmp_path / "v1-0.25-128" / "tflite-int8.tflite").is_file()
    assert sidecar["parity"]["drop_pts"] is not None  # fullres20 is labelled: the drop is reported


@pytest.mark.slow
def test_require_overrides_the_floors(tmp_path, calib_dir):
    out = user("convert", "--model", "v2-0.35-96", "--int8", "--ptq", "minmax", "--calib", str(calib_dir),
               "--calib-count", "16", "--check-count", "8", "--require", "sqnr>=99", "--out", str(tmp_path))
    assert out.returncode == 1 and "sqnr" in out.stderr and "< 99 dB" in out.stderr
    again = user("convert", "--model", "v2-0.35-96", "--int8", "--ptq", "minmax", "--calib", str(calib_dir),
                 "--calib-count", "16", "--check-count", "8", "--require", "none", "--out", str(tmp_path), "--json")
    assert again.returncode == 0
    (artifact,) = json.loads(again.stdout)["artifacts"]
    assert artifact["parity"]["passed"] is None and "not judged" in artifact["parity"]["judged_on"]


@pytest.mark.parametrize("args, fragment", [
    (["--int8", "--require", "agreement>=2"], "agreement is a fraction"),
    (["--int8", "--require", "sqnr=15"], "cannot read 'sqnr=15'"),
    (["--int8", "--require", "drop>=1"], "drop takes <="),
    (["--float", "--max-drop", "1"], "it needs --int8"),
    (["--int8", "--max-drop", "-1"], "from 0 up to 100"),
    (["--int8", "--min-agreement", "1.5"], "above 0 up to 1"),
    (["--int8", "--max-drop", "1"], "random weights have no meaningful top-1"),
])
def test_bad_gate_requests_are_one_line_and_exit_2(args, fragment, tmp_path, calib_dir):
    out = run_edgekit("convert", "--model", "v2-0.35-96", "--calib", str(calib_dir), "--calib-count", "8",
                      "--out", str(tmp_path), *args)
    assert_clean_error(out, fragment)
    assert not list(tmp_path.rglob("*.tflite"))


def test_max_drop_needs_labelled_check_images(tmp_path, v1_weights, calib_dir, coral):
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in ("parrot.jpg", "grace_hopper.bmp", "cat.bmp"):
        (flat / name).write_bytes((coral / name).read_bytes())
    out = run_edgekit("convert", "--model", "v1-0.25-128", "--weights", str(v1_weights), "--int8", "--calib",
                      str(calib_dir), "--calib-count", "8", "--check", str(flat), "--max-drop", "1",
                      "--out", str(tmp_path / "out"))
    assert_clean_error(out, "needs labelled check images", "--min-agreement")


@pytest.mark.slow
def test_max_drop_keeps_the_fewest_layers_float_and_prices_each(tmp_path, v1_weights, calib_dir, data_dir):
    """Real weights, fullres20 (20 labelled images, one image = 5 points): keeping the worst layers float, one
    at a time, brings int8 back toward the float top-1. The plain int8 drop is this CPU's: +10 points on an
    AVX-512 EPYC, less on an AVX2 one (GPTQ's float arithmetic rounds a few weights the other way, and one
    image moves 5 points), so the target is set 5 points under the drop this host's plain int8 file shows."""
    check = str(data_dir / "imagenet-val" / "fullres20")
    first = run_edgekit("convert", "--model", "v1-0.25-128", "--weights", str(v1_weights), "--int8", "--calib",
                        str(calib_dir), "--check", check, "--json", "--out", str(tmp_path / "plain"))
    assert first.returncode == 0, first.stderr
    drop = json.loads(first.stdout)["artifacts"][0]["parity"]["drop_pts"]
    assert drop > 0, "plain int8 lost no top-1 point on fullres20 here: the search has nothing to win back"
    target = max(drop - 5, 0)
    out = user("convert", "--model", "v1-0.25-128", "--weights", str(v1_weights), "--int8", "--calib",
               str(calib_dir), "--check", check, "--max-drop", f"{target:g}", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    sidecar = json.loads((tmp_path / "v1-0.25-128" / "tflite-int8-mixed.json").read_text())
    log = sidecar["quantization"]["accuracy_control"]
    plain = json.loads((tmp_path / "v1-0.25-128" / "tflite-int8.json").read_text())["parity"]
    assert log["plain"]["drop_pts"] == plain["drop_pts"] == drop > target  # here +10.0 (parity_floors.json)
    assert 1 <= len(log["steps"]) <= 12
    if log["met"]:  # here after 3 layers; a host whose rounding differs may need more, or not get there
        assert sidecar["parity"]["drop_pts"] <= target
    else:
        assert "not met" in out.stderr and sidecar["parity"]["drop_pts"] == min(s["drop_pts"] for s in log["steps"])
    for step in log["steps"]:  # every kept layer has its measured cost
        assert step["layer"] and "latency_delta_ms" in step and "size_delta_bytes" in step
    assert len(log["latency"]["median_ms"]) >= len(log["steps"]) + 1 and "litert" in log["latency"]["runtime"]
    # float layers cost bytes, priced against the same conversion path with none kept float (the debugger's
    # path alone can differ from the plain int8 file by a few hundred bytes either way)
    assert all(step["size_delta_bytes"] > 0 for step in log["steps"]), log["steps"]
    assert f"target top-1 drop <= {target:g} pts" in flat(out.stdout) and f"+ {log['steps'][0]['layer']}" in flat(out.stdout)
    assert "latency: litert" in flat(out.stdout)



def test_bench_table(coral):
    out = user("bench", str(coral / "mobilenet_v1_0.25_128_quant.tflite"), "--runs", "5", "--warmup", "1",
               "--min-time", "0", "--rounds", "1", "--no-record")
    assert out.returncode == 0, out.stderr
    _fits(out.stdout)
    assert "latency on host" in out.stdout and "litert" in out.stdout and "median" in out.stdout
    assert re.search(r"median of \d+ runs in 1 interleaved", flat(out.stdout))
    assert re.search(r"│\s+\d+\.\d{3} │", out.stdout)  # the median itself, whole


def test_eval_table(coral, eval_dir, tmp_path):
    out = user("eval", str(coral / "mobilenet_v1_0.25_128_quant.tflite"), "--data", str(eval_dir), "--limit", "20",
               "--db", str(tmp_path / "r.db"))
    assert out.returncode == 0, out.stderr
    _fits(out.stdout)
    assert "accuracy" in out.stdout and "eval300" in out.stdout and re.search(r"│ +\d+\.\d% │", out.stdout)
    assert "recorded in" in out.stdout


@pytest.mark.slow
def test_quant_report_table(v1_weights, calib_dir):
    out = user("quant-report", "v1-0.25-128", "--weights", str(v1_weights), "--calib", str(calib_dir),
               "--calib-count", "16", "--check-count", "8", "--top", "5")
    assert out.returncode == 0, out.stderr
    assert "int8 error per layer" in out.stdout and "RMSE/scale" in out.stdout and "conv" in out.stdout


def test_devices_table():
    out = user("devices")
    assert out.returncode == 0, out.stderr
    for name in ("host", "rpi4", "edgetpu"):
        assert name in out.stdout


def test_study_relu6_table(v1_weights, calib_dir, eval_dir, tmp_path):
    out = user("study", "relu6", "--weights", str(v1_weights), "--calib", str(calib_dir), "--calib-count", "16",
               "--data", str(eval_dir), "--limit", "40", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "ReLU6" in out.stdout and "plot:" in out.stdout and (tmp_path / "relu6_v1-0.25-128.png").is_file()


def test_study_keep_float_table_small(calib_dir, eval_dir, tmp_path):
    """The study's three rows on a small random-weight run (the real-weight run is marked slow)."""
    out = user("study", "keep-float", "--model", "v2-0.35-96", "--calib", str(calib_dir), "--calib-count", "8",
               "--data", str(eval_dir), "--limit", "8", "--keep-float", "auto:1", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    for variant in ("float", "int8", "mixed"):
        assert re.search(rf"{variant}\s.*\d+\.\d%", out.stdout), out.stdout
    assert "kept float:" in flat(out.stdout) and "8 images" in flat(out.stdout)


@pytest.mark.slow
def test_study_keep_float_on_the_real_weights(v1_weights, calib_dir, data_dir, eval_dir, tmp_path):
    out = user("study", "keep-float", "--weights", str(v1_weights), "--calib", str(calib_dir), "--calib-count", "40",
               "--check", str(data_dir / "imagenet-val" / "fullres20"), "--data", str(eval_dir), "--limit", "60",
               "--keep-float", "auto:2", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for variant in ("float", "int8", "mixed"):
        assert re.search(rf"{variant}\s.*\d+\.\d%", text), text
    assert "kept float:" in flat(text) and "60 images" in flat(text)
    mixed = json.loads((tmp_path / "mixed" / "v1-0.25-128" / "tflite-int8-mixed.json").read_text())
    assert len(mixed["quantization"]["keep_float"]["layers"]) == 2  # auto:2 kept the two worst


@pytest.mark.slow
def test_quantized_precisions_hold_their_quality_and_size(tmp_path, v1_weights, calib_dir):
    """fp16 halves the file, dynamic stores int8 weights (a quarter), int16x8 keeps 8-bit weights, each judged."""
    from edgekit.run.tflite_graph import read_graph

    out = user("convert", "--model", "v1-0.25-128", "--weights", str(v1_weights), "--float", "--fp16", "--dynamic",
               "--int16x8", "--calib", str(calib_dir), "--calib-count", "32", "--out", str(tmp_path), "--json")
    assert out.returncode == 0, out.stderr
    got = {a["precision"]: a for a in json.loads(out.stdout)["artifacts"]}
    size = {p: a["size_bytes"] for p, a in got.items()}
    assert size["fp16"] < 0.6 * size["float"] and size["dynamic"] < 0.35 * size["float"]
    assert size["int16x8"] < 0.4 * size["float"]
    assert got["fp16"]["parity"]["passed"] is True
    for precision, floor in (("dynamic", 10), ("int16x8", 20)):
        parity = got[precision]["parity"]
        assert parity["passed"] is True and parity["sqnr_db"] > floor, parity
    kernels = [t for t in read_graph(got["dynamic"]["path"]).tensors if t.constant and len(t.shape) == 4]
    int8 = sum(int(np.prod(t.shape)) for t in kernels if t.dtype == "INT8")
    # TFLite leaves kernels under 1024 weights float (the first conv, small depthwise ones): by count most
    # kernels may stay float, but nearly every weight is int8
    assert int8 > 0.9 * sum(int(np.prod(t.shape)) for t in kernels), {t.dtype for t in kernels}
