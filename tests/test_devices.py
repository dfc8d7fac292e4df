"""Devices: profiles, and the whole SSH path against a real sshd on 127.0.0.1 (tests/sshd.py)."""

from __future__ import annotations

import io
import json
import os
import sqlite3
from pathlib import Path

import pytest

import sshd
from conftest import assert_clean_error, run_edgekit
from edgekit.devices import DeviceError, get_device, load_profiles
from edgekit.devices import remote
from edgekit.measure.bench import BenchOptions, bench

QUICK = dict(warmup=1, runs=4, min_time=0.0, rounds=1)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = sshd.start(tmp_path_factory.mktemp("sshd"))
    yield srv
    sshd.stop(srv)


def profiles_from(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "edgekit.toml"
    path.write_text(text)
    return load_profiles([path])


@pytest.fixture
def pi(server, tmp_path, monkeypatch):
    """A device file with the test Pi; EDGEKIT_DEVICES points at it (for the API and the CLI)."""
    path = tmp_path / "devices.toml"
    path.write_text(server.profile("testpi", cache=str(tmp_path / "cache")))
    monkeypatch.setenv("EDGEKIT_DEVICES", str(path))
    return tmp_path / "cache"


def test_builtin_profiles_are_data():
    profiles = load_profiles([])
    assert {"host", "rpi4", "edgetpu"} <= set(profiles)
    assert profiles["rpi4"].threads == 4 and profiles["rpi4"].remote
    assert profiles["edgetpu"].delegate == "libedgetpu.so.1" and not profiles["edgetpu"].remote


def test_user_file_overrides_and_adds(tmp_path):
    profiles = profiles_from(tmp_path, '[devices.rpi4]\nssh = "me@10.0.0.7:2222"\n[devices.lab]\nthreads = 2\n')
    assert str(profiles["rpi4"].ssh) == "me@10.0.0.7:2222" and profiles["rpi4"].threads == 4  # rest kept
    assert profiles["lab"].threads == 2 and not profiles["lab"].remote


@pytest.mark.parametrize("text, fragment", [
    ('[devices.x]\nssh = "pi@bad host"\n', "malformed ssh host"),
    ('[devices.x]\nssh = "pi@host:99999"\n', "malformed ssh host"),
    ('[devices.x]\nthreds = 4\n', "unknown field(s) threds"),
    ('[devices.x]\nruntimes = ["tensorrt"]\n', "unknown runtime(s) tensorrt"),
    ('[devices.x\n', "not valid TOML"),
])
def test_bad_profiles_fail_with_one_line(tmp_path, text, fragment):
    with pytest.raises(DeviceError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        profiles_from(tmp_path, text)


def test_unknown_device_and_malformed_host_from_the_cli(coral):
    model = str(coral / "mobilenet_v1_0.25_128_quant.tflite")
    assert_clean_error(run_edgekit("bench", model, "--device", "rpi5"), "unknown device 'rpi5'", "rpi4")
    assert_clean_error(run_edgekit("bench", model, "--device", "rpi4", "--host", "pi@@x"), "malformed ssh host")


def test_no_pi_is_a_clear_error_not_host_numbers(coral, tmp_path):
    """rpi4's default host does not resolve here: say how to configure it, never time the host."""
    out = run_edgekit("bench", str(coral / "mobilenet_v1_0.25_128_quant.tflite"), "--device", "rpi4",
                      env={"EDGEKIT_DEVICES": str(tmp_path / "none.toml")})
    assert_clean_error(out, "device 'rpi4' unreachable", "--host user@host[:port]", "edgekit.toml")


def test_remote_bench_copies_runs_and_records_the_devices_fingerprint(server, pi, coral, tmp_path):
    model = coral / "mobilenet_v1_0.25_128_quant.tflite"
    results, errors = bench([model], BenchOptions.build(device="testpi", **QUICK))
    assert not errors, errors
    (r,) = results
    assert r["device"] == "testpi" and r["device_reach"].startswith("ssh ") and r["staging"] == "copied"
    assert r["environment"]["hostname"] == sshd.DEVICE_HOSTNAME  # the device's fingerprint, not ours
    assert r["threads"] == 1 and r["runs"] >= 4 and r["median_ms"] > 0
    cached = list(pi.iterdir())
    assert [p.name for p in cached] == [f"{r['artifact_sha256']}.tflite"]
    assert cached[0].read_bytes() == model.read_bytes()
    mtime = cached[0].stat().st_mtime_ns
    again, errors = bench([model], BenchOptions.build(device="testpi", **QUICK))
    assert not errors and again[0]["staging"] == "cached"  # same bytes: not copied again
    assert cached[0].stat().st_mtime_ns == mtime


def test_cli_records_remote_results_with_the_device_fingerprint(server, pi, coral, tmp_path):
    db = tmp_path / "r.db"
    out = run_edgekit("bench", str(coral / "mobilenet_v1_0.25_128_quant.tflite"), "--device", "testpi",
                      "--runs", "3", "--rounds", "1", "--warmup", "1", "--min-time", "0", "--db", str(db), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["results"][0]["device"] == "testpi"
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT * FROM results").fetchall()
        names = [d[0] for d in con.execute("SELECT * FROM results").description]
    assert len(rows) == 1
    stored = dict(zip(names, rows[0]))
    assert sshd.DEVICE_HOSTNAME in json.dumps(stored)


def test_devices_lists_reachability(server, pi):
    out = run_edgekit("devices", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)["devices"]}
    assert rows["testpi"]["reachable"] is True and "edgekit 0.2.0" in rows["testpi"]["reason"]
    assert rows["host"]["reachable"] is True
    assert rows["edgetpu"]["reachable"] is False and "libedgetpu.so.1" in rows["edgetpu"]["reason"]


def device(server, tmp_path, **fields):
    return get_device("testpi", profiles=profiles_from(tmp_path, server.profile("testpi", **fields)))


def test_unreachable_host(server, tmp_path):
    dead = device(server, tmp_path, ssh=f"{server.user}@127.0.0.1:{sshd.free_port()}")
    with pytest.raises(DeviceError, match="connection refused.*--host user@host"):
        dead.check()


def test_auth_failure(server, tmp_path):
    stranger = sshd.keygen(tmp_path / "stranger")
    config = tmp_path / "cfg"
    config.write_text(server.client_config.read_text().replace(str(server.user_key), str(stranger)))
    with pytest.raises(DeviceError, match="authentication failed"):
        device(server, tmp_path, ssh_options=["-F", str(config)]).check()


def test_unknown_host_key_is_refused_not_accepted(server, tmp_path):
    """Host-key checking stays on: an unknown server is an error unless the profile says accept-new."""
    (tmp_path / "empty_known_hosts").write_text("")
    config = tmp_path / "cfg"
    config.write_text(server.client_config.read_text().replace(str(server.root / "known_hosts"),
                                                                str(tmp_path / "empty_known_hosts")))
    with pytest.raises(DeviceError, match="host key unknown or changed"):
        device(server, tmp_path, ssh_options=["-F", str(config)]).check()
    accepted = device(server, tmp_path, ssh_options=["-F", str(config)], host_key_checking="accept-new")
    assert accepted.check()["environment"]["hostname"] == sshd.DEVICE_HOSTNAME


def test_remote_without_edgekit(server, tmp_path):
    bare = tmp_path / "bare-python"  # a Python that has no edgekit: isolated mode, no site-packages
    bare.write_text(f"#!/bin/sh\nexec {os.path.realpath(os.sys.executable)} -I -S \"$@\"\n")
    bare.chmod(0o755)
    with pytest.raises(DeviceError, match="has no edgekit.*pip install edgekit.*no TensorFlow"):
        device(server, tmp_path, python=str(bare)).check()


def test_remote_with_an_old_edgekit(server, tmp_path):
    """An edgekit from before the device side (no edgekit.devices) is told to upgrade."""
    old = tmp_path / "old" / "edgekit"
    old.mkdir(parents=True)
    (old / "__init__.py").write_text('__version__ = "0.1.0"\n')
    wrapper = tmp_path / "old-python"
    # -S: no site-packages, so only the old package is importable (as on a board never upgraded)
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={old.parent} exec {os.sys.executable} -S \"$@\"\n")
    wrapper.chmod(0o755)
    with pytest.raises(DeviceError, match=r"too old.*edgekit>=0\.2\.0"):
        device(server, tmp_path, python=str(wrapper)).check()


def test_remote_error_comes_back_as_one_line(server, pi, coral, tmp_path):
    broken = tmp_path / "broken.tflite"
    broken.write_bytes((coral / "mobilenet_v1_0.25_128_quant.tflite").read_bytes()[:5000])
    results, errors = bench([broken], BenchOptions.build(device="testpi", **QUICK))
    assert results == [] and len(errors) == 1
    assert errors[0].startswith("broken.tflite:") and "LiteRT cannot load" in errors[0]


def test_too_big_for_the_device_cache_copies_nothing(server, coral, tmp_path):
    small = device(server, tmp_path, cache=str(tmp_path / "cache"), cache_limit_mb=0.1)
    with pytest.raises(DeviceError, match="more than its cache limit of 0.1 MiB"):
        small.stage(coral / "mobilenet_v1_0.25_128_quant.tflite")
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


def test_device_side_refuses_a_damaged_copy_and_leaves_nothing(tmp_path):
    data = b"TFL3" * 1000
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(ValueError, match="arrived damaged"):
        remote.receive(str(tmp_path), sha, ".tflite", len(data), None, io.BytesIO(data[:1500]))  # dropped link
    with pytest.raises(ValueError, match="cache limit"):
        remote.receive(str(tmp_path), sha, ".tflite", len(data), 0.001, io.BytesIO(data))
    assert list(tmp_path.iterdir()) == []
    path = remote.receive(str(tmp_path), sha, ".tflite", len(data), None, io.BytesIO(data))
    assert path.read_bytes() == data and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_inputs_folder_is_refused_for_a_remote_device(server, pi, coral, eval_dir):
    with pytest.raises(Exception, match="--inputs names a folder on this machine"):
        bench([coral / "mobilenet_v1_0.25_128_quant.tflite"], BenchOptions.build(device="testpi", inputs=str(eval_dir)))


def test_latency_fit_over_ssh_is_the_devices_and_estimates_for_it(server, pi, calib_dir, tmp_path):
    """estimate --fit --device D profiles the suite on D (copied over real SSH, timed by the device's worker);
    the fit is keyed and fingerprinted by D, and 'estimate --device D' then answers from it."""
    db = tmp_path / "fit.db"
    out = run_edgekit("estimate", "--fit", "--device", "testpi", "--suite", "v1-0.25-128,v1-0.25-160", "--hold-out",
                      "160", "--calib", str(calib_dir), "--work", str(tmp_path / "work"), "--runs", "2", "--rounds", "1",
                      "--db", str(db), "--json", timeout=900)
    assert out.returncode == 0, out.stderr
    fits = json.loads(out.stdout)["fits"]
    assert {f["device"] for f in fits} == {"testpi"} and len(fits) == 4
    cached = {p.suffix for p in pi.iterdir()}
    assert cached == {".tflite", ".onnx"}  # every artifact went to the device's cache
    got = run_edgekit("estimate", "v1-0.5-192", "--device", "testpi", "--db", str(db), "--json")
    assert got.returncode == 0, got.stderr
    answer = json.loads(got.stdout)
    assert answer["fit"]["device"] == "testpi" and answer["estimates"][0]["estimated_ms"] > 0
    assert_clean_error(run_edgekit("estimate", "v1-0.5-192", "--db", str(db)), "'host'", "estimate --fit")
