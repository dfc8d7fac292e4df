"""The command line as users and CI meet it: help, JSON shapes, import cost, bad input."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from edgekit.cli import cli

from conftest import ROOT, assert_clean_error, run_edgekit


def test_every_command_has_help():
    runner = CliRunner()
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0 and "models" in result.output
    for name in cli.commands:
        sub = runner.invoke(cli, [name, "--help"])
        assert sub.exit_code == 0, name
        assert "Usage" in sub.output


def test_models_json_shape():
    result = CliRunner().invoke(cli, ["models", "--json"])
    entries = json.loads(result.output)
    # v1 16, v1-conv 16, v2 30, v3 48 (with -min), MnasNet-A1 25, EfficientNet-B0 and Lite0 1 each; segmenters:
    # DeepLabv3 on the six v2 widths at 513, LR-ASPP on the two v3 widths of each size at 512; SSDLite at 320 on
    # four v1, four v2 and two widths of each v3; ShuffleNet v1 (g3) at its five widths; NASNet-A mobile
    assert len(entries) == 165
    assert sum(e.get("task") == "detection" for e in entries) == 12
    assert sum(e.get("task") == "segmentation" for e in entries) == 10
    for key in ("name", "family", "alpha", "resolution", "macs", "params", "params_folded", "published"):
        assert key in entries[0]
    v1 = next(e for e in entries if e["name"] == "v1-1.0-224")
    assert v1["params_folded"] == 4_221_032
    assert {r["source"] for r in v1["published"]} >= {"v1-paper", "tf-slim-v1"}
    assert any(e["published"] is None for e in entries)


def test_models_filters():
    result = CliRunner().invoke(cli, ["models", "--family", "v2", "--published", "--json"])
    entries = json.loads(result.output)
    assert entries and all(e["family"] == "v2" and e["published"] for e in entries)


def test_summary_json_for_v1():
    data = json.loads(CliRunner().invoke(cli, ["summary", "v1", "--json"]).output)
    assert data["name"] == "v1-1.0-224"
    assert data["params_folded"] == 4_221_032
    assert data["macs"] / 1e6 == pytest.approx(569, rel=0.01)
    first, last = data["layers"][0], data["layers"][-1]
    assert (first["type"], first["filter_shape"], first["input_size"]) == ("Conv / s2", "3x3x3x32", "224x224x3")
    assert last["type"] == "Softmax / s1"
    assert sum(layer["macs"] for layer in data["layers"]) == data["macs"]
    assert any(p["source"] == "v1-paper" and p["macs_within_1pct"] for p in data["published"])


def test_summary_table_is_readable():
    result = CliRunner().invoke(cli, ["summary", "v1-0.25-128"])
    assert result.exit_code == 0
    assert "Conv dw / s2" in result.output and "467,336" in result.output


def test_help_and_models_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from edgekit.cli import cli\n"
        "for args in (['--help'], ['models'], ['models', '--json'], ['summary', 'v3-large']):\n"
        "    assert CliRunner().invoke(cli, args).exit_code == 0, args\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx', 'onnx')]\n"
        "assert not bad, bad[:5]\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("args, fragment", [
    (["summary", "v3-smal"], "did you mean 'v3-small'?"),
    (["summary", "v2-0.6"], "no width multiplier 0.6"),
    (["summary", "v1-0.25-100"], "resolution 100 is impossible"),
    (["classify", "v1-0.25-136", "x.jpg", "--weights", "imagenet"], "no ImageNet weights"),
    (["classify", "v1-0.25-128", "x.jpg", "--weights", "missing.h5"], "weights file not found"),
])
def test_bad_input_is_one_line_and_exit_2(args, fragment):
    assert_clean_error(run_edgekit(*args), fragment)


def test_weights_of_another_architecture_via_cli(v1_weights, parrot):
    proc = run_edgekit("classify", "v2-0.35-96", str(parrot), "--weights", str(v1_weights))
    assert_clean_error(proc, "cannot load", "into v2-0.35-96")


def test_unreadable_image_via_cli(v1_weights, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"garbage")
    proc = run_edgekit("classify", "v1-0.25-128", str(bad), "--weights", str(v1_weights))
    assert_clean_error(proc, "cannot decode image")


def _help(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_every_default_the_help_states_is_the_default_it_names():
    """Numbers typed into help texts drift from the code (bench --help once said paired runs default to
    "10 sessions of 40 runs, 0.8 s, 8 rounds" while vocab had 20, 20, 0.4 and 4): each stated default is
    checked against the value the code uses, and every "[default: N]" in any command's help is accounted for."""
    import re

    from edgekit import vocab
    from edgekit.measure.options import Timing

    bench = _help("bench")
    for key, flag, unit in (("warmup", "--warmup", ""), ("runs", "--runs", ""), ("min_time", "--min-time", " s"),
                            ("rounds", "--rounds", "")):
        stated = re.search(re.escape(flag) + r" \S+ [^[]*\[default: ([\d.]+)" + re.escape(unit) +
                           r"; paired: ([\d.]+)" + re.escape(unit) + r"\]", bench)
        assert stated, (flag, bench)
        plain, paired = (float(v) for v in stated.groups())
        assert plain == vocab.BENCH_DEFAULTS[key] == getattr(Timing(), key), flag
        assert paired == vocab.REGRESS_DEFAULTS[key], flag
    sessions = re.search(r"defaults then: (\d+) sessions of (\d+) runs, ([\d.]+) s, (\d+) rounds", bench)
    assert sessions and [float(v) for v in sessions.groups()] == [
        vocab.REGRESS_SESSIONS, vocab.REGRESS_DEFAULTS["runs"], vocab.REGRESS_DEFAULTS["min_time"],
        vocab.REGRESS_DEFAULTS["rounds"]]
    regress = _help("regress")
    assert f"inconclusive [default: {vocab.REGRESS_MAX_SESSIONS}]" in regress
    assert f"may spend [default: {vocab.REGRESS_TIME_BUDGET:g}]" in regress
    assert f"per artifact [default: {vocab.REGRESS_SESSIONS}]" in bench
    # every other "[default: N]" comes from click's show_default, i.e. from the option's real default
    for name, command in cli.commands.items():
        for param in getattr(command, "params", []):
            text = param.help or "" if hasattr(param, "help") else ""
            for number in re.findall(r"\[default: (\d[\d.]*)", text):
                assert param.name in ("warmup", "runs", "min_time", "rounds", "max_sessions", "time_budget", "sessions"), \
                    f"{name} --{param.name} types a default ({number}) into its help: take it from vocab"


