"""Compare with the papers, the report, and the regression gate (statistics, baselines, suites, CLI)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgekit.compare import baseline as bl
from edgekit.compare import stats
from edgekit.compare.regress import regress
from edgekit.compare.suite import SuiteError, load_suite
from edgekit.errors import EdgekitError
from edgekit.report.data import Point, pareto
from edgekit.zoo import published
from edgekit.zoo.foreign import recognize

from conftest import assert_clean_error, run_edgekit

QUICK = ["--runs", "20", "--warmup", "2", "--min-time", "0", "--rounds", "4"]


# ---- published data --------------------------------------------------------------------------

def test_published_ratios_come_from_the_cited_tables():
    ratios = {r.name: r for r in published.ratios()}
    assert ratios["v2 / v1 latency, float"].value == pytest.approx(75 / 113)
    assert ratios["v2 / v1 latency, float"].source == "v2-paper"
    assert ratios["v3-large-1.0-224 int8 / float latency"].value == pytest.approx(44 / 51.2)
    # Google's hosted table times every v1 variant both ways on one phone: 16 + v2 int8 speed-ups
    hosted = [r for r in ratios.values() if r.source == "tflite-hosted" and r.numerator[1] == "int8"]
    assert len(hosted) == 17 and all(r.value < 1 for r in hosted)
    assert all(r.device for r in ratios.values())


def test_google_files_are_recognised_by_name():
    got = recognize("/x/mobilenet_v1_0.50_160_quant_edgetpu.tflite")
    assert got["model"] == "v1-0.5-160" and got["precision"] == "int8" and got["format"] == "tflite-edgetpu"
    assert recognize("mobilenet_v2_1.0_224.tflite")["precision"] == "float"
    assert recognize("mobilenet_v1_0.3_128_quant.tflite") is None  # not a paper width
    assert recognize("model.tflite") is None


# ---- statistics ------------------------------------------------------------------------------

def _rounds(rng, n, level, drift):
    return level * drift * rng.lognormal(0, 0.02, n)


def test_reference_normalisation_cancels_machine_drift():
    rng = np.random.default_rng(1)
    drift_a, drift_b = rng.uniform(0.7, 1.5, 20), rng.uniform(0.7, 1.5, 20)  # the box's speed per round
    base, base_ref = _rounds(rng, 20, 10.0, drift_a), _rounds(rng, 20, 5.0, drift_a)
    cand, cand_ref = _rounds(rng, 20, 11.5, drift_b), _rounds(rng, 20, 5.0, drift_b)
    est = stats.ratio_of_medians(stats.normalised(base, base_ref), stats.normalised(cand, cand_ref))
    assert est.ratio == pytest.approx(1.15, rel=0.03)
    assert est.low > 1.05 and stats.verdict(est, 0.05) == "regressed"
    raw = stats.ratio_of_medians(base, cand)
    assert raw.high - raw.low > 4 * (est.high - est.low)  # without the reference the interval is far wider


def test_sessions_are_the_unit_of_the_interval():
    """Each worker process runs at its own speed: only several sessions reveal that, and widen the interval."""
    rng = np.random.default_rng(7)
    offsets_b, offsets_c = rng.normal(0, 0.08, 5), rng.normal(0, 0.08, 5)  # per-process speed, +-8%
    base = [np.exp(o + rng.normal(0, 0.01, 8)) for o in offsets_b]
    cand = [np.exp(o + rng.normal(0, 0.01, 8)) for o in offsets_c]
    two_level = stats.ratio_estimate(base, cand)
    pooled = stats.ratio_of_medians(np.concatenate(base), np.concatenate(cand))
    assert two_level.sessions == 5 and two_level.rounds == 40
    assert (two_level.high - two_level.low) > 2 * (pooled.high - pooled.low)
    assert two_level.low < 1 < two_level.high  # the same code: no verdict either way
    part = {"samples_ms": [1.0] * 6, "round_sizes": [2, 2, 2], "session_rounds": [2, 1]}
    assert [len(g) for g in stats.sessions(part)] == [2, 1]


def test_few_sessions_give_a_wide_interval_not_a_false_alarm():
    """Two sessions a side (what a quick `--sessions 2` baseline and `--max-sessions 2` gate have): a percentile
    bootstrap spans only the values it saw and called an unchanged file "regressed" in about 1 run in 14
    (22 of 300 here, against 2.5% nominal); with Yuen's t-interval in the union the rate holds."""
    rng = np.random.default_rng(3)

    def side(n):  # each worker process at its own speed (+-8%), one round per session
        return [np.exp(rng.normal(0, 0.08) + rng.normal(0, 0.01, 1)) for _ in range(n)]

    false = sum(stats.ratio_estimate(side(2), side(2), 0.95, resamples=300, seed=i).low > 1.05 for i in range(300))
    assert false <= 10  # 2.5% one-sided: 7.5 expected at most
    # the t quantile it rests on, against printed tables (and the Cauchy case, exactly)
    assert stats.t_quantile(0.975, 2) == pytest.approx(4.3027, abs=1e-4)
    assert stats.t_quantile(0.975, 10) == pytest.approx(2.2281, abs=1e-4)
    assert stats.t_quantile(0.995, 3) == pytest.approx(5.8409, abs=1e-4)
    assert stats.t_quantile(0.999, 1) == pytest.approx(np.tan(np.pi * 0.499), rel=1e-6)
    # with many sessions Yuen and the bootstrap agree: the union costs little power
    big_b, big_c = side(16), side(16)
    union = stats.ratio_estimate(big_b, big_c, 0.95)
    yuen = stats.yuen_interval(big_b, big_c, 0.95)
    assert (union.high - union.low) < 1.3 * (yuen[1] - yuen[0])


