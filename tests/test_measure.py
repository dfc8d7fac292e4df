"""Measure stage: bench in worker processes, eval on labelled folders, preprocessing of foreign files."""

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from edgekit.measure import bench as bench_mod
from edgekit.devices import LocalDevice
from edgekit.errors import EdgekitError
from edgekit.measure.bench import BenchOptions, bench, resolve_artifacts
from edgekit.measure.evaluate import evaluate
from edgekit.measure.inputs import random_pixels, recipe_for
from edgekit.measure.latency import spread_pct, summarize
from edgekit.run.runtime import Classifier, open_runtime

from conftest import assert_clean_error, run_edgekit

QUICK = ["--runs", "20", "--warmup", "2", "--min-time", "0", "--rounds", "2"]
GOOGLE = {  # Google's hosted int8 models, smallest first
    "v1-0.25-128": "mobilenet_v1_0.25_128_quant.tflite",
    "v1-0.5-160": "mobilenet_v1_0.5_160_quant.tflite",
    "v1-0.75-192": "mobilenet_v1_0.75_192_quant.tflite",
    "v2-1.0-224": "mobilenet_v2_1.0_224_quant.tflite",
}


def test_statistics_of_known_samples():
    stats = summarize([4.0, 1.0, 3.0, 2.0, 100.0], batch=2)
    assert (stats["min_ms"], stats["median_ms"], stats["max_ms"], stats["runs"]) == (1.0, 3.0, 100.0, 5)
    assert stats["mean_ms"] == pytest.approx(22.0)
    assert stats["p90_ms"] > stats["median_ms"] and stats["p99_ms"] >= stats["p90_ms"]
    assert stats["throughput_ips"] == pytest.approx(2 * 1000 / 3.0)
    assert spread_pct([1.0, 1.1, 0.9]) == pytest.approx(20.0)
    assert spread_pct([5.0]) == 0.0


def test_google_uint8_models_take_the_pixels_themselves(coral):
    pixels = random_pixels(2, 128, seed=3)
    with open_runtime(coral / GOOGLE["v1-0.25-128"]) as rt:
        recipe = recipe_for(coral / GOOGLE["v1-0.25-128"], rt.inputs[0])
        assert recipe.source == "quantization parameters"
        fed = Classifier(rt, recipe.apply).model_input(pixels)
    assert fed.dtype == np.uint8 and np.array_equal(fed, pixels)


def test_our_sidecar_preprocessing_is_used(ours):
    _, paths = ours
    with open_runtime(paths[("tflite", "float")]) as rt:
        recipe = recipe_for(paths[("tflite", "float")], rt.inputs[0])
    assert recipe.source == "sidecar"
    assert recipe.apply(np.array([0, 255], np.uint8)).tolist() == pytest.approx([-1.0, 1.0])


def test_bench_reports_every_statistic(ours, coral):
    _, paths = ours
    files = [paths[("tflite", "int8")], paths[("onnx", "int8")], coral / GOOGLE["v1-0.25-128"]]
    results, errors = bench(files, BenchOptions.build(runs=30, warmup=3, min_time=0, rounds=3, threads=1))
    assert errors == []
    assert [r["artifact"] for r in results] == [str(p) for p in files]
    for r in results:
        assert r["runs"] >= 30 and len(r["round_medians_ms"]) == 3
        assert 0 < r["min_ms"] <= r["median_ms"] <= r["p90_ms"] <= r["p99_ms"] <= r["max_ms"]
        assert r["throughput_ips"] == pytest.approx(1000 / r["median_ms"])
        assert r["init_ms"] > 0 and r["first_ms"] > 0 and r["warmup_mean_ms"] > 0
        assert r["peak_rss_mb"] >= r["baseline_rss_mb"] > 10
        assert r["size_bytes"] == Path(r["artifact"]).stat().st_size
        assert r["device"] == "host" and r["threads"] == 1 and r["batch"] == 1
        assert "median of" in r["statistic"] and "3 interleaved rounds" in r["statistic"]
        assert r["environment"]["cpu"] and r["environment"]["python"]
    assert results[0]["runtime"] == "litert" and results[1]["runtime"] == "onnxruntime"
    assert results[0]["precision"] == "int8" and results[0]["origin"] == "edgekit"
    # Google's file has no sidecar: it is recognised by its published name
    assert (results[2]["model"], results[2]["precision"], results[2]["origin"]) == ("v1-0.25-128", "int8", "google")
    from importlib.metadata import version

    assert results[1]["runtime_version"] == version("onnxruntime")


