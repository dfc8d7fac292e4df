"""edgekit.measure.protocol: the worker's typed, versioned requests and answers, and a real worker process
refusing a request of another protocol version in one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edgekit.devices.wire import PROTOCOL
from edgekit.measure import protocol


def test_requests_round_trip_with_their_version():
    for request in (protocol.Load(artifact="m.tflite", threads=2, options={"xnnpack": False}),
                    protocol.Time(runs=5, min_seconds=0.1, rewarm=2), protocol.Finish(),
                    protocol.Profile(artifact="m.onnx", runtime="onnxruntime")):
        line = protocol.encode_request(request)
        assert json.loads(line)["protocol"] == PROTOCOL
        assert protocol.decode_request(line) == request


@pytest.mark.parametrize("line, message", [
    ('{"protocol": 999, "cmd": "time", "runs": 1}', "speaks protocol"),
    ('{"protocol": %d, "cmd": "explode"}' % PROTOCOL, "no command"),
    ('{"protocol": %d, "cmd": "time", "runs": 1, "turbo": true}' % PROTOCOL, "cannot read a time request"),
    ("not json", "not JSON"),
])
def test_bad_request_lines_are_refused(line, message):
    with pytest.raises(protocol.ProtocolError, match=message):
        protocol.decode_request(line)


def test_a_worker_of_another_version_answers_in_one_line():
    done = subprocess.run([sys.executable, "-m", "edgekit.measure.worker"], input='{"protocol": 0, "cmd": "finish"}\n',
                          capture_output=True, text=True, timeout=120)
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["ok"] is False and "speaks protocol" in answer["error"] and "\n" not in answer["error"]


def test_answers_are_checked():
    assert protocol.decode_answer("time", {"samples_ms": [1.0]}).samples_ms == [1.0]
    with pytest.raises(protocol.ProtocolError, match="lacks peak_rss_mb"):
        protocol.decode_answer("finish", {})
    profiled = protocol.decode_answer("profile", {"ops": [], "method": "m", "whole_ms": 1.0, "sum_ms": 1.0,
                                                  "gap_pct": 0.0, "runtime": "litert", "runtime_version": "2",
                                                  "environment": {}, "kernels": "xnnpack"})
    assert profiled.as_dict()["kernels"] == "xnnpack"