def test_verdicts_decide_only_when_the_interval_is_clear_of_the_threshold():
    same = stats.RatioEstimate(1.00, 0.98, 1.03, 0.95, 5, 20)
    small = stats.RatioEstimate(1.03, 1.01, 1.04, 0.95, 5, 20)
    big = stats.RatioEstimate(1.12, 1.08, 1.16, 0.95, 5, 20)
    noisy = stats.RatioEstimate(1.20, 0.95, 1.45, 0.95, 5, 20)
    faster = stats.RatioEstimate(0.8, 0.75, 0.85, 0.95, 5, 20)
    assert stats.verdict(same, 0.05) == "unchanged"
    assert stats.verdict(small, 0.05) == "slower (within threshold)"
    assert stats.verdict(big, 0.05) == "regressed"
    assert stats.verdict(big, 0.15) == "inconclusive"  # it straddles 1.15: more sessions, not a guess
    assert stats.verdict(noisy, 0.05) == "inconclusive"  # never silently "unchanged"
    assert stats.verdict(faster, 0.05) == "improved"
    assert stats.creep_verdict(big, 0.05) == "crept" and stats.creep_verdict(same, 0.10) == "within"


def test_the_gate_looks_at_a_schedule_and_refuses_a_budget_that_cannot_decide():
    from edgekit.compare import gate

    assert gate.schedule(16) == [4, 8, 16]
    assert gate.schedule(20) == [4, 8, 16, 20] and gate.schedule(6) == [4, 6] and gate.schedule(2) == [2]
    with pytest.raises(EdgekitError, match="cannot decide"):
        gate.schedule(1)


def test_creep_is_caught_against_the_oldest_baseline_when_each_step_passes():
    """Three ~4% steps: each within the 5% threshold of its predecessor, 12.5% past the oldest."""
    oldest = _baseline(1.0, 1, noise=0.004)
    rolling = oldest
    for step, level in enumerate((1.04, 1.04 ** 2, 1.04 ** 3), start=2):
        cand = _baseline(level, step, noise=0.004)
        report = regress(rolling, cand, 0.05, origin=rolling.get("origin"), creep=0.10)
        row = report["rows"][0]
        assert row["verdict"] == "slower (within threshold)", row
        rolling = bl.descend(rolling, cand)
        assert rolling["origin"]["entries"] == oldest["entries"] and len(rolling["history"]) == step - 1
        drift = row.get("creep")
        if step < 3:
            continue
        assert drift["verdict"] == ("crept" if step == 4 else "within"), drift
    assert report["crept"] == 1 and report["regressed"] == 0


