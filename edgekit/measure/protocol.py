"""The benchmark worker's protocol: typed requests and answers, one JSON line each, versioned.

The host side (``measure.bench``, ``measure.ledger``) and the worker (``measure.worker``, locally or
behind ``ssh`` on a board) agree through these records only: a request carries its command and the
protocol version (``devices.wire.PROTOCOL``), and a worker of another version refuses it in one line
instead of misreading it. Adding a field is adding it here, on both sides at once.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import ClassVar

from edgekit.devices.wire import PROTOCOL
from edgekit.errors import EdgekitError


class ProtocolError(EdgekitError):
    """A line the other side of the worker protocol cannot take."""


@dataclass(frozen=True, kw_only=True)
class Request:
    cmd: ClassVar[str] = ""


@dataclass(frozen=True, kw_only=True)
class Load(Request):
    """Open the artifact with its runtime, prepare inputs, time the first run."""
    cmd = "load"
    artifact: str
    runtime: str | None = None
    threads: int = 1
    batch: int = 1
    options: dict = field(default_factory=dict)  # the runtime's own (xnnpack, optimization, delegate)
    inputs: str | None = None  # an image folder on the worker's machine; default random images
    preprocess: str | None = None
    sidecar: dict | None = None  # our sidecar's model preprocessing and input record, for a device without it
    crop: float = 0.875
    seed: int = 0


@dataclass(frozen=True, kw_only=True)
class Time(Request):
    """Time ``runs`` invocations (at least ``min_seconds``), after ``rewarm`` untimed ones."""
    cmd = "time"
    runs: int
    min_seconds: float = 0.0
    rewarm: int = 0


@dataclass(frozen=True, kw_only=True)
class Profile(Request):
    """Per-op times of an artifact (``run.op_profile``)."""
    cmd = "profile"
    artifact: str
    runtime: str
    threads: int = 1
    runs: int = 30
    rounds: int = 3
    xnnpack: bool = True
    optimization: str = "all"


@dataclass(frozen=True, kw_only=True)
class Finish(Request):
    """Report the peak RSS and end."""
    cmd = "finish"


REQUESTS: dict[str, type[Request]] = {cls.cmd: cls for cls in (Load, Time, Profile, Finish)}


@dataclass(frozen=True, kw_only=True)
class Loaded:
    init_ms: float
    first_ms: float
    baseline_rss_mb: float
    io: dict
    inputs: str
    preprocessing: dict
    environment: dict


@dataclass(frozen=True, kw_only=True)
class Timed:
    samples_ms: list


@dataclass(frozen=True, kw_only=True)
class Profiled:
    ops: list
    method: str
    whole_ms: float
    sum_ms: float
    gap_pct: float
    runtime: str
    runtime_version: str
    environment: dict
    extra: dict = field(default_factory=dict)  # what a runtime's profiler adds (overheads, kernels)

    def as_dict(self) -> dict:
        """Every figure flat, the profiler's extras beside the common ones."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if k != "extra"}
        return {**out, **self.extra}


@dataclass(frozen=True, kw_only=True)
class Finished:
    peak_rss_mb: float


ANSWERS: dict[str, type] = {"load": Loaded, "time": Timed, "profile": Profiled, "finish": Finished}


def encode_request(request: Request) -> str:
    return json.dumps({"protocol": PROTOCOL, "cmd": request.cmd, **dataclasses.asdict(request)})


def decode_request(line: str) -> Request:
    """A request line as its record; a ProtocolError for another version, command or field."""
    try:
        data = json.loads(line)
    except ValueError:
        raise ProtocolError("the benchmark worker got a line that is not JSON") from None
    version = data.pop("protocol", None)
    if version != PROTOCOL:
        raise ProtocolError(f"the benchmark worker speaks protocol {PROTOCOL}, the request protocol {version}: "
                            f"install the same edgekit version on both sides")
    cls = REQUESTS.get(data.pop("cmd", None))
    if cls is None:
        raise ProtocolError(f"the benchmark worker has no command {line[:60]!r}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ProtocolError(f"the benchmark worker cannot read a {cls.cmd} request: {exc}") from None


def encode_answer(cmd: str, answer) -> dict:
    return {"ok": True, **dataclasses.asdict(answer)}


def decode_answer(cmd: str, data: dict):
    """An answer dict (``ok`` already removed) as its record."""
    cls = ANSWERS[cmd]
    names = {f.name for f in dataclasses.fields(cls)}
    if cls is Profiled:
        known = {k: v for k, v in data.items() if k in names}
        known["extra"] = {**data.get("extra", {}), **{k: v for k, v in data.items() if k not in names}}
        return cls(**known)
    missing = names - set(data) - {f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING
                                   or f.default_factory is not dataclasses.MISSING}
    if missing:
        raise ProtocolError(f"the benchmark worker's {cmd} answer lacks {', '.join(sorted(missing))}")
    return cls(**{k: v for k, v in data.items() if k in names})