def test_peak_memory_is_the_workers_own(coral):
    """A big parent must not leak into the worker's figure (Linux carries ru_maxrss over exec)."""
    ballast = np.ones(600_000_000 // 8)  # 600 MB resident in this process
    ballast[::512] = 2.0
    results, errors = bench([coral / GOOGLE["v1-0.25-128"]], BenchOptions.build(runs=5, warmup=1, min_time=0, rounds=1))
    assert errors == [] and ballast.sum() > 0
    assert 10 < results[0]["baseline_rss_mb"] <= results[0]["peak_rss_mb"] < 300, results[0]


def test_bench_inputs_from_a_folder_and_options(ours, eval_dir):
    _, paths = ours
    results, errors = bench([paths[("tflite", "float")]],
                            BenchOptions.build(runs=10, warmup=1, min_time=0, rounds=1, inputs=str(eval_dir), xnnpack=False))
    assert errors == [] and "images from" in results[0]["inputs"]
    assert results[0]["options"] == {"xnnpack": False}
    # without XNNPACK nothing is delegated; with it the float v1 graph is one partition, and the table says so
    assert results[0]["io"]["delegate_partitions"] == 0
    fast, _ = bench([paths[("tflite", "float")]], BenchOptions.build(runs=5, warmup=1, min_time=0, rounds=1))
    assert fast[0]["io"]["delegate_partitions"] == 1
    from edgekit.present import _runtime_cell

    assert _runtime_cell(fast[0]).endswith(", 1 part.") and _runtime_cell(results[0]).endswith(", 0 part.")


def test_a_crashing_worker_does_not_take_the_parent_down(ours, coral, tmp_path, monkeypatch):
    """A native crash (here a real SIGSEGV) in one worker: that artifact fails, the others are measured."""
    wrapper = tmp_path / "crashy_worker.py"
    wrapper.write_text(
        "import itertools, os, signal, sys\n"
        "from edgekit.measure import worker\n"
        "line = sys.stdin.readline()\n"
        "if 'onnx-int8' in line:\n"
        "    os.kill(os.getpid(), signal.SIGSEGV)\n"
        "def reply(answer):\n"
        "    import json\n"
        "    sys.stdout.write(json.dumps(answer) + '\\n'); sys.stdout.flush()\n"
        "worker.serve(itertools.chain([line], sys.stdin), reply)\n")
    monkeypatch.setattr(bench_mod, "get_device", lambda name, host=None: _Wrapped(wrapper))
    _, paths = ours
    results, errors = bench([paths[("onnx", "int8")], coral / GOOGLE["v1-0.25-128"]],
                            BenchOptions.build(runs=5, warmup=1, min_time=0, rounds=1))
    assert len(results) == 1 and results[0]["artifact"].endswith("quant.tflite")
    assert len(errors) == 1 and "onnx-int8.onnx" in errors[0] and "SIGSEGV" in errors[0]


class _Wrapped(LocalDevice):
    """This machine, with a worker script of the test's own."""

    def __init__(self, script):
        super().__init__()
        self.script = script

    def worker_command(self):
        return [sys.executable, str(self.script)]


def test_zoo_names_find_their_exports(ours):
    out, paths = ours
    found = resolve_artifacts(["v1-0.25-128"], out)
    assert sorted(found) == sorted(paths.values())


def test_cli_bench_json_and_results_store(ours, coral, tmp_path):
    _, paths = ours
    db = tmp_path / "r.db"
    proc = run_edgekit("bench", str(paths[("tflite", "int8")]), str(coral / GOOGLE["v1-0.25-128"]), *QUICK,
                       "--threads", "2", "--db", str(db), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    keys = {"artifact", "runtime", "runtime_version", "device", "threads", "batch", "warmup", "runs", "init_ms",
            "first_ms", "median_ms", "mean_ms", "std_ms", "p90_ms", "p99_ms", "min_ms", "throughput_ips",
            "peak_rss_mb", "size_bytes"}
    assert len(data["results"]) == 2
    for r in data["results"]:
        assert keys <= set(r) and r["threads"] == 2
    proc = run_edgekit("eval", str(paths[("tflite", "int8")]), "--data", str(coral.parent / "imagenet-val" / "eval300"),
                       "--limit", "20", "--db", str(db), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["count"] == 20
    listed = json.loads(run_edgekit("results", "--db", str(db), "--json").stdout)
    assert [row["kind"] for row in listed["results"]] == ["eval", "bench", "bench"]
    bench_rows = [row for row in listed["results"] if row["kind"] == "bench"]
    assert {row["value"] for row in bench_rows} == {r["median_ms"] for r in data["results"]}
    assert all(row["environment"]["cpu"] and row["threads"] == 2 for row in bench_rows)
    csv_out = run_edgekit("results", "--db", str(db), "--csv", "--kind", "bench").stdout.splitlines()
    assert csv_out[0].startswith("id,kind,") and len(csv_out) == 3
    table = run_edgekit("results", "--db", str(db))
    assert table.returncode == 0 and "median of" in table.stdout


def test_google_models_rank_by_size_on_eval300(coral, eval_dir):
    top1 = {name: evaluate(coral / file, eval_dir)["top1"] for name, file in GOOGLE.items()}
    assert list(top1.values()) == sorted(top1.values()), top1
    assert top1["v1-0.25-128"] > 0.4 and top1["v2-1.0-224"] > 0.65, top1


def test_reference_kernels_give_the_same_bytes_every_time_and_the_same_top1(coral, eval_dir, ours):
    """The bit-exact mode for cross-machine checks: outputs_sha256 fingerprints every score."""
    model = coral / GOOGLE["v1-0.25-128"]
    ref = [evaluate(model, eval_dir, limit=30, reference_kernels=True) for _ in range(2)]
    fast = evaluate(model, eval_dir, limit=30)
    assert ref[0]["kernels"] == "reference" and fast["kernels"] == "xnnpack"
    assert ref[0]["outputs_sha256"] == ref[1]["outputs_sha256"] and len(ref[0]["outputs_sha256"]) == 64
    assert ref[0]["top1"] == fast["top1"]
    with pytest.raises(EdgekitError, match="LiteRT"):
        evaluate(ours[1][("onnx", "int8")], eval_dir, limit=2, reference_kernels=True)


def test_eval_of_our_float_export_equals_keras(ours, eval_dir, v1_weights):
    from edgekit.tasks.classification import topk
    from edgekit.data.dataset import labelled_images
    from edgekit.data.images import load_batch
    from edgekit.zoo.build import build
    from edgekit.zoo.spec import parse_model

    _, paths = ours
    spec = parse_model("v1-0.25-128")
    pairs = labelled_images(eval_dir)
    model, _ = build(spec, str(v1_weights), logits=True)
    keras = np.asarray(model.predict(spec.preprocessing.apply(load_batch([p for p, _ in pairs], 128)), verbose=0))
    labels = np.array([c for _, c in pairs])
    for fmt in ("tflite", "onnx"):
        result = evaluate(paths[(fmt, "float")], eval_dir)
        assert result["count"] == 300 and result["classes"] == 1000
        assert result["top1"] == pytest.approx(topk(keras, labels, 1), abs=1 / 300)
        assert result["top5"] == pytest.approx(topk(keras, labels, 5), abs=1 / 300)
    int8 = evaluate(paths[("tflite", "int8")], eval_dir)
    assert int8["top1"] >= topk(keras, labels, 1) - 0.03


def test_wordnet_class_folders(tmp_path, eval_dir, coral, data_dir):
    import csv

    rows = list(csv.DictReader(open(eval_dir / "labels.csv")))[:12]
    for row in rows:
        folder = tmp_path / "val" / row["wnid"]
        folder.mkdir(parents=True, exist_ok=True)
        os.symlink(eval_dir / "images" / row["filename"], folder / row["filename"])
    shutil.copy(data_dir / "imagenet-val" / "class_index.csv", tmp_path / "class_index.csv")
    by_folders = evaluate(coral / GOOGLE["v1-0.25-128"], tmp_path / "val")
    assert by_folders["count"] == 12
    subset = tmp_path / "csv"
    (subset / "images").mkdir(parents=True)
    with open(subset / "labels.csv", "w") as handle:
        handle.write("filename,class_index\n")
        for row in rows:
            os.symlink(eval_dir / "images" / row["filename"], subset / "images" / row["filename"])
            handle.write(f"{row['filename']},{row['class_index']}\n")
    assert evaluate(coral / GOOGLE["v1-0.25-128"], subset)["top1"] == by_folders["top1"]


def _not_a_classifier(path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Flatten", ["x"], ["y"])], "flat",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 8, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 192])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)


@pytest.mark.parametrize("case", ["missing", "truncated", "random", "not_classifier", "bad_labels", "bad_class",
                                  "empty_folder"])
def test_eval_bad_input_is_one_line(case, tmp_path, coral, eval_dir):
    model, data = coral / GOOGLE["v1-0.25-128"], eval_dir
    fragment = {"missing": "not found", "truncated": "cannot load", "random": "cannot load",
                "not_classifier": "not an ImageNet classifier", "bad_labels": "do not exist",
                "bad_class": "outside 0..999", "empty_folder": "no labels.csv"}[case]
    if case == "missing":
        model = tmp_path / "nope.tflite"
    elif case == "truncated":
        model = tmp_path / "cut.tflite"
        model.write_bytes((coral / GOOGLE["v1-0.25-128"]).read_bytes()[:40_000])
    elif case == "random":
        model = tmp_path / "noise.onnx"
        model.write_bytes(np.random.default_rng(0).bytes(5000))
    elif case == "not_classifier":
        model = tmp_path / "flat.onnx"
        _not_a_classifier(model)
    elif case in ("bad_labels", "bad_class"):
        data = tmp_path / "labelled"
        (data / "images").mkdir(parents=True)
        first, second = sorted((eval_dir / "images").iterdir())[:2]
        shutil.copy(first, data / "images" / first.name)
        shutil.copy(second, data / "images" / second.name)
        extra = "ghost.JPEG,3" if case == "bad_labels" else f"{second.name},1000"
        (data / "labels.csv").write_text(f"filename,class_index\n{first.name},1\n{extra}\n")
    else:
        data = tmp_path / "empty"
        data.mkdir()
    assert_clean_error(run_edgekit("eval", str(model), "--data", str(data), "--no-record"), fragment)


@pytest.mark.parametrize("case", ["missing", "truncated", "random", "unknown_name", "no_exports", "batch",
                                  "device"])
def test_bench_bad_input_is_one_line(case, tmp_path, coral):
    good = str(coral / GOOGLE["v1-0.25-128"])
    args = {"missing": [str(tmp_path / "nope.onnx")], "unknown_name": ["v5-small"],
            "no_exports": ["v1-0.5-160", "--models-dir", str(tmp_path)], "batch": [good, "--batch", "4"],
            "device": [good, "--device", "toaster"]}.get(case)
    fragment = {"missing": "not found", "truncated": "cannot load", "random": "cannot load",
                "unknown_name": "v5-small", "no_exports": "edgekit convert --model v1-0.5-160",
                "batch": "cannot run batch 4", "device": "unknown device 'toaster'"}[case]
    if case == "truncated":
        cut = tmp_path / "cut.tflite"
        cut.write_bytes(Path(good).read_bytes()[:40_000])
        args = [str(cut)]
    elif case == "random":
        noise = tmp_path / "noise.tflite"
        noise.write_bytes(np.random.default_rng(1).bytes(5000))
        args = [str(noise)]
    assert_clean_error(run_edgekit("bench", *args, *QUICK, "--no-record"), fragment)


def test_ties_share_credit_the_same_on_every_machine():
    """uint8 outputs tie often; an unstable sort broke ties differently on x86 and aarch64."""
    from edgekit.tasks.classification import tied_top1, topk

    scores = np.zeros((4, 1000), np.float32)
    scores[:, [3, 7]] = 5.0  # classes 3 and 7 tie for first
    scores[:, 9] = 4.0
    assert topk(scores, np.array([3, 7, 9, 0]), 1) == (0.5 + 0.5 + 0 + 0) / 4
    assert topk(scores, np.array([3, 7, 9, 0]), 3) == (1 + 1 + 1 + 0) / 4
    scores[:, 11] = 4.0  # now 9 and 11 tie for the third place: half a place each
    assert topk(scores, np.array([9, 11, 3, 0]), 3) == (0.5 + 0.5 + 1 + 0) / 4
    rng = np.random.default_rng(0)
    noisy = rng.normal(size=(50, 1000)).astype(np.float32)  # no ties: the plain definition
    labels = rng.integers(0, 1000, 50)
    plain = np.mean([l in np.argsort(-row)[:5] for row, l in zip(noisy, labels)])
    assert topk(noisy, labels, 5) == plain and topk(noisy, np.argmax(noisy, 1), 1) == 1.0
    assert tied_top1(scores) == 4 and tied_top1(noisy) == 0


def test_tables_tell_same_named_artifacts_apart():
    """Two exports called tflite-int8.tflite (say, two rounding algorithms) must not print alike."""
    from edgekit.present import _distinct

    names = _distinct(["out/gptq/v1-0.25-128/tflite-int8.tflite", "out/v1-0.25-128/tflite-int8.tflite",
                       "coral/google.tflite", "coral/google.tflite"])
    assert names == ["gptq/v1-0.25-128/tflite-int8.tflite", "out/v1-0.25-128/tflite-int8.tflite",
                     "coral/google.tflite", "coral/google.tflite"]


def _saturating_matmul(path: Path, k: int = 64, n: int = 16) -> int:
    """A uint8 x int8 MatMulInteger whose pairs of products (255 x 127 x 2) overflow a 16-bit intermediate."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.full((k, n), 127, np.int8), "b")
    graph = helper.make_graph([helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "saturate",
                              [helper.make_tensor_value_info("a", TensorProto.UINT8, [1, k])],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, [1, n])], [weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return k * 255 * 127


def test_ort_int8_is_exact_on_every_cpu(tmp_path):
    """ORT's default U8S8 kernel saturates on x86 without VNNI; edgekit's sessions run int8 exactly everywhere,
    and say which kernel ran (bench's io, eval's kernels)."""
    from edgekit.run.onnxruntime import EXACT_INT8_KEY, OnnxRuntime, int8_kernel

    path = tmp_path / "saturate.onnx"
    exact = _saturating_matmul(path)
    ones = np.full((1, 64), 255, np.uint8)
    rt = OnnxRuntime(path)
    rt.prepare(ones)
    rt.invoke()
    assert (rt.output() == exact).all(), rt.output()
    assert rt.describe()["int8_kernel"] == int8_kernel() and rt.kernels.startswith("mlas")
    # the option goes where the default saturates and nowhere else (on a VNNI Zen 5 it made int8 2.5x slower)
    assert (EXACT_INT8_KEY in rt.describe()["session_config"]) == (int8_kernel() == "u8u8")
    for features, kernel in ((["avx2", "fma"], "u8u8"), (["avx2", "avx512_vnni"], "exact"), (["avx_vnni"], "exact"),
                             (["amx_int8"], "exact")):
        assert int8_kernel(True, features, "x86_64") == kernel
    assert int8_kernel(True, ["asimd"], "aarch64") == "exact" and int8_kernel(False, ["avx2"], "x86_64") == \
        "u8s8-saturating"
    default = OnnxRuntime(path, exact_int8=False)
    default.prepare(ones)
    default.invoke()
    if default.int8_kernel == "u8s8-saturating":  # this CPU has the hazard: ORT's default is wrong here
        assert (default.output() < exact).all(), default.output()
    else:
        assert (default.output() == exact).all()
    assert int8_kernel(True, ["avx2", "fma"], "x86_64") == "u8u8"
    assert int8_kernel(False, ["avx2", "avx512f", "avx512bw"], "x86_64") == "u8s8-saturating"
    assert int8_kernel(False, ["avx2", "avx512_vnni"], "x86_64") == "exact"
    assert int8_kernel(False, ["asimd"], "aarch64") == "exact"