def test_cli_creep_against_a_pinned_baseline_exits_1(tmp_path):
    pinned, base, cand = tmp_path / "pinned.json", tmp_path / "base.json", tmp_path / "cand.json"
    bl.save(pinned, _baseline(1.0, 1, noise=0.004))
    bl.save(base, _baseline(1.1, 2, noise=0.004))
    bl.save(cand, _baseline(1.13, 3, noise=0.004))
    out = run_edgekit("regress", "--baseline", str(base), "--candidate", str(cand), "--pinned", str(pinned))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "crept" in out.stdout and "since oldest" in out.stdout


def test_an_undecided_entry_is_inconclusive_with_its_own_exit_code(tmp_path):
    base, cand = tmp_path / "base.json", tmp_path / "cand.json"
    bl.save(base, _baseline(1.0, 1))
    bl.save(cand, _baseline(1.0, 2))
    out = run_edgekit("regress", "--baseline", str(base), "--candidate", str(cand), "--threshold", "0.1%", "--json")
    assert out.returncode == 3, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["inconclusive"] == 1 and report["rows"][0]["verdict"] == "inconclusive"


def test_an_older_baseline_format_is_read_and_an_unknown_one_refused(tmp_path):
    old = tmp_path / "v1.json"
    bl.save(old, {**_baseline(1.0, 1), "edgekit_baseline": 1})
    assert bl.load(old)["edgekit_baseline"] == 1  # version 1: one reference or none, no origin: read as it is
    future = tmp_path / "v9.json"
    bl.save(future, {**_baseline(1.0, 1), "edgekit_baseline": 9})
    assert_clean_error(run_edgekit("regress", "--baseline", str(future)), "baseline format 9", "take a new baseline")
    assert_clean_error(run_edgekit("regress", "--baseline", str(old), "--max-sessions", "1"), "cannot decide")


def test_round_values_split_the_samples_at_round_boundaries():
    values = stats.round_values([1, 2, 3, 10, 11, 30], [3, 2, 1])
    assert values.tolist() == [2.0, 10.5, 30.0]
    with pytest.raises(ValueError):
        stats.round_values([1, 2, 3], [2, 2])


# ---- baselines and regress (synthetic sample sets) ------------------------------------------

ENV = {"cpu": "Test CPU", "machine": "x86_64", "cores": 2, "usable_cores": 2, "packages": {"edgekit": "0.1.0"}}


def _part(artifact, level, rng, sha="a" * 64, rounds=20, per=5, noise=0.03):
    samples = (level * rng.lognormal(0, noise, rounds * per)).round(5).tolist()
    return {"artifact": artifact, "artifact_sha256": sha, "runtime": "litert", "runtime_version": "2.3.0",
            "threads": 1, "batch": 1, "device": "host", "options": {"xnnpack": True}, "model": "v1-0.25-128",
            "format": "tflite", "precision": "int8", "median_ms": float(np.median(samples)),
            "samples_ms": samples, "round_sizes": [per] * rounds}


def _baseline(level, seed, env=ENV, ref_sha="r" * 64, artifact="m/a.tflite", noise=0.03):
    rng = np.random.default_rng(seed)
    result = _part(artifact, level, rng, noise=noise)
    entry = {"key": bl.entry_key(result), "result": result,
             "reference": _part("ref.tflite", 2.0, rng, sha=ref_sha, noise=noise)}
    return bl.make_baseline([entry], env, {"artifacts": [artifact], "threads": [1], "options": {}})


def test_regress_flags_a_slowdown_and_not_noise():
    base = _baseline(1.0, 1)
    same = regress(base, _baseline(1.0, 2), 0.05)
    slow = regress(base, _baseline(1.2, 3), 0.05)
    assert same["regressed"] == 0 and same["rows"][0]["verdict"] == "unchanged"
    assert slow["regressed"] == 1 and slow["rows"][0]["ratio"] == pytest.approx(1.2, rel=0.03)
    assert slow["rows"][0]["normalised_by"] == "ref.tflite"


