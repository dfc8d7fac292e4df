"""Latency you can predict: ledgers that add up, the kernel-level latency model (estimate --fit, estimate) and
pick by budget. A three-variant suite is converted, profiled and fitted for real here; how well the model
predicts is measured in benchmarks/latency_model.py (timing goals live there, not here)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import assert_clean_error, run_edgekit

SUITE = "v1-0.25-128,v1-0.25-160,v3-small-0.75-96"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, calib_dir):
    folder = tmp_path_factory.mktemp("latency-fit")
    db = folder / "results.db"
    out = run_edgekit("estimate", "--fit", "--suite", SUITE, "--hold-out", "160", "--calib", str(calib_dir),
                      "--work", str(folder / "work"), "--runs", "3", "--rounds", "1", "--db", str(db), "--json",
                      timeout=900)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), db, folder


def test_nnls_meets_its_optimality_conditions():
    from edgekit.measure.estimate import nnls

    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, (40, 7))
    b = a @ np.array([0.5, 0.0, 2.0, 0.0, 1.0, 0.3, 0.0]) - rng.uniform(0, 0.3, 40) + rng.uniform(0, 0.1, 40)
    b[:5] -= 3  # some pull towards negative coefficients
    x = nnls(a, b)
    gradient = a.T @ (a @ x - b)
    assert (x >= 0).all()
    assert np.all(np.abs(gradient[x > 0]) < 1e-6)  # free coefficients: stationary
    assert np.all(gradient[x == 0] > -1e-6)  # bound ones: moving off zero would not help
    positive = np.array([1.0, 2.0, 0.5])  # an unconstrained solution that is already positive comes back
    c = rng.uniform(0, 1, (20, 3))
    assert np.allclose(nnls(c, c @ positive), positive, atol=1e-8)


def test_the_fit_lines_every_ledger_up_with_its_architecture(fitted):
    got, _, _ = fitted
    fits = {(f["runtime"], f["precision"]): f for f in got["fits"]}
    assert set(fits) == {(r, p) for r in ("litert", "onnxruntime") for p in ("float", "int8")}
    for fit in fits.values():
        assert fit["skipped"] == [], fit["key"]  # each ledger's segments = the zoo table's, both runtimes
        assert sorted(fit["trained_on"]) == ["v1-0.25-128", "v3-small-0.75-96"] and fit["held_out"] == ["v1-0.25-160"]
        assert fit["validation"]["n"] == 1 and all(c >= 0 for c in fit["coef"]) and any(c > 0 for c in fit["coef"])
        row = fit["validation"]["rows"][0]
        assert row["measured_ms"] > 0 and row["estimated_ms"] > 0
        err = abs(row["estimated_ms"] / row["measured_ms"] - 1)
        assert math.isclose(fit["validation"]["median_abs_err_pct"], 100 * err, rel_tol=1e-9)
        assert row["spread_pct"] >= 0 and fit["validation"]["median_spread_pct"] == row["spread_pct"]  # its noise
        assert fit["cpu"] and fit["runtime_version"] and fit["threads"] == 1


def test_ledgers_add_up_and_keep_what_was_measured(fitted):
    got, _, _ = fitted
    sums = got["ledger_sums"]
    assert len(sums) == 3 * 4
    for r in sums:
        assert abs(r["sum_ms"] - r["whole_ms"]) <= 1e-9 * r["whole_ms"] and abs(r["gap_pct"]) < 1e-6  # apportioned
        assert math.isfinite(r["measured_gap_pct"]) and r["measured_sum_ms"] > 0 and r["bench_ms"] > 0
        if r["runtime"] == "onnxruntime":  # the profiler's own per-node cost came off: the sum can only fall
            assert r["profiler_gap_pct"] >= r["measured_gap_pct"]
        else:
            assert r["profiler_gap_pct"] is None


def test_ort_profiler_node_cost_is_measured_on_a_real_chain():
    from edgekit.run.op_profile import ort_node_overhead_ms

    overhead = ort_node_overhead_ms(threads=1, runs=100)
    assert 0 < overhead < 0.05  # a few µs per node on any CPU we know; zero would mean nothing was measured


def test_estimate_is_labelled_and_grows_with_the_work(fitted):
    _, db, _ = fitted
    models = ["v1-0.25-128", "v1-0.25-224", "v1-1.0-224", "v2-1.0-224"]
    out = run_edgekit("estimate", *models, "--db", str(db), "--json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    ms = {r["model"]: r["estimated_ms"] for r in got["estimates"]}
    assert all(r["estimate"] is True for r in got["estimates"]) and list(ms) == models
    assert ms["v1-0.25-128"] < ms["v1-0.25-224"] < ms["v1-1.0-224"]  # non-negative costs of more work
    assert got["fit"]["validation"]["n"] == 1 and got["fit"]["precision"] == "int8"
    shown = run_edgekit("estimate", "v1-0.5-160", "--runtime", "onnxruntime", "--precision", "float", "--db", str(db),
                        env={"COLUMNS": "160"})
    assert shown.returncode == 0, shown.stderr
    assert "ESTIMATED" in shown.stdout and "v1-0.5-160" in shown.stdout and "onnxruntime" in shown.stdout
    assert "median |error|" in shown.stdout and "held out" in shown.stdout and "own spread" in shown.stdout


def test_pick_keeps_the_pareto_front_under_the_budget(fitted, tmp_path):
    _, db, _ = fitted
    estimated = json.loads(run_edgekit("estimate", "v1-0.5-192", "--db", str(db), "--json").stdout)
    budget = estimated["estimates"][0]["estimated_ms"] * 1.001
    out = run_edgekit("pick", "--budget", f"{budget * 1000:.1f}us", "--family", "v1,v2", "--db", str(db),
                      "--plot", str(tmp_path / "pick.png"), "--json")
    assert out.returncode == 0, out.stderr
    picked = json.loads(out.stdout)
    front, rows = picked["front"], picked["variants"]
    assert front and all(r["estimated_ms"] <= picked["budget_ms"] for r in front)
    assert any(r["model"] == "v1-0.5-192" for r in rows if r["under_budget"])
    assert [r["estimated_ms"] for r in front] == sorted(r["estimated_ms"] for r in front)
    assert all(a["top1"] < b["top1"] for a, b in zip(front, front[1:]))  # each step buys accuracy
    for r in rows:  # nothing under the budget beats the front: each is matched by a faster-or-equal, as-accurate one
        if r["under_budget"] and r["top1"] is not None and not r["on_front"]:
            assert any(f["estimated_ms"] <= r["estimated_ms"] and f["top1"] >= r["top1"] for f in front), r["model"]
    assert {r["model"].split("-")[0] for r in rows} == {"v1", "v2"} and all(r["top1_source"] for r in front)
    assert (tmp_path / "pick.png").read_bytes()[:4] == b"\x89PNG"
    shown = run_edgekit("pick", "--budget", "3ms", "--db", str(db), env={"COLUMNS": "160"})
    assert shown.returncode == 0, shown.stderr
    assert "Pareto front" in shown.stdout and "ESTIMATED" in shown.stdout and "top-1" in shown.stdout


def test_fit_table_shows_validation_and_ledger_sums(fitted):
    _, db, folder = fitted
    out = run_edgekit("estimate", "--fit", "--suite", "v1-0.25-128,v1-0.25-160", "--hold-out", "160", "--work",
                      str(folder / "work"), "--runs", "2", "--rounds", "1", "--db", str(folder / "other.db"),
                      env={"COLUMNS": "160"}, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "latency model" in out.stdout and "ESTIMATED ms" in out.stdout and "v1-0.25-160" in out.stdout
    assert "spread" in out.stdout
    assert "ledgers: per-op sums" in out.stdout and "profiler raw" in out.stdout
    assert (folder / "fits.json").is_file()  # the fits live beside the results store they were asked for


def test_bad_input_is_one_line(fitted, tmp_path):
    _, db, _ = fitted
    d = ["--db", str(db)]
    assert_clean_error(run_edgekit("pick", "--budget", "5xs", *d), "--budget", "not a latency")
    assert_clean_error(run_edgekit("pick", "--budget", "0ms", *d), "impossible")
    assert_clean_error(run_edgekit("pick", "--budget", "0.0001ms", *d), "impossible", "fastest")
    assert_clean_error(run_edgekit("pick", "--budget", "5ms", "--family", "efficientnet-b0", *d), "efficientnet-b0")
    assert_clean_error(run_edgekit("pick", "--budget", "5ms", "--family", "v9", *d), "v9", "v1")
    assert_clean_error(run_edgekit("estimate", "v1-0.25-128", "--device", "rpi4", *d), "rpi4", "estimate --fit")
    assert_clean_error(run_edgekit("pick", "--budget", "5ms", "--threads", "2", *d), "estimate --fit")
    model = tmp_path / "mine.tflite"
    model.write_bytes(b"x")
    assert_clean_error(run_edgekit("estimate", str(model), *d), "not files")
    assert_clean_error(run_edgekit("estimate", "v7-1.0-224", *d), "v7")
    assert_clean_error(run_edgekit("estimate", *d), "zoo variants")
    assert_clean_error(run_edgekit("estimate", "--fit", "--hold-out", "abc", *d), "--hold-out")
    assert_clean_error(run_edgekit("estimate", "--fit", "--suite", "v1-0.25-128", "--hold-out", "160", *d), "both need")
    assert_clean_error(run_edgekit("estimate", "--fit", "--suite", "v1-0.5-128,v1-0.5-160", "--hold-out", "160",
                                   "--work", str(tmp_path / "empty"), *d), "--calib")


def test_a_file_is_refused_before_any_fit_is_looked_for(tmp_path):
    model = tmp_path / "mine.onnx"
    model.write_bytes(b"x")
    line = assert_clean_error(run_edgekit("estimate", str(model), "--db", str(tmp_path / "none.db")), "not files")
    assert "estimate --fit" not in line  # the first thing to fix is the file, not a missing fit


def test_a_host_fit_from_a_cpu_with_other_simd_features_is_refused(fitted, tmp_path):
    """On these VMs an AVX2 Zen 2 and an AVX-512 VNNI host both call themselves 'AMD EPYC': the name is not enough."""
    _, _, folder = fitted
    stored = json.loads((folder / "fits.json").read_text())
    ours = next(iter(stored["fits"].values()))["cpu_features"]
    assert ours, "this host reported no SIMD features"
    for fit in stored["fits"].values():  # fitted on a CPU that lacks our first feature and has one we lack
        fit["cpu_features"] = [f for f in fit["cpu_features"] if f != ours[0]] + ["amx_int8_other"]
    (tmp_path / "fits.json").write_text(json.dumps(stored))
    line = assert_clean_error(run_edgekit("estimate", "v1-0.5-160", "--db", str(tmp_path / "results.db")),
                              "other SIMD features", "estimate --fit")
    assert f"+{ours[0]}" in line and "-amx_int8_other" in line


def test_a_fit_made_under_other_features_is_refitted_from_its_own_ledgers(fitted, tmp_path):
    """A fit keeps its measured segment times; an edgekit whose features changed refits from them (same bench
    medians, no profiling) instead of asking for an hour on the device again. Without them: one line."""
    from edgekit.studies.latency_model import refit

    _, _, folder = fitted
    stored = json.loads((folder / "fits.json").read_text())
    fit = stored["fits"]["host|litert|int8|1"]
    assert {e["model"] for e in fit["examples"]} == set(fit["trained_on"])
    again = refit(fit)  # the same features: the same model, to the rounding of the stored times
    assert again["validation"]["rows"][0]["estimated_ms"] == pytest.approx(
        fit["validation"]["rows"][0]["estimated_ms"], rel=1e-3)
    old = json.loads(json.dumps(stored))
    for f in old["fits"].values():  # as an older edgekit wrote it: one feature fewer
        f["columns"], f["coef"] = f["columns"][:-1], f["coef"][:-1]
    (tmp_path / "fits.json").write_text(json.dumps(old))
    out = run_edgekit("estimate", "v1-0.5-160", "--db", str(tmp_path / "results.db"), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["estimates"][0]["estimated_ms"] > 0
    now = json.loads((tmp_path / "fits.json").read_text())["fits"]["host|litert|int8|1"]
    assert now["columns"] == fit["columns"] and now["refitted"]  # stored back, refitted under today's features
    for f in old["fits"].values():
        del f["examples"]
    (tmp_path / "fits.json").write_text(json.dumps(old))
    assert_clean_error(run_edgekit("estimate", "v1-0.5-160", "--db", str(tmp_path / "results.db")),
                       "older edgekit", "kept no ledgers", "estimate --fit")


def test_pick_verify_benches_the_front_beside_its_estimates(fitted, calib_dir, tmp_path):
    """--verify converts the front's variants the work folder lacks (only the runtime's format and precision) and
    benches them on the device in one session; a second call reuses them."""
    _, db, _ = fitted
    estimated = json.loads(run_edgekit("estimate", "v1-0.25-160", "--db", str(db), "--json").stdout)
    budget = estimated["estimates"][0]["estimated_ms"] * 1.001
    work = tmp_path / "work"
    out = run_edgekit("pick", "--budget", f"{budget:.4f}ms", "--family", "v1", "--verify", "--calib", str(calib_dir),
                      "--work", str(work), "--db", str(db), "--json", timeout=600)
    assert out.returncode == 0, out.stderr
    picked = json.loads(out.stdout)
    assert picked["front"][0]["model"] == "v1-0.25-128"
    assert sorted(p.name for p in (work / "v1-0.25-128").iterdir() if p.suffix != ".json") == ["tflite-int8.tflite"]
    for r in picked["front"]:  # each estimate beside a measurement of the same variant on the same device
        assert r["measured_ms"] > 0 and math.isclose(r["error_pct"], 100 * (r["estimated_ms"] / r["measured_ms"] - 1))
        assert r["measured_under_budget"] == (r["measured_ms"] <= picked["budget_ms"])
    v = picked["verified"]
    assert v["device"] == "host" and "litert" in v["runtime"] and "interleaved" in v["statistic"]
    assert v["all_under_budget"] == all(r["measured_under_budget"] for r in picked["front"])
    shown = run_edgekit("pick", "--budget", f"{budget:.4f}ms", "--family", "v1", "--verify", "--work", str(work),
                        "--db", str(db), env={"COLUMNS": "160"})  # no --calib: nothing left to convert
    assert shown.returncode == 0, shown.stderr
    assert "bench ms" in shown.stdout and "verified" in shown.stdout and "median |error|" in shown.stdout
    assert_clean_error(run_edgekit("pick", "--budget", "5ms", "--calib", str(calib_dir), "--db", str(db)),
                       "--verify")


def test_a_host_fit_from_another_core_of_the_same_name_is_refused(fitted, tmp_path):
    _, _, folder = fitted
    stored = json.loads((folder / "fits.json").read_text())
    assert all(f["cpu_id"] for f in stored["fits"].values())  # recorded from the device's own /proc/cpuinfo
    here = next(iter(stored["fits"].values()))["cpu_id"]
    # another core under the same name: a Zen 4 unless this host is one (CI lands on either)
    other = next(core for core in ("Zen 4 (AMD family 25 model 17 stepping 1)", "Zen 5 (AMD family 26 model 2 stepping 1)")
                 if core != here)
    for fit in stored["fits"].values():
        fit["cpu_id"] = other
    (tmp_path / "fits.json").write_text(json.dumps(stored))
    assert_clean_error(run_edgekit("estimate", "v1-0.5-160", "--db", str(tmp_path / "results.db")),
                       "fitted on", other.split(" (")[0], "estimate --fit")
