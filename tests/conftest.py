"""Shared fixtures: the reference data folder and a way to run the real CLI in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest-xdist's workers are handed COLUMNS=80 / LINES=24 (the controller's terminal); the tests read what a
    # command prints into a pipe (180 columns, see edgekit.present) or set COLUMNS themselves, as a serial run does
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)


def _data_dir() -> Path:
    return Path(os.environ.get("EDGEKIT_DATA", ROOT.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = _data_dir()
    if not (path / "README.md").exists():
        if os.environ.get("CI"):  # in CI the data must be there: a skip would hide the point
            pytest.fail(f"reference data not found at {path} (CI is set): set EDGEKIT_DATA")
        pytest.skip(f"reference data not found at {path}: set EDGEKIT_DATA to the shared data folder")
    return path


@pytest.fixture(scope="session")
def v1_weights(data_dir) -> Path:
    return data_dir / "weights" / "mobilenet_2_5_128_tf.h5"


@pytest.fixture(scope="session")
def calib_dir(data_dir) -> Path:
    return data_dir / "imagenet-val" / "calib100"


@pytest.fixture(scope="session")
def eval_dir(data_dir) -> Path:
    return data_dir / "imagenet-val" / "eval300"


@pytest.fixture(scope="session")
def coral(data_dir) -> Path:
    return data_dir / "coral"


@pytest.fixture(autouse=True, scope="session")
def private_results_db(tmp_path_factory):
    """Tests never write to the user's results database."""
    path = tmp_path_factory.mktemp("db") / "results.db"
    old = os.environ.get("EDGEKIT_DB")
    os.environ["EDGEKIT_DB"] = str(path)
    yield path
    if old is None:
        os.environ.pop("EDGEKIT_DB", None)
    else:
        os.environ["EDGEKIT_DB"] = old


@pytest.fixture(scope="session")
def ours(tmp_path_factory, v1_weights, calib_dir):
    """Our exports of the real v1-0.25-128 weights: float and int8, TFLite and ONNX (made once per run)."""
    from edgekit.export.convert import ConvertOptions, convert

    out = tmp_path_factory.mktemp("ours")
    sidecars = convert(ConvertOptions.build("v1-0.25-128", weights=str(v1_weights), precisions=("float", "int8"), formats=("tflite", "onnx"),
                                      calib=str(calib_dir), calib_count=50, out=str(out)))
    return out, {(s["format"], s["precision"]): Path(s["path"]) for s in sidecars}


@pytest.fixture(scope="session")
def v3_for_edgetpu(tmp_path_factory, calib_dir):
    """v3-small int8 for the Edge TPU (uint8 I/O), hard-swish split (the default) and stock (made once)."""
    from edgekit.export.convert import ConvertOptions, convert

    out = {}
    for mode in ("split", "stock"):
        folder = tmp_path_factory.mktemp(f"etpu-{mode}")
        (sidecar,) = convert(ConvertOptions.build("v3-small-0.75-96", weights="none", precisions=("int8",), formats=("tflite",), calib=str(calib_dir),
                                            calib_count=16, check_count=4, io="uint8", out=str(folder),
                                            hswish=mode, edgetpu=True))
        out[mode] = sidecar
    return out


@pytest.fixture(scope="session")
def parrot(data_dir) -> Path:
    return data_dir / "coral" / "parrot.jpg"


def require(module: str, install: str):
    """Import ``module`` for a test that needs it: under CI a missing piece fails, elsewhere it skips."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is not installed (CI is set): {install}")
        pytest.skip(f"{module} is not installed: {install}")


# Commands that ran to exit 0 through run_edgekit in this session: with EDGEKIT_EVERY_COMMAND=1 (make test-fast)
# the session fails unless every command of the CLI is among them, so the fast subset still runs each one.
COMMANDS_RUN: set[str] = set()


def run_edgekit(*args: str, env: dict | None = None, timeout: float = 300, cwd: str | os.PathLike = ROOT
                ) -> subprocess.CompletedProcess:
    """Run ``python -m edgekit ARGS`` exactly as a user would (from ``cwd``, the repository unless given),
    capturing output."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "edgekit", *args], capture_output=True, text=True,
        env=full_env, timeout=timeout, cwd=cwd,
    )
    if done.returncode == 0:
        _ran(args)
    return done


def _ran(args) -> None:
    args = [str(a) for a in args or ()]
    words = [a for a in args[:2] if not a.startswith("-")]
    if words and "--help" not in args:
        COMMANDS_RUN.add(" ".join(words) if words[0] == "study" else words[0])


def _counting_invoke():
    """CliRunner runs (test_cli's in-process calls) count as runs of their command too."""
    from click.testing import CliRunner

    invoke = CliRunner.invoke

    def counted(self, cli, args=None, *rest, **kwargs):
        result = invoke(self, cli, args, *rest, **kwargs)
        if result.exit_code == 0 and not isinstance(args, str):
            _ran(args)
        return result

    CliRunner.invoke = counted


_counting_invoke()


def _every_command() -> set[str]:
    import click

    from edgekit.cli import cli

    names = set()
    for name, command in cli.commands.items():
        if isinstance(command, click.Group):
            names |= {f"{name} {sub}" for sub in command.commands}
        else:
            names.add(name)
    return names


# The longest files first (serial seconds on a 2-core host, 2026-12-07), so that with one worker per file
# (make test: --dist loadfile) no worker is left with a long file at the end while the other idles.
LONGEST_FIRST = ("test_detection.py", "test_user_output.py", "test_any_model.py", "test_export.py",
                 "test_quant_report.py", "test_compare.py", "test_paper_rows.py", "test_latency_model.py",
                 "test_user_model.py", "test_segmentation.py", "test_bad_input.py", "test_devices.py", "test_sweep.py")


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file keeps its own order


def pytest_testnodedown(node, error):
    """Under pytest-xdist the controller gathers the commands each worker ran (``workeroutput``)."""
    COMMANDS_RUN.update(getattr(node, "workeroutput", {}).get("edgekit_commands_run", ()))


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("EDGEKIT_EVERY_COMMAND") != "1" or exitstatus != 0 or session.config.option.collectonly:
        return
    if hasattr(session.config, "workeroutput"):  # an xdist worker: hand its share to the controller
        session.config.workeroutput["edgekit_commands_run"] = sorted(COMMANDS_RUN)
        return
    missing = sorted(_every_command() - COMMANDS_RUN)
    if missing:
        session.config.get_terminal_writer().line(
            f"EDGEKIT_EVERY_COMMAND: these commands never ran to exit 0 in this session: {', '.join(missing)}", red=True)
        session.exitstatus = 1
    else:
        session.config.get_terminal_writer().line(f"EDGEKIT_EVERY_COMMAND: all {len(COMMANDS_RUN)} commands ran")


def assert_clean_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit 2, no traceback, and one ``edgekit: error:`` line that mentions every fragment."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("edgekit: error:")]
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]
