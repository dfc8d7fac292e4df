"""Where the time goes: per-op ledgers (LiteRT one-op models, ONNX Runtime's profiler), thread lists in
bench, and the warning when int8 runs slower than float. Timing goals live in benchmarks/op_ledger.py;
here the ledgers are checked for what must hold on any machine."""

from __future__ import annotations

import pytest

from conftest import assert_clean_error, run_edgekit

QUICK = dict(runs=5, rounds=1)


@pytest.fixture(scope="module")
def ledgers(ours):
    from edgekit.measure.ledger import ProfileOptions, profile

    _, paths = ours
    order = [("tflite", "float"), ("tflite", "int8"), ("onnx", "float"), ("onnx", "int8")]
    return dict(zip(order, profile([paths[k] for k in order], ProfileOptions(**QUICK))))


def test_tflite_ledger_counts_every_op_and_the_papers_macs(ledgers, ours):
    from edgekit.export.artifact import read_sidecar

    _, paths = ours
    for precision in ("float", "int8"):
        lg = ledgers[("tflite", precision)]
        macs = sum(op["macs"] for op in lg["ops"])
        assert macs == read_sidecar(paths[("tflite", precision)])["macs"]  # the graph's MACs = the zoo's count
        kinds = [op["kind"] for op in lg["ops"]]
        assert kinds.count("depthwise") == 13 and kinds.count("pointwise 1x1") == 13
        assert kinds.count("first conv") == 1 and kinds.count("FC") == 1
        assert all(op["ms"] is not None and op["ms"] >= 0 for op in lg["ops"]) and not lg["untimed_ops"]
        assert abs(sum(k["time_share"] for k in lg["by_kind"]) - 1) < 1e-9
        assert lg["sum_ms"] > 0 and lg["whole_ms"] > 0 and lg["within_limit"] == (abs(lg["gap_pct"]) <= 10)
        table2 = {k["kind"]: k["paper_mac_pct"] for k in lg["by_kind"]}
        assert table2["pointwise 1x1"] == 94.86 and table2["depthwise"] == 3.06
    placement = {op["edgetpu"] for op in ledgers[("tflite", "int8")]["ops"]}
    assert "TPU" in placement  # int8: the predicted Edge TPU mapping joins the ledger
    assert {op["edgetpu"] for op in ledgers[("tflite", "float")]["ops"]} == {None}


def test_onnx_ledger_from_ort_profiler_with_int8_kinds_borrowed(ledgers):
    for precision in ("float", "int8"):
        lg = ledgers[("onnx", precision)]
        assert lg["runtime"] == "onnxruntime" and lg["profiler_overhead_pct"] is not None
        assert lg["ops"] and all(op["ms"] >= 0 for op in lg["ops"])
        kinds = [op["kind"] for op in lg["ops"]]
        assert kinds.count("depthwise") == 13, kinds  # int8: borrowed from the float graph, conv for conv
        assert kinds.count("first conv") == 1


def test_profile_cli_shows_the_ledger_and_bad_input_is_one_line(ours, coral, tmp_path):
    _, paths = ours
    out = run_edgekit("profile", str(paths[("tflite", "int8")]), "--runs", "3", "--rounds", "1", "--no-record",
                      "--plot", str(tmp_path / "p.png"), env={"COLUMNS": "160"})
    assert out.returncode == 0, out.stderr
    assert "where the time goes" in out.stdout and "by op kind" in out.stdout and "Table 2" in out.stdout
    assert "sum of ops" in out.stdout and "whole model" in out.stdout
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    csv = run_edgekit("profile", str(paths[("tflite", "float")]), "--runs", "2", "--rounds", "1", "--no-record", "--csv")
    assert csv.returncode == 0 and csv.stdout.splitlines()[0].startswith("artifact,")
    assert_clean_error(run_edgekit("profile", str(coral / "mobilenet_v1_0.25_128_quant_edgetpu.tflite")),
                       "Edge TPU compiler output")
    assert_clean_error(run_edgekit("profile", str(paths[("tflite", "int8")]), "--threads", "0"), "--threads")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a model at all")
    assert_clean_error(run_edgekit("profile", str(junk), "--no-record"), "junk.tflite")
    assert_clean_error(run_edgekit("profile", str(paths[("tflite", "int8")]), "--device", "edgetpu"), "edgetpu")