def test_regress_refuses_what_it_cannot_compare():
    base = _baseline(1.0, 1)
    with pytest.raises(bl.BaselineError, match="do not match"):
        regress(base, _baseline(1.0, 2, artifact="m/other.tflite"), 0.05)
    other = dict(ENV, cpu="Another CPU")
    with pytest.raises(bl.BaselineError, match="another machine.*Another CPU"):
        regress(base, _baseline(1.0, 2, env=other), 0.05)
    assert regress(base, _baseline(1.0, 2, env=other), 0.05, allow_env_change=True)["machine_changes"]
    # one marketing name, other int8 kernels (with and without VNNI): not comparable either
    vnni, plain = dict(ENV, cpu_features=["avx2", "avx512_vnni"]), dict(ENV, cpu_features=["avx2"])
    with pytest.raises(bl.BaselineError, match="cpu_features"):
        regress(_baseline(1.0, 1, env=vnni), _baseline(1.0, 2, env=plain), 0.05)
    # one name and the same features, another core (a Zen 4 and a Zen 5 'AMD EPYC'): not comparable either
    zen4, zen5 = dict(vnni, cpu_id="Zen 4 (AMD family 25 model 17)"), dict(vnni, cpu_id="Zen 5 (AMD family 26 model 2)")
    with pytest.raises(bl.BaselineError, match="cpu_id.*Zen 4.*Zen 5"):
        regress(_baseline(1.0, 1, env=zen4), _baseline(1.0, 2, env=zen5), 0.05)
    # a baseline from before cpu_features was recorded is still compared on the rest
    assert regress(base, _baseline(1.0, 2, env=vnni), 0.05)["machine_changes"] == []
    with pytest.raises(bl.BaselineError, match="reference .* changed"):
        regress(base, _baseline(1.0, 2, ref_sha="x" * 64), 0.05)
    assert regress(base, _baseline(1.0, 2, ref_sha="x" * 64), 0.05, use_reference=False)["rows"]


