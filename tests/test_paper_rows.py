"""The papers' remaining rows: MobileNetV3's Sec. 5.1 ablations and Table 5's ReLU, other class counts (the v1
paper's Table 10 on Stanford Dogs), the v3 paper's Pixel latencies as ratios, and bad input."""

from __future__ import annotations

import json

import pytest

from conftest import assert_clean_error, run_edgekit


def test_ablation_counts_beside_the_paper():
    """Undoing the efficient last stage costs 34.3 M MAdds on v3-large (the paper: 30 M, Fig. 5 rebuilt as
    MnasNet-A1's tail); the 32-filter stem 10.4 M (the paper: 10 M); ReLU changes no count."""
    from edgekit.zoo.count import count
    from edgekit.zoo.published import ablations
    from edgekit.zoo.spec import parse_model

    base = count(parse_model("v3-large-1.0-224"))
    said = {a["ablation"]: a for a in ablations()}
    orig = count(parse_model("v3-large-1.0-224-origlast"))
    stem = count(parse_model("v3-large-1.0-224-stem32"))
    assert 1.0 < (orig.macs - base.macs) / 1e6 / said["origlast"]["macs_delta_m"] < 1.2
    assert "34.3 M" in said["origlast"]["note"]
    assert abs((stem.macs - base.macs) / 1e6 - said["stem32"]["macs_delta_m"]) < 0.6
    assert count(parse_model("v3-large-1.0-224-relu")).macs == base.macs
    assert orig.params_folded < base.params_folded  # the efficient stage's 960->1280 conv is the bigger one
    assert parse_model("v3-small-stem32-origlast").name == "v3-small-1.0-224-origlast-stem32"


def test_ablated_keras_models_are_what_they_say():
    """-relu has no h-swish left (SE's hard-sigmoid gates stay); -stem32 starts with 32 filters and a ReLU and
    loses the first block's residual (32 in, 16 out)."""
    from edgekit.zoo.build import build
    from edgekit.zoo.spec import parse_model

    relu, _ = build(parse_model("v3-large-0.75-96-relu"))
    acts = [layer.get_config()["activation"] for layer in relu.layers if type(layer).__name__ == "Activation"]
    assert "relu" in acts and not any("swish" in a or a == "hard_silu" for a in acts)
    stem, _ = build(parse_model("v3-large-0.75-96-stem32"))
    assert stem.get_layer("conv").filters == 32
    assert "expanded_conv_add" not in {layer.name for layer in stem.layers}
    plain, _ = build(parse_model("v3-large-0.75-96"))
    assert "expanded_conv_add" in {layer.name for layer in plain.layers}


def test_table_10_rows_with_a_120_class_head():
    """The v1 paper's Stanford Dogs rows: our 120-class counts within 2% of its params; its MAdds are the
    1000-class figures (said in the row's note); `summary` sets them side by side."""
    from edgekit.zoo.count import count
    from edgekit.zoo.published import rows_for
    from edgekit.zoo.spec import parse_model

    for name in ("v1-1.0-224-c120", "v1-0.75-224-c120", "v1-1.0-192-c120", "v1-0.75-192-c120"):
        (row,) = [r for r in rows_for(name) if r.source == "v1-paper"]
        ours = count(parse_model(name))
        assert abs(ours.params_folded / 1e6 / row.values["params_m"] - 1) < 0.02, name
        assert abs(ours.macs / 1e6 / row.values["macs_m"] - 1) < 0.005, name
    proc = run_edgekit("summary", "v1-0.75-192-c120")
    text = " ".join(proc.stdout.split())
    assert proc.returncode == 0 and "Table 10 (Stanford Dogs" in text and "768x120" in text  # the 120-class FC


def test_v3_paper_pixel_ratios_are_data():
    """Tables 3 and 4's Pixel 1 latencies give int8/float and family ratios `compare` sets beside ours."""
    from edgekit.zoo.published import ratios

    got = {r.name: r for r in ratios()}
    assert got["v3-large / v2 latency, float (v3 paper)"].value == pytest.approx(51 / 64)
    assert got["v3-small / v3-large latency, float (v3 paper)"].value == pytest.approx(15.8 / 51)
    v3 = [r for r in got.values() if r.numerator == ("v3-small-1.0-224", "int8") and r.source == "v3-paper"]
    assert len(v3) == 1 and v3[0].value == pytest.approx(15.5 / 15.8) and v3[0].name.endswith("(v3-paper)")