def test_bench_thread_list_measures_each_count_in_one_run(ours):
    _, paths = ours
    from edgekit.measure.bench import BenchOptions, bench

    out = run_edgekit("bench", str(paths[("tflite", "float")]), "--threads", "1,2", "--runs", "5", "--rounds", "2",
                      "--min-time", "0", "--warmup", "2", "--no-record", env={"COLUMNS": "150"})
    assert out.returncode == 0, out.stderr
    assert "thread scaling" in out.stdout and "per thread" in out.stdout
    results, errors = bench([paths[("tflite", "float")]], BenchOptions.build(threads=(1, 2), runs=3, rounds=1, min_time=0,
                                                                      warmup=1))
    assert not errors and sorted(r["threads"] for r in results) == [1, 2] and len({r["session"] for r in results}) == 1
    assert_clean_error(run_edgekit("bench", str(paths[("tflite", "float")]), "--threads", "1,0"), "thread counts >= 1")


def test_int8_slower_than_float_is_warned_with_the_command_that_explains_it():
    from edgekit.present import int8_slower_lines

    def result(precision, ms, artifact):
        return {"model": "v3-small-1.0-224", "origin": "edgekit", "runtime": "litert", "threads": 1,
                "device": "host", "precision": precision, "median_ms": ms, "artifact": artifact}

    slow = int8_slower_lines([result("float", 2.0, "f.tflite"), result("int8", 2.3, "q.tflite")])
    assert len(slow) == 1 and "1.15x" in slow[0] and "edgekit profile f.tflite q.tflite" in slow[0]
    assert int8_slower_lines([result("float", 2.0, "f.tflite"), result("int8", 1.5, "q.tflite")]) == []


def test_roof_and_the_ledger_held_to_it(ours, tmp_path):
    """`edgekit roof` measures the compute peaks and bandwidth with its kernel models and stores them with the
    device's fingerprint; `profile` on the same device then gives each LiteRT op its fraction of its roof and
    names the kind furthest from it; without a roof (or for ONNX) it says why, in words."""
    import json

    _, paths = ours
    db = tmp_path / "r.db"
    proc = run_edgekit("roof", "--runs", "3", "--rounds", "1", "--out", str(tmp_path / "kernels"), "--db", str(db),
                       env={"COLUMNS": "200"}, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "GMAC/s" in proc.stdout and "GB/s" in proc.stdout and "CPU features" in " ".join(proc.stdout.split())
    stored = json.loads((tmp_path / "roofs.json").read_text())["roofs"]
    (roof,) = stored.values()
    assert roof["fp32_gmacs"] > 0 and roof["int8_gmacs"] > 0 and roof["gbps"] > 0 and roof["threads"] == 1
    out = run_edgekit("profile", str(paths[("tflite", "int8")]), "--runs", "3", "--rounds", "1", "--db", str(db),
                      "--json")
    assert out.returncode == 0, out.stderr
    (lg,) = json.loads(out.stdout)["ledgers"]
    held = [r for r in lg["ops"] if r.get("roof_fraction") is not None]
    assert held and all(0 < r["roof_fraction"] <= 1 and r["bound"] in ("compute", "memory") for r in held)
    conv = next(r for r in held if r["macs"] and r["bound"] == "compute")
    achieved = conv["macs"] / (conv["ms"] * 1e6)
    assert conv["roof_fraction"] == pytest.approx(min(1.0, achieved / min(roof["int8_gmacs"],
                                                                          conv["macs"] / conv["bytes"] * roof["gbps"])))
    far = lg["roof"]["furthest"]
    assert far["lost_ms"] == max(k["lost_ms"] for k in lg["roof"]["by_kind"])
    shown = run_edgekit("profile", str(paths[("tflite", "int8")]), "--runs", "3", "--rounds", "1", "--db", str(db),
                        "--no-record", env={"COLUMNS": "200"})
    text = " ".join(shown.stdout.split())
    assert "furthest from its roof" in text and "roof (measured" in text
    other = run_edgekit("profile", str(paths[("onnx", "int8")]), str(paths[("tflite", "float")]), "--runs", "2",
                        "--rounds", "1", "--db", str(tmp_path / "elsewhere" / "x.db"), "--no-record", "--json")
    reasons = [lg["roof"]["missing"] for lg in json.loads(other.stdout)["ledgers"]]
    assert "LiteRT" in reasons[0] and "edgekit roof" in reasons[1]
    assert_clean_error(run_edgekit("roof", "--threads", "0", "--out", str(tmp_path / "k2")), "--threads")
