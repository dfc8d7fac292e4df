"""How ``bench`` times artifacts, as three small records: the timing (warm-ups, runs, seconds, rounds,
batch), the execution (runtime, threads, kernels, delegate) and the device with its inputs.

Every default is ``vocab.BENCH_DEFAULTS`` (plain ``bench``) or ``vocab.REGRESS_DEFAULTS`` (paired runs
for a baseline): ``BenchOptions.build(paired=..., **fields)`` fills what is not given from the right one,
and the command line's help prints the same numbers from the same place. ``flat()`` is the plain
dict a baseline stores, ``build(**flat)`` reads it back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

from edgekit.errors import EdgekitError
from edgekit.vocab import BENCH_DEFAULTS, DEFAULT_ORT_OPTIMIZATION, REGRESS_DEFAULTS


@dataclass(frozen=True, kw_only=True)
class Timing:
    """Untimed warm-ups, then at least ``runs`` timed runs and ``min_time`` seconds, split into ``rounds``
    interleaved with the other artifacts'."""

    warmup: int = BENCH_DEFAULTS["warmup"]
    runs: int = BENCH_DEFAULTS["runs"]
    min_time: float = BENCH_DEFAULTS["min_time"]
    rounds: int = BENCH_DEFAULTS["rounds"]
    batch: int = 1


@dataclass(frozen=True, kw_only=True)
class Execution:
    """Which runtime and kernels: threads (one count, or several timed in the same run), XNNPACK or LiteRT's
    built-in kernels, ONNX Runtime's optimization level, a LiteRT delegate."""

    runtime: str | None = None  # default: from the file suffix
    threads: int | tuple[int, ...] | None = None  # None: the device profile's (host 1, rpi4 4)
    xnnpack: bool = True
    optimization: str = DEFAULT_ORT_OPTIMIZATION
    delegate: str | None = None


@dataclass(frozen=True, kw_only=True)
class Where:
    """The device (a profile from ``edgekit devices``, or ``host`` over SSH) and what goes in."""

    device: str = "host"
    host: str | None = None  # user@host[:port] for an SSH device, instead of its profile's
    inputs: str | None = None  # image folder; default random images
    preprocess: str | None = None
    allow_modified: bool = False  # measure an artifact that no longer matches its sidecar, as a foreign file


GROUPS = {"timing": Timing, "execution": Execution, "where": Where}
FIELDS = {f.name: group for group, cls in GROUPS.items() for f in dataclasses.fields(cls)}


@dataclass(frozen=True, kw_only=True)
class BenchOptions:
    """How to time artifacts (see the module)."""

    timing: Timing = field(default_factory=Timing)
    execution: Execution = field(default_factory=Execution)
    where: Where = field(default_factory=Where)
    progress: Callable | None = field(default=None, compare=False)  # called with (step, total, description)

    @classmethod
    def build(cls, *, paired: bool = False, progress: Callable | None = None, **fields) -> "BenchOptions":
        """The options from flat field names; a field given as None takes its default (``paired``: the
        baseline defaults, ``vocab.REGRESS_DEFAULTS``)."""
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise EdgekitError(f"unknown bench option(s): {', '.join(unknown)} (known: {', '.join(FIELDS)})")
        given = {**(REGRESS_DEFAULTS if paired else BENCH_DEFAULTS),
                 **{name: value for name, value in fields.items() if value is not None}}
        grouped: dict[str, dict] = {name: {} for name in GROUPS}
        for name, value in given.items():
            grouped[FIELDS[name]][name] = value
        if isinstance(grouped["execution"].get("threads"), list):
            grouped["execution"]["threads"] = tuple(grouped["execution"]["threads"])
        return cls(**{name: GROUPS[name](**values) for name, values in grouped.items()}, progress=progress)

    def flat(self) -> dict:
        """Every field by its flat name (what a baseline stores)."""
        out = {}
        for group in GROUPS:
            out.update(dataclasses.asdict(getattr(self, group)))
        if isinstance(out.get("threads"), tuple):
            out["threads"] = list(out["threads"])
        return out

    def replace(self, **fields) -> "BenchOptions":
        """A copy with some fields (by flat name) changed."""
        changes: dict[str, dict] = {}
        for name, value in fields.items():
            changes.setdefault(FIELDS[name], {})[name] = value
        return dataclasses.replace(self, **{g: dataclasses.replace(getattr(self, g), **c) for g, c in changes.items()})

    @property
    def thread_counts(self) -> tuple:
        threads = self.execution.threads
        return tuple(threads) if isinstance(threads, (list, tuple)) else (threads,)