def test_shufflenet_and_nasnet_beside_the_v2_table():
    """ShuffleNet v1 1.5x and 2x (g = 3) and NASNet-A mobile within 2% of the v2 paper's Table 4 (MAdds and
    params); the group counts of the ShuffleNet paper's Table 1 within 1.1% of its complexity."""
    from edgekit.zoo.count import count
    from edgekit.zoo.published import rows_for
    from edgekit.zoo.spec import parse_model

    for name in ("shufflenet-v1-g3-1.5-224", "shufflenet-v1-g3-2.0-224"):
        (row,) = [r for r in rows_for(name) if r.source == "v2-paper"]
        ours = count(parse_model(name))
        assert abs(ours.macs / 1e6 / row.values["macs_m"] - 1) < 0.02, name
        assert abs(ours.params_folded / 1e6 / row.values["params_m"] - 1) < 0.02, name
    for groups in (1, 2, 3, 4, 8):
        name = f"shufflenet-v1-g{groups}-1.0-224"
        (row,) = [r for r in rows_for(name) if r.source == "shufflenet-paper" and "Table 1" in r.where]
        assert abs(count(parse_model(name)).macs / 1e6 / row.values["macs_m"] - 1) < 0.011, name
    assert parse_model("shufflenet-v1").name == "shufflenet-v1-g3-1.0-224"
    (nasnet,) = [r for r in rows_for("nasnet-a-mobile-1.0-224") if r.source == "v2-paper"]
    counted = count(parse_model("nasnet-a-mobile"))
    assert counted.params == 5_326_716  # keras.applications.NASNetMobile's own count (the recorded table is live)
    assert abs(counted.macs / 1e6 / nasnet.values["macs_m"] - 1) < 0.02
    assert abs(counted.params_folded / 1e6 / nasnet.values["params_m"] - 1) < 0.02
    grouped = [c.layer for c in count(parse_model("shufflenet-v1-g8-1.0-224")).layers if c.layer.groups > 1]
    assert grouped and all(layer.groups == 8 for layer in grouped)


def test_bad_ablations_and_class_counts(tmp_path):
    assert_clean_error(run_edgekit("summary", "v2-1.0-224-origlast"), "v3-small or v3-large only")
    assert_clean_error(run_edgekit("summary", "v1-c0"), "1 to 100,000 classes")
    assert_clean_error(run_edgekit("summary", "v3-small-relu-min"), "-min already has no h-swish")
    assert_clean_error(run_edgekit("summary", "ssdlite-v2-c3"), "classes are its data set's")
    assert_clean_error(run_edgekit("summary", "shufflenet-v1-g4-0.5"), "4 groups do not divide", "(34)")
    assert_clean_error(run_edgekit("summary", "shufflenet-v1-g5"), "group counts 1, 2, 3, 4, 8")
    assert_clean_error(run_edgekit("summary", "nasnet-a-mobile-1.0-192"), "recorded at 224 px")
    assert_clean_error(run_edgekit("convert", "--model", "v1-1.0-224-c120", "--weights", "imagenet", "--out",
                                   str(tmp_path / "m")), "120-class head")
    assert_clean_error(run_edgekit("study", "v3-ablations", "--models", "v2", "--calib", str(tmp_path),
                                   "--out", str(tmp_path / "s")), "MobileNetV3's")
    assert not (tmp_path / "m").exists() and not (tmp_path / "s").exists()


@pytest.mark.slow
def test_shufflenet_converts_and_maps(calib_dir, tmp_path):
    """ShuffleNet's grouped convolutions stay grouped in TFLite (CONV_2D) and ONNX (Conv group=3), float matches
    Keras, int8 is judged; the Edge TPU check finds the channel shuffle's 5-D reshape, where the graph is cut."""
    import onnx

    from edgekit.run.tflite_graph import read_graph

    proc = run_edgekit("convert", "--model", "shufflenet-v1-g3-0.5-96", "--float", "--int8", "--format", "all",
                       "--ptq", "minmax", "--calib", str(calib_dir), "--calib-count", "16", "--out", str(tmp_path),
                       "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "tf2onnx's TFLite reader" in proc.stderr  # said, once
    made = {(a["format"], a["precision"]): a for a in json.loads(proc.stdout)["artifacts"]}
    assert made[("tflite", "float")]["parity"]["passed"] and made[("onnx", "float")]["parity"]["passed"]
    groups = [a.i for n in onnx.load(made[("onnx", "float")]["path"]).graph.node if n.op_type == "Conv"
              for a in n.attribute if a.name == "group"]
    assert 3 in groups
    assert "TRANSPOSE" in {op.name for op in read_graph(made[("tflite", "int8")]["path"]).ops}
    check = run_edgekit("edgetpu-check", made[("tflite", "int8")]["path"])
    assert check.returncode == 0 and "RESHAPE" in check.stdout and "more than 3 dimensions" in " ".join(check.stdout.split())


@pytest.mark.slow
def test_v3_ablations_study(calib_dir, tmp_path):
    """The study converts and times every ablation of v3-large in one session and prints the paper beside it."""
    proc = run_edgekit("study", "v3-ablations", "--models", "v3-large", "--resolution", "96", "--format", "tflite",
                       "--calib", str(calib_dir), "--calib-count", "8", "--runs", "3", "--rounds", "1", "--out",
                       str(tmp_path / "abl"), "--json", timeout=900)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    rows = {r["ablation"]: r for r in report["rows"]}
    assert set(rows) == {"as published", "origlast", "stem32", "relu"}
    assert rows["origlast"]["macs_delta"] > 0 and rows["relu"]["macs_delta"] == 0
    for row in rows.values():
        assert set(row["latency"]) == {"tflite-float", "tflite-int8"}
        assert all(lat["median_ms"] > 0 for lat in row["latency"].values())
    assert rows["origlast"]["paper"]["latency_delta_ms"] == 7 and rows["as published"]["paper"] is None
    assert report["conditions"]["cpu"] and report["conditions"]["threads"] == 1
    from rich.console import Console

    from edgekit import present

    console = Console(width=200, record=True)
    console.print(present.v3_ablations_table(report))
    text = console.export_text()
    assert "v3-large-1.0-96-origlast" in text and "+30 M MAdds" in text and "+7 ms (11% of the time)" in text