def test_cli_regress_exit_codes_and_step_summary(tmp_path):
    base, same, slow = tmp_path / "base.json", tmp_path / "same.json", tmp_path / "slow.json"
    bl.save(base, _baseline(1.0, 1))
    bl.save(same, _baseline(1.0, 2))
    bl.save(slow, _baseline(1.3, 3))
    summary = tmp_path / "summary.md"
    ok = run_edgekit("regress", "--baseline", str(base), "--candidate", str(same), "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["regressed"] == 0
    bad = run_edgekit("regress", "--baseline", str(base), "--candidate", str(slow), env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert bad.returncode == 1, bad.stderr
    assert "regressed" in bad.stdout
    text = summary.read_text()
    assert "| entry |" in text and "regressed" in text and "1.3" in text


def test_cli_regress_bad_baselines_are_one_line_errors(tmp_path):
    good = tmp_path / "good.json"
    bl.save(good, _baseline(1.0, 1))
    truncated = tmp_path / "truncated.json"
    truncated.write_bytes(good.read_bytes()[:500])
    assert_clean_error(run_edgekit("regress", "--baseline", str(truncated)), "corrupt or truncated")
    assert_clean_error(run_edgekit("regress", "--baseline", str(tmp_path / "nope.json")), "not found")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": 1}))
    assert_clean_error(run_edgekit("regress", "--baseline", str(other)), "not an edgekit baseline")
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({**_baseline(1.0, 1), "entries": []}))
    assert_clean_error(run_edgekit("regress", "--baseline", str(empty)), "no entries")
    moved = tmp_path / "moved.json"
    bl.save(moved, _baseline(1.0, 2, env=dict(ENV, cpu="Another CPU")))
    assert_clean_error(run_edgekit("regress", "--baseline", str(good), "--candidate", str(moved)),
                       "another machine", "--allow-env-change")
    assert_clean_error(run_edgekit("regress", "--baseline", str(good), "--candidate", str(good),
                                   "--threshold", "ten"), "--threshold")


# ---- the real thing: bench --save-baseline, then regress runs the same entries now ----------

@pytest.mark.slow
def test_real_baseline_then_regress_catches_a_swapped_slower_model(tmp_path, coral):
    entry = tmp_path / "entry.tflite"
    shutil.copyfile(coral / "mobilenet_v1_0.25_128_quant.tflite", entry)
    ref = coral / "mobilenet_v1_0.5_160_quant.tflite"
    base = tmp_path / "base.json"
    proc = run_edgekit("bench", str(entry), "--reference", str(ref), "--save-baseline", str(base),
                       "--runs", "40", "--min-time", "0.3", "--rounds", "8", "--sessions", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    saved = bl.load(base)
    part = saved["entries"][0]
    assert part["reference"]["artifact"] == str(ref)
    assert len(part["result"]["samples_ms"]) >= 160 and len(part["result"]["round_sizes"]) == 32
    assert part["result"]["session_rounds"] == [8] * 4 and part["reference"]["session_rounds"] == [8] * 4
    assert saved["environment"]["cpu"] and saved["run"]["reference"] == str(ref)
    same = run_edgekit("regress", "--baseline", str(base), "--threshold", "50%", "--json")
    assert same.returncode == 0, same.stdout + same.stderr
    assert json.loads(same.stdout)["rows"][0]["file_changed"] is False
    shutil.copyfile(coral / "mobilenet_v2_1.0_224_quant.tflite", entry)  # ~15x the work under the same entry
    slow = run_edgekit("regress", "--baseline", str(base), "--json")
    assert slow.returncode == 1, slow.stdout + slow.stderr
    row = json.loads(slow.stdout)["rows"][0]
    assert row["verdict"] == "regressed" and row["file_changed"] and row["low"] > 3


# ---- suites ------------------------------------------------------------------------------------

def _suite(tmp_path, text: str) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


def test_suite_validation_fails_before_any_work(tmp_path):
    with pytest.raises(Exception, match="resolution 12 is impossible"):  # fails before anything runs
        load_suite(_suite(tmp_path, '[[grid]]\nmodels = ["v1-0.25-12"]\n'))
    with pytest.raises(SuiteError, match="empty"):
        load_suite(_suite(tmp_path, 'name = "x"\n'))
    with pytest.raises(SuiteError, match="unknown format"):
        load_suite(_suite(tmp_path, '[[grid]]\nmodels = ["v1"]\nformats = ["tf"]\n'))
    with pytest.raises(SuiteError, match="unknown key"):
        load_suite(_suite(tmp_path, 'treads = [1]\n[[grid]]\nmodels = ["v1"]\n'))
    with pytest.raises(SuiteError, match="does not exist"):
        load_suite(_suite(tmp_path, '[[grid]]\nmodels = ["v1"]\n[reference]\nfloat = "/no/such.tflite"\n'))
    with pytest.raises(SuiteError, match="unset environment variable"):
        load_suite(_suite(tmp_path, '[[grid]]\nmodels = ["v1"]\n[convert]\ncalib = "${EDGEKIT_NOPE}/x"\n'))
    assert_clean_error(run_edgekit("bench", "--suite", str(_suite(tmp_path, 'name = "x"\n'))), "empty")


@pytest.mark.slow
def test_suite_converts_what_is_missing_and_regresses_against_itself(tmp_path, coral):
    out = tmp_path / "artifacts"
    suite = _suite(tmp_path, f'''
name = "tiny"
out = "{out}"
threads = [1]
[bench]
runs = 20
min_time = 0.2
rounds = 4
warmup = 2
sessions = 4
[convert]
weights = "none"
ptq = "minmax"
[[grid]]
models = ["v1-0.25-96"]
formats = ["tflite", "onnx"]
precisions = ["float"]
[reference]
float = "{coral / 'mobilenet_v1_0.25_128_quant.tflite'}"
''')
    base = tmp_path / "base.json"
    proc = run_edgekit("bench", "--suite", str(suite), "--save-baseline", str(base), "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert (out / "v1-0.25-96" / "tflite-float.tflite").is_file() and (out / "v1-0.25-96" / "onnx-float.onnx").is_file()
    saved = bl.load(base)
    assert {e["result"]["runtime"] for e in saved["entries"]} == {"litert", "onnxruntime"}
    again = run_edgekit("regress", "--baseline", str(base), "--threshold", "60%", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(json.loads(again.stdout)["rows"]) == 2


def test_shipped_ci_suite_is_valid(data_dir, monkeypatch):
    monkeypatch.setenv("EDGEKIT_DATA", str(data_dir))
    suite = load_suite(Path(__file__).resolve().parents[1] / "benchmarks" / "suite-ci.toml", check_references=False)
    assert len(suite.entries) == 10 and suite.bench["sessions"] >= 3 and suite.bench["rounds"] >= 4
    for e in suite.entries:  # every entry has a reference of its own kind
        ref = suite.reference_for(e.format, e.precision)
        assert ref and ref.suffix == (".onnx" if e.format == "onnx" else ".tflite"), (e, ref)
        assert ("int8" in ref.name or "quant" in ref.name) == (e.precision == "int8"), (e, ref)


# ---- compare and report on real results -------------------------------------------------------

@pytest.fixture(scope="module")
def real_db(tmp_path_factory, ours, coral, eval_dir):
    """A results store holding real evals (eval300) and benches of our exports and Google's twins."""
    db = tmp_path_factory.mktemp("cmp") / "results.db"
    _, paths = ours
    files = [str(paths[("tflite", "float")]), str(paths[("tflite", "int8")]),
             str(coral / "mobilenet_v1_0.25_128_quant.tflite")]
    ev = run_edgekit("eval", *files, "--data", str(eval_dir), "--db", str(db), "--json")
    assert ev.returncode == 0, ev.stderr
    more = [str(coral / f"mobilenet_v1_{w}_quant.tflite") for w in ("0.5_160", "0.75_192")]
    b = run_edgekit("bench", *files, *more, "--db", str(db), *QUICK, "--json")
    assert b.returncode == 0, b.stderr
    return db


def test_compare_sets_ours_beside_the_published(real_db):
    proc = run_edgekit("compare", "v1-0.25-128", "--db", str(real_db), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    (model,) = data["models"]
    assert model["macs_m"] == pytest.approx(13.6, abs=0.1)
    ours = [a for a in model["accuracy"] if a["origin"] == "edgekit"]
    assert ours and ours[0]["data"] == "eval300" and ours[0]["count"] == 300
    assert 50 < ours[0]["float"] < 75 and ours[0]["drop"] == pytest.approx(ours[0]["float"] - ours[0]["int8"])
    hosted = next(a for a in model["accuracy"] if a["who"] == "tflite-hosted")
    assert (hosted["float"], hosted["int8"], hosted["count"]) == (41.4, 39.5, 50000)
    google = next(a for a in model["accuracy"] if a["origin"] == "google")
    assert google["int8"] > 50
    (easy,) = data["easy_subset"]
    assert easy["easier_by"] > 5  # eval300 is easier than the full set, measured on the same file
    (ratio,) = [r for r in data["ratios"] if r["name"] == "v1-0.25-128 int8 / float latency"]
    assert ratio["published"] == pytest.approx(0.8 / 1.2, abs=1e-3)
    (mine,) = ratio["ours"]
    assert mine["runtime"] == "litert" and mine["same_session"] and mine["value"] > 0
    text = run_edgekit("compare", "--db", str(real_db))
    assert text.returncode == 0 and "tflite-hosted" in text.stdout and "eval300" in text.stdout


def test_report_writes_markdown_html_and_pictures(real_db, tmp_path):
    proc = run_edgekit("report", "--db", str(real_db), "--out", str(tmp_path / "r"), "--json")
    assert proc.returncode == 0, proc.stderr
    written = json.loads(proc.stdout)
    for name in ("report.md", "report.html", "accuracy_vs_latency.png", "int8_speedup.png", "macs_vs_latency.png"):
        assert name in written, written
    for name in ("accuracy_vs_latency.png", "int8_speedup.png", "macs_vs_latency.png"):
        data = Path(written[name]).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    page = Path(written["report.html"]).read_text()
    assert page.count("data:image/png;base64,") == 3 and "src='http" not in page
    md = Path(written["report.md"]).read_text()
    assert "![Accuracy vs latency](accuracy_vs_latency.png)" in md and "eval300 (300 images)" in md
    assert not list((tmp_path / "r").glob("*.tmp*"))


def test_report_and_compare_on_an_empty_store_are_clean_errors(tmp_path):
    db = str(tmp_path / "empty.db")
    assert_clean_error(run_edgekit("report", "--db", db, "--out", str(tmp_path / "r")), "no results")
    assert_clean_error(run_edgekit("compare", "--db", db), "no results store")  # a typo is not an empty history


def test_pareto_front_keeps_only_undominated_points():
    def p(ms, top1):
        return Point(f"{ms}", None, None, None, None, "litert", "", 1, "host", ms, "", None, top1)
    front = pareto([p(1, 50), p(2, 49), p(3, 60), p(4, 60), p(5, 70), p(6, None)])
    assert [(q.median_ms, q.top1) for q in front] == [(1, 50), (3, 60), (5, 70)]


def test_a_busy_machine_is_called_out():
    base, cand = _baseline(1.0, 1), _baseline(1.0, 2)
    base["load"], cand["load"] = {"before": 0.3, "after": 1.1}, {"before": 3.5, "after": 4.0}
    (warning,) = regress(base, cand, 0.05)["warnings"]
    assert "candidate ran on a busy machine (load 4.0 on 2 cores)" in warning
    cand["load"] = {"before": 0.2, "after": 1.0}  # our own worker on one core is not "busy"
    assert regress(base, cand, 0.05)["warnings"] == []


@pytest.mark.slow
def test_a_baseline_without_a_reference_gets_a_built_in_one(tmp_path, coral):
    """The simplest command line: `bench FILE --save-baseline base.json`. edgekit makes a seeded, pinned
    reference workload of the file's kind beside the baseline; regress refuses it changed, rebuilds it lost."""
    entry = tmp_path / "entry.tflite"
    shutil.copyfile(coral / "mobilenet_v1_0.25_128_quant.tflite", entry)
    base = tmp_path / "base.json"
    quick = ["--runs", "20", "--min-time", "0.1", "--rounds", "4", "--warmup", "2"]
    # 4 sessions a side: with 2, the spread between worker processes rests on one degree of freedom and the
    # interval is rightly too wide to decide even a 50% threshold
    made = run_edgekit("bench", str(entry), "--save-baseline", str(base), "--sessions", "4", *quick, "--json")
    assert made.returncode == 0, made.stderr
    saved = bl.load(base)
    (ref,) = saved["run"]["references"].values()
    assert list(saved["run"]["references"]) == ["tflite-int8"]  # Google's uint8 file is an int8 kind
    assert Path(ref["path"]).parent.parent == tmp_path / "base.refs" and len(ref["sha256"]) == 64
    assert saved["entries"][0]["reference"]["artifact"] == ref["path"]
    again = run_edgekit("regress", "--baseline", str(base), "--threshold", "50%", "--max-sessions", "4", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    row = json.loads(again.stdout)["rows"][0]
    assert row["normalised_by"] == Path(ref["path"]).name and row["sessions"]["candidate"] == 4  # the first look
    Path(ref["path"]).unlink()  # lost (a CI cache without it): rebuilt from the seed, to the same bytes
    rebuilt = run_edgekit("regress", "--baseline", str(base), "--threshold", "50%", "--max-sessions", "4", "--json")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    Path(ref["path"]).write_bytes(Path(ref["path"]).read_bytes() + b"\0")
    assert_clean_error(run_edgekit("regress", "--baseline", str(base)), "changed since the baseline")
