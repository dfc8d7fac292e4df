"""The seeds' other systems: the v1 paper's worked layer costs (edgekit cost) and Conv MobileNet (Table 4)."""

from __future__ import annotations

import json

import pytest

from conftest import assert_clean_error, run_edgekit


def test_cost_reproduces_the_papers_worked_example_exactly():
    out = run_edgekit("cost", "--in", "14x14x512", "--out", "512", "--kernel", "3", "--alpha", "0.75",
                      "--rho", "0.714", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["rows"]
    assert [r["macs_exact"] for r in rows[:3]] == ["462422016", "52283392", "29578752"]
    assert f"{rows[3]['macs']:.2f}" == "15079129.45"
    assert [int(r["params"]) for r in rows[:2]] == [3 * 3 * 512 * 512, 3 * 3 * 512 + 512 * 512]
    ratio = json.loads(out.stdout)["ratio"]
    assert ratio["value"] == pytest.approx((9 + 512) / (9 * 512)) == pytest.approx(rows[1]["ratio_to_standard"])
    text = run_edgekit("cost", "--in", "14x14x512", "--out", "512", "--alpha", "0.75", "--rho", "0.714",
                       env={"COLUMNS": "140"})
    assert "462,422,016" in text.stdout and "15,079,129.45" in text.stdout and "(9 + 512) / (9 * 512)" in text.stdout


def test_cost_refuses_impossible_layers():
    from edgekit.api import cost
    from edgekit.errors import EdgekitError

    assert_clean_error(run_edgekit("cost", "--in", "14x14", "--out", "5"), "HxWxC")  # as users see it
    for args, fragment in [(("14x14x0", 5), "at least 1"), (("14x14x8", 0), "at least 1"),
                           (("3x3x8", 8, 5), "larger than"), (("14x14x8", 8, 3, 0), "--alpha"),
                           (("14x14x8", 8, 3, None, -1), "--rho")]:
        shape, out, *rest = args
        kernel = rest[0] if rest else 3
        alpha = rest[1] if len(rest) > 1 else None
        rho = rest[2] if len(rest) > 2 else None
        with pytest.raises(EdgekitError, match=fragment):
            cost(shape, out, kernel, alpha=alpha, rho=rho)


def test_conv_mobilenet_counts_beside_table_4():
    from edgekit.zoo.count import count
    from edgekit.zoo.describe import model_entry
    from edgekit.zoo.spec import parse_model

    conv, separable = count(parse_model("v1-conv-1.0-224")), count(parse_model("v1-1.0-224"))
    assert abs(conv.macs / 1e6 - 4866) / 4866 < 0.01 and abs(conv.params_folded / 1e6 - 29.3) / 29.3 < 0.01
    assert 8.4 < conv.macs / separable.macs < 8.8  # the paper: 4866 / 569 = 8.55
    (row,) = [p for p in model_entry(parse_model("v1-conv-1.0-224"))["published"] if p.get("macs_m")]
    assert row["source"] == "v1-paper"


def test_conv_mobilenet_bad_input():
    from edgekit.errors import EdgekitError
    from edgekit.zoo.spec import parse_model

    with pytest.raises(EdgekitError, match="no width multiplier 0.3"):
        parse_model("v1-conv-0.3-128")
    assert_clean_error(run_edgekit("convert", "--model", "v1-conv-0.25-128", "--weights", "imagenet"),
                       "no published ImageNet weights exist for v1-conv")


TABLE3 = ["v1-1.0-224", "v1-2.0-224", "v1-1.0-448", "v1-1.2-288-d1.4",
          "v2-1.0-224", "v2-1.0-224-d4", "v2-2.0-224", "v2-1.0-448", "v2-1.2-288-d1.4"]


def test_efficientnet_table3_scaled_mobilenets_each_with_our_deviation():
    """All nine rows of EfficientNet's Table 3: within 1%, or carrying the note that explains the gap."""
    from edgekit.zoo.describe import model_entry
    from edgekit.zoo.spec import parse_model

    for name in TABLE3:
        (row,) = [p for p in model_entry(parse_model(name))["published"] or [] if p["source"] == "efficientnet-paper"]
        assert abs(row["macs_delta"]) <= 0.01 or row.get("note"), (name, row)
        assert abs(row["macs_delta"]) < 0.06, (name, row)  # the table rounds to 0.1 B


def test_depth_multiplier_grammar_and_bad_input():
    from edgekit.zoo.spec import parse_model

    assert parse_model("v2-1.0-224-d4").name == "v2-1.0-224-d4" and parse_model("v2-1.0-224-d4").depth == 4
    assert parse_model("v1-1.0-224-d1").name == "v1-1.0-224"
    from edgekit.errors import EdgekitError
    from edgekit.zoo.weights import resolve

    assert_clean_error(run_edgekit("summary", "v3-small-1.0-224-d2"), "has no depth multiplier")
    for name, fragment in [("v2-1.0-224-d0", "impossible"), ("v2-1.7-224", "no width multiplier 1.7")]:
        with pytest.raises(EdgekitError, match=fragment):
            parse_model(name)
    with pytest.raises(EdgekitError, match="no published ImageNet weights"):
        resolve(parse_model("v2-1.0-224-d4"), "imagenet")


def test_mnasnet_efficientnet_counts_beside_their_papers():
    from edgekit.zoo.count import count
    from edgekit.zoo.describe import model_entry
    from edgekit.zoo.spec import parse_model

    expected = {"mnasnet-a1-1.0-224": (312, 3.9), "efficientnet-b0-1.0-224": (390, 5.3)}
    for name, (macs, params) in expected.items():
        counted = count(parse_model(name))
        assert abs(counted.macs / 1e6 - macs) / macs < 0.015 and abs(counted.params_folded / 1e6 - params) / params < 0.015
    assert count(parse_model("efficientnet-b0-1.0-224")).params == 5_330_571  # Keras's own count of B0
    (lite,) = [p for p in model_entry(parse_model("efficientnet-lite0-1.0-224"))["published"] if p.get("macs_m")]
    assert lite["note"] and abs(lite["macs_delta"]) > 0.01  # 407 M published, 385 M counted: explained, not hidden


@pytest.mark.slow
def test_mnasnet_converts_with_parity_and_maps_to_the_edge_tpu(calib_dir, tmp_path):
    from edgekit.edgetpu.check import predict
    from edgekit.export.convert import ConvertOptions, convert

    sidecars = convert(ConvertOptions.build("mnasnet-a1-0.35-96", precisions=("int8",), calib=str(calib_dir),
                                      calib_count=16, check_count=8, out=str(tmp_path)))
    assert all(s["parity"]["passed"] for s in sidecars)
    (int8,) = [s for s in sidecars if s["precision"] == "int8"]
    mapping = predict(int8["path"])
    assert mapping["first_unsupported"] is None and mapping["ops_on_cpu"] <= 2  # float I/O: quantize, dequantize


def test_the_seeds_sweep_file_is_valid(data_dir, monkeypatch):
    from pathlib import Path

    from edgekit.sweep.plan import load_sweep

    monkeypatch.setenv("EDGEKIT_DATA", str(data_dir))
    sweep = load_sweep(Path(__file__).resolve().parents[1] / "benchmarks" / "sweep-seeds.toml", known_devices={"host"})
    families = {a.path.parts[-3].rsplit("-", 2)[0] for a in sweep.artifacts}
    assert families == {"v1", "v1-conv", "v2", "v3-small", "v3-large", "mnasnet-a1", "efficientnet-b0",
                        "efficientnet-lite0"}
    assert len(sweep.cells) == 8 * 2 * 2