def test_convert_and_bench_help_come_in_the_sections_a_user_thinks_in():
    convert = CliRunner().invoke(cli, ["convert", "--help"]).output
    sections = [line.rstrip(":") for line in convert.splitlines() if line and not line.startswith(" ") and
                line.endswith(":")]
    assert sections == ["Source (which model)", "Output (precisions, formats, where)", "Calibration and check images",
                        "Quantization (what int8 means)", "Quality gate", "Other options"], sections
    assert convert.index("  --calib PATH") > convert.index("Calibration and check images")
    assert convert.index("--max-drop") > convert.index("Quality gate")
    bench = CliRunner().invoke(cli, ["bench", "--help"]).output
    assert bench.index("Timing:") < bench.index("--runs") < bench.index("Execution:") < bench.index("--threads")


def test_summary_of_every_family_table_and_json():
    """`summary` once failed with KeyError 'normalize' on EfficientNet-B0 (its input Normalization layer)."""
    from edgekit.zoo.families import FAMILIES

    for family in FAMILIES:
        for args in ((family,), (family, "--json")):
            result = CliRunner().invoke(cli, ["summary", *args], terminal_width=160)
            assert result.exit_code == 0, (family, result.output, result.exception)
    table = CliRunner().invoke(cli, ["summary", "efficientnet-b0"], terminal_width=160).output
    assert "Normalize" in table
