"""Never wrong quietly: a gate that refuses garbage, artifacts that must match their sidecars, every bad
input as one ``edgekit: error:`` line and exit 2, and nothing left behind by a killed or failed run.

Each case here was a silent acceptance, a wrong message, an internal error (exit 70) or a multi-line
error in the hostile-user trial of issue 27; the test fails on the code before the fix."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, assert_clean_error, run_edgekit
from edgekit.compare import baseline as bl
from edgekit.errors import EdgekitError


def _stderr_lines(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.strip()]


def one_line(proc, *fragments: str, code: int = 2) -> str:
    """Exit ``code``, nothing on stderr but the one ``edgekit: error:`` line (no library chatter either)."""
    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    lines = _stderr_lines(proc)
    assert len(lines) == 1 and lines[0].startswith("edgekit: error:"), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# ---- the gate ------------------------------------------------------------------------------

ENV = {"cpu": "Test CPU", "machine": "x86_64", "cores": 2, "usable_cores": 2, "packages": {"edgekit": "0"}}


def _part(artifact: str, samples: list[float]) -> dict:
    return {"artifact": artifact, "artifact_sha256": "a" * 64, "runtime": "litert", "runtime_version": "2",
            "threads": 1, "batch": 1, "device": "host", "options": {}, "model": "m", "format": "tflite",
            "precision": "int8", "median_ms": float(np.median(samples)), "samples_ms": samples,
            "round_sizes": [5] * (len(samples) // 5)}


def _baseline(samples: list[float], artifact: str = "/m/a.tflite") -> dict:
    result = _part(artifact, samples)
    return bl.make_baseline([{"key": bl.entry_key(result), "result": result, "reference": None}], ENV,
                            {"artifacts": [artifact], "threads": [1], "options": {}})


@pytest.mark.parametrize("garbage, field", [
    ([-1.0, float("nan"), -5.0, 0.0, 1.0], "samples_ms[0]"),
    ([1.0, 1.1, float("nan"), 1.0, 1.2], "samples_ms[2]"),
    ([1.0, 1.1, float("inf"), 1.0, 1.2], "samples_ms[2]"),
    ([1.0, 1.1, 0.0, 1.0, 1.2], "samples_ms[2]"),
    ([1.0, 1e12, 1.0, 1.0, 1.2], "samples_ms[1]"),
])
def test_the_gate_refuses_a_garbage_baseline(tmp_path, garbage, field):
    rng = np.random.default_rng(0)
    good = tmp_path / "good.json"
    bl.save(good, _baseline(rng.lognormal(0, 0.02, 40).round(4).tolist()))
    bad = tmp_path / "bad.json"
    broken = _baseline(rng.lognormal(0, 0.02, 40).round(4).tolist())
    broken["entries"][0]["result"]["samples_ms"][:5] = garbage
    bl.save(bad, broken)
    for base, cand in ((bad, good), (good, bad)):
        line = one_line(run_edgekit("regress", "--baseline", str(base), "--candidate", str(cand)), field)
        assert "bad.json" in line and "finite, positive" in line
    broken["entries"][0]["result"]["median_ms"] = -1
    broken["entries"][0]["result"]["samples_ms"][:5] = [1.0] * 5
    bl.save(bad, broken)
    one_line(run_edgekit("regress", "--baseline", str(bad), "--candidate", str(good)), "median_ms")


def test_the_statistics_never_see_a_number_they_cannot_take():
    """Property test: whatever numbers a baseline file holds, load() either refuses it with one line or every
    value that reaches the interval is finite and positive."""
    rng = np.random.default_rng(7)
    pool = [float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 1e-9, 1.0, 1e9, 1e300, True, "1.0", None]
    for _ in range(300):
        samples = [float(rng.lognormal(0, 0.1)) for _ in range(10)]
        for i in rng.choice(10, size=int(rng.integers(0, 4)), replace=False):
            samples[i] = pool[int(rng.integers(len(pool)))]
        data = _baseline([1.0] * 10)
        data["entries"][0]["result"]["samples_ms"] = samples
        try:
            bl._check_entry(data["entries"][0], "test")  # noqa: SLF001 (the validator itself)
        except EdgekitError as exc:
            assert "\n" not in str(exc)
            continue
        values = data["entries"][0]["result"]["samples_ms"]
        assert all(isinstance(v, float) and np.isfinite(v) and 0 < v < bl.MAX_MS for v in values), values


def test_regress_from_another_folder_finds_the_baselines_artifacts(tmp_path, coral):
    """Paths are stored absolute (and a baseline moved with its artifacts is re-rooted)."""
    work = tmp_path / "work"
    (work / "models").mkdir(parents=True)
    shutil.copyfile(coral / "mobilenet_v1_0.25_128_quant.tflite", work / "models" / "m.tflite")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    cmd = [sys.executable, "-m", "edgekit"]
    made = subprocess.run([*cmd, "bench", "models/m.tflite", "--save-baseline", "ci/base.json", "--sessions", "2",
                           "--no-reference", "--no-record", "--runs", "3", "--min-time", "0", "--rounds", "1"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    stored = json.loads((work / "ci" / "base.json").read_text())
    assert Path(stored["run"]["artifacts"][0]).is_absolute()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = subprocess.run([*cmd, "regress", "--baseline", str(work / "ci" / "base.json"), "--max-sessions", "2",
                            "--threshold", "90%", "--no-reference", "--json"], cwd=elsewhere, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode in (0, 3), again.stderr  # decided or inconclusive, never "artifact not found"
    moved = tmp_path / "moved"
    shutil.copytree(work, moved)
    shutil.rmtree(work)
    loaded = bl.load(moved / "ci" / "base.json")
    assert loaded["run"]["artifacts"][0] == str((moved / "models" / "m.tflite").resolve())
    assert loaded["entries"][0]["key"].startswith(str(moved.resolve()))


# ---- artifacts that changed on disk ----------------------------------------------------------

@pytest.fixture()
def changed(ours, tmp_path):
    """A copy of our float export with 1 KB zeroed, its untouched sidecar beside it."""
    _, paths = ours
    src = paths[("tflite", "float")]
    target = tmp_path / src.name
    shutil.copyfile(src, target)
    shutil.copyfile(src.with_suffix(".json"), target.with_suffix(".json"))
    data = bytearray(target.read_bytes())
    data[len(data) // 2: len(data) // 2 + 1024] = bytes(1024)
    target.write_bytes(bytes(data))
    return target


def test_a_changed_artifact_is_refused_before_it_is_measured(changed, eval_dir, tmp_path):
    db = str(tmp_path / "r.db")
    for args in (("eval", str(changed), "--data", str(eval_dir), "--limit", "4"),
                 ("bench", str(changed), "--runs", "2", "--min-time", "0", "--rounds", "1"),
                 ("profile", str(changed), "--runs", "2", "--rounds", "1")):
        line = one_line(run_edgekit(*args, "--db", db), "changed since edgekit wrote it", "--allow-modified")
        assert changed.name in line
    assert not Path(db).exists() or not json.loads(run_edgekit("results", "--db", db, "--json").stdout)["results"]
    allowed = run_edgekit("bench", str(changed), "--allow-modified", "--runs", "2", "--min-time", "0", "--rounds", "1",
                          "--db", db, "--json")
    if allowed.returncode == 0:  # a zeroed kilobyte may or may not still load: either way it is not ours any more
        result = json.loads(allowed.stdout)["results"][0]
        assert result["origin"] is None and result["model"] is None and result["sidecar_mismatch"]
    else:
        one_line(allowed, changed.name)


def test_a_sidecar_that_does_not_parse_is_an_error(ours, tmp_path):
    _, paths = ours
    src = paths[("tflite", "int8")]
    target = tmp_path / src.name
    shutil.copyfile(src, target)
    target.with_suffix(".json").write_text('{"truncated": ')
    one_line(run_edgekit("bench", str(target), "--runs", "2", "--min-time", "0", "--rounds", "1", "--no-record"),
             "does not parse", target.with_suffix(".json").name)


# ---- internal errors that were the user's --------------------------------------------------

def test_data_folders_that_are_not_folders(ours, tmp_path):
    _, paths = ours
    model = str(paths[("tflite", "int8")])
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    plain = tmp_path / "file.txt"
    plain.write_text("x")
    for data, fragment in ((tmp_path / "missing", "not found"), (plain, "is a file, not a folder"),
                           (loop, "symbolic link to nothing")):
        one_line(run_edgekit("eval", model, "--data", str(data), "--no-record"), fragment)


def test_classify_labels_that_are_not_text_and_cost_multipliers_that_are_not_numbers(tmp_path, parrot):
    binary = tmp_path / "labels.txt"
    binary.write_bytes(bytes(range(256)) * 8)
    one_line(run_edgekit("classify", "v1-0.25-128", str(parrot), "--weights", "none", "--labels", str(binary)),
             "not a UTF-8 text file")
    one_line(run_edgekit("cost", "--in", "14x14x512", "--out", "512", "--alpha", "nan"), "--alpha", "finite number")
    one_line(run_edgekit("cost", "--in", "14x14x512", "--out", "512", "--rho", "2"), "--rho", "(0, 1]")


def test_a_full_disk_is_the_users_problem_said_with_the_path(tmp_path, monkeypatch):
    import errno

    from edgekit import files

    real = os.fdopen

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: Full(real(fd, *a, **k)))
    with pytest.raises(EdgekitError, match=r"cannot write .*model\.tflite .*No space left on device; nothing was written"):
        files.write_atomic(tmp_path / "model.tflite", b"x" * 100)
    monkeypatch.setattr(os, "fdopen", real)
    assert not list(tmp_path.iterdir())  # no temporary file left
    from edgekit.cli import _os_error

    said = _os_error(OSError(errno.ENOSPC, "No space left on device", "/out/v1/tflite-int8.tflite"))
    assert said.startswith("no space left on the device: /out/v1/tflite-int8.tflite")
    assert _os_error(OSError(errno.EINVAL, "bug")) is None  # anything else stays a bug


# ---- one line on stderr ----------------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (("models", "--family", "nosuch"), "Invalid value for '--family'"),
    (("convert", "--model", "v1-0.25-128", "--calib-count", "many"), "'--calib-count'"),
    (("bench", "--runs", "many", "x.tflite"), "'--runs'"),
    (("--no-such-option",), "No such option"),
    (("results", "--limit", "-1"), "'--limit'"),
    (("classify", "v1-0.25-128", "x.jpg", "--top", "0"), "'--top'"),
    (("profile", "x.tflite", "--top", "-1"), "'--top'"),
])
def test_usage_errors_are_one_prefixed_line(args, fragment):
    line = one_line(run_edgekit(*args), fragment)
    assert "--help" in line


def test_keras_and_runtime_chatter_never_reaches_the_terminal(tmp_path, ours, eval_dir):
    """A Keras load error and an eval error each print one line: no absl/oneDNN/CUDA start-up lines, no
    LiteRT 'Created TensorFlow Lite XNNPACK delegate'. --verbose shows them."""
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"PK\x03\x04" + bytes(200))
    one_line(run_edgekit("convert", "--model", str(bad), "--out", str(tmp_path / "o")), "broken.keras")
    _, paths = ours
    one_line(run_edgekit("eval", str(paths[("tflite", "int8")]), "--data", str(eval_dir), "--limit", "0"), "--limit")
    noisy = run_edgekit("--verbose", "eval", str(paths[("tflite", "int8")]), "--data", str(eval_dir / "nope"))
    assert noisy.returncode == 2 and "edgekit: error:" in noisy.stderr


def test_a_baseline_of_one_session_is_refused_without_a_warning_first(tmp_path, coral):
    proc = run_edgekit("bench", str(coral / "mobilenet_v1_0.25_128_quant.tflite"), "--sessions", "1",
                       "--save-baseline", str(tmp_path / "b.json"))
    one_line(proc, "--sessions must be >= 2")


# ---- wrong messages and garbage accepted ------------------------------------------------------

def _labelled(tmp_path: Path, rows: list[str], bom: bool = False) -> Path:
    folder = tmp_path / "data"
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for i in range(3):
        Image.fromarray(np.full((32, 32, 3), 40 * i, np.uint8)).save(folder / "images" / f"{i}.png")
    text = "\n".join(["filename,class", *rows]) + "\n"
    (folder / "labels.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return folder


def test_labels_csv_one_reader_one_policy(tmp_path):
    from edgekit.data.dataset import class_dataset, list_images

    with_bom = _labelled(tmp_path / "a", ["0.png,cat", "1.png,dog", "2.png,cat"], bom=True)
    assert class_dataset(with_bom).counts == [2, 1] and len(list_images(with_bom)) == 3  # a spreadsheet's BOM
    twice = _labelled(tmp_path / "b", ["0.png,cat", "1.png,dog", "0.png,cat"])
    with pytest.raises(EdgekitError, match=r"row 4: 0\.png is listed twice: one row"):
        class_dataset(twice)
    conflict = _labelled(tmp_path / "c", ["0.png,cat", "1.png,dog", "0.png,dog"])
    with pytest.raises(EdgekitError, match="listed twice with different labels"):
        list_images(conflict)  # calibration reads the same file through the same reader


@pytest.mark.slow
def test_convert_crop_and_undecodable_calibration_images_are_said(tmp_path, calib_dir):
    one_line(run_edgekit("convert", "--model", "v1-0.25-32", "--int8", "--calib", str(calib_dir), "--crop", "0",
                         "--out", str(tmp_path / "o")), "--crop", "(0, 1]")
    assert not (tmp_path / "o" / "v1-0.25-32").exists()  # a failed convert leaves no empty model folder
    folder = tmp_path / "calib"
    folder.mkdir()
    for i, name in enumerate(sorted(calib_dir.glob("images/*"))[:12]):
        shutil.copyfile(name, folder / name.name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    (folder / "empty.png").write_bytes(b"")
    proc = run_edgekit("convert", "--model", "v1-0.25-32", "--int8", "--calib", str(folder), "--calib-count", "14",
                       "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert "skipped 2 of 14 images" in proc.stderr and "12 used" in proc.stderr


def test_results_of_a_store_that_is_not_there(tmp_path):
    one_line(run_edgekit("results", "--db", str(tmp_path / "nodir" / "x.db")), "no results store at")
    assert not (tmp_path / "nodir").exists()


def test_a_read_only_store_is_read_read_only(tmp_path, coral):
    from edgekit.record.store import ResultsStore, StoreError

    db = tmp_path / "shared.db"
    with ResultsStore(db) as store:
        store.record("bench", {"artifact": "a.tflite", "median_ms": 1.0}, {"cpu": "x"})
    before = db.read_bytes()
    with ResultsStore(db, read_only=True) as store:
        assert len(store.query()) == 1
        with pytest.raises(Exception):
            store.record("bench", {"artifact": "b.tflite"}, {})
    assert db.read_bytes() == before
    with pytest.raises(StoreError, match="no results store"):
        ResultsStore(tmp_path / "none.db", read_only=True)


@pytest.mark.parametrize("args, fragment", [
    (("--min-time", "nan"), "--min-time"),
    (("--min-time", "-1"), "--min-time"),
])
def test_bench_values_that_make_no_sense(coral, args, fragment):
    one_line(run_edgekit("bench", str(coral / "mobilenet_v1_0.25_128_quant.tflite"), *args, "--no-record"), fragment)


def test_more_threads_than_cores_is_said(coral):
    proc = run_edgekit("bench", str(coral / "mobilenet_v1_0.25_128_quant.tflite"), "--threads", "1000", "--runs", "2",
                       "--min-time", "0", "--rounds", "1", "--no-record")
    assert proc.returncode == 0, proc.stderr
    assert "--threads 1000 on" in proc.stderr and "contention" in proc.stderr


def test_gate_and_report_values_that_make_no_sense(tmp_path, calib_dir):
    base = tmp_path / "b.json"
    bl.save(base, _baseline(list(np.linspace(1, 1.1, 20))))
    one_line(run_edgekit("regress", "--baseline", str(base), "--max-sessions", "0"), "--max-sessions")
    one_line(run_edgekit("quant-report", "v1-0.25-32", "--calib", str(calib_dir), "--threshold", "nan"), "--threshold")
    one_line(run_edgekit("quant-report", "v1-0.25-32", "--calib", str(calib_dir), "--calib-count", "0"), "--calib-count")


# ---- nothing left behind ---------------------------------------------------------------------

def _convert(out: Path, tmp: Path) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TMPDIR": str(tmp)}
    calib = Path(os.environ.get("EDGEKIT_DATA", ROOT.parent / "shared" / "data")) / "imagenet-val" / "calib100"
    return subprocess.Popen([sys.executable, "-m", "edgekit", "convert", "--model", "v2-0.35-96", "--float", "--int8",
                             "--format", "tflite", "--ptq", "minmax", "--calib", str(calib), "--calib-count", "16",
                             "--out", str(out)],
                            cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_scratch(out: Path, proc: subprocess.Popen, limit: float = 240) -> None:
    """Until the conversion is working in its scratch folder (a SavedModel is being written)."""
    end = time.time() + limit
    while time.time() < end and proc.poll() is None:
        if list(out.glob(".edgekit-scratch/edgekit-savedmodel-*/*")):
            return
        time.sleep(0.2)
    raise AssertionError(f"the conversion never started its scratch work (exit {proc.poll()})")


@pytest.mark.slow
def test_kill_9_leaves_no_scratch_in_the_temp_folder_and_the_next_run_clears_its_own(tmp_path):
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    proc = _convert(out, tmp)
    _wait_for_scratch(out, proc)
    proc.kill()
    proc.wait()
    assert not [p.name for p in tmp.iterdir() if p.name.startswith("edgekit-")]
    assert not [p for p in (out / "v2-0.35-96").glob("*") if not p.name.startswith(".")] if \
        (out / "v2-0.35-96").exists() else True
    stale = list(out.glob(".edgekit-scratch/*"))
    assert stale  # what kill -9 could not remove, under the output folder
    again = _convert(out, tmp)
    stdout, stderr = again.communicate(timeout=600)
    assert again.returncode == 0, stderr
    assert not (out / ".edgekit-scratch").exists()  # the rerun removed the dead run's scratch, then its own
    assert {p.name for p in (out / "v2-0.35-96").glob("*.tflite")} == {"tflite-float.tflite", "tflite-int8.tflite"}
    assert not [p.name for p in tmp.iterdir() if p.name.startswith("edgekit-")]


@pytest.mark.slow
def test_sigterm_ends_with_a_message_and_cleans_up(tmp_path):
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    proc = _convert(out, tmp)
    _wait_for_scratch(out, proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("edgekit: terminated") and len(lines) == 1, stderr
    assert not (out / ".edgekit-scratch").exists() and not list(tmp.iterdir())
    assert not [p for p in out.rglob("*") if p.is_file() and not p.name.endswith(".json")] or \
        all(p.with_suffix(".json").exists() for p in out.rglob("*.tflite"))  # only complete artifacts
