"""Latency and memory of artifacts: one worker process each, timed runs interleaved in rounds.

``bench(paths, BenchOptions(...))`` is the Python API behind ``edgekit bench``. Every artifact
gets its own worker (clean peak-RSS figures; a native crash takes down the worker, not us). All
workers load first, warm up, then the timed runs are split into rounds and the artifacts take
turns, in a rotating order, so drift of a noisy machine shows up as spread between rounds
instead of as a false difference between artifacts.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from edgekit.devices import get_device
from edgekit.errors import EdgekitError
from edgekit.measure.identity import describe_artifact
from edgekit.measure.latency import spread_pct, summarize
from edgekit.run.runtime import ModelFileError
from edgekit.vocab import RUNTIMES

REWARM = 2  # untimed runs at the start of every round after the first (caches after a switch)


@dataclass(kw_only=True)
class BenchOptions:
    """How to time artifacts: runtime and threads, warm-ups, timed runs and interleaved rounds, the
    device (a profile from ``edgekit devices``) and its inputs."""

    runtime: str | None = None
    threads: int | tuple[int, ...] | None = None  # None: the device profile's (host 1, rpi4 4); several: each
    #                                               count is its own entry of the same interleaved run
    warmup: int = 10
    runs: int = 50
    min_time: float = 1.0  # seconds of timed runs per artifact, at least
    batch: int = 1
    rounds: int = 3
    device: str = "host"
    host: str | None = None  # user@host[:port] for an SSH device, instead of its profile's
    inputs: str | None = None  # image folder; default random images
    preprocess: str | None = None
    xnnpack: bool = True
    optimization: str = "all"
    delegate: str | None = None
    progress: Callable | None = None  # called with (step, total, description)


@dataclass
class _Timed:
    """The timed runs of one artifact, round by round."""

    samples: list[float] = field(default_factory=list)
    round_medians: list[float] = field(default_factory=list)
    round_sizes: list[int] = field(default_factory=list)

    def add_round(self, samples_ms: list[float]) -> None:
        self.samples.extend(samples_ms)
        self.round_medians.append(summarize(samples_ms)["median_ms"])
        self.round_sizes.append(len(samples_ms))


class WorkerError(EdgekitError):
    """The benchmark worker refused an artifact or died."""


class _Worker:
    """One worker process: JSON lines in, JSON lines out; a death becomes a WorkerError."""

    def __init__(self, command: list[str], label: str):
        self.label = label
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                      text=True, bufsize=1)

    def ask(self, cmd: str, **args) -> dict:
        try:
            self._proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            raise WorkerError(f"{self.label}: {self._death()}")
        answer = json.loads(line)
        if not answer.pop("ok"):
            error = answer["error"]
            raise WorkerError(error if error.startswith(self.label) else f"{self.label}: {error}")
        return answer

    def _death(self) -> str:
        code = self._proc.wait(timeout=30)
        self._stderr.seek(0)
        lines = [line.strip() for line in self._stderr.read().splitlines() if line.strip()]
        last = f" (last output: {lines[-1][:200]})" if lines else ""
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the benchmark worker crashed with {name}{last}"
        return f"the benchmark worker exited with status {code}{last}"

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()


def resolve_artifacts(names: list[str], models_dir: str | Path = "models") -> list[Path]:
    """Files as given; a zoo model name stands for every artifact ``edgekit convert`` wrote for it."""
    out: list[Path] = []
    for name in names:
        path = Path(name)
        if path.is_file():
            out.append(path)
            continue
        if path.suffix.lower() in RUNTIMES or "/" in name or path.exists():
            raise ModelFileError(f"model file not found: {name}")
        from edgekit.zoo.spec import parse_model

        spec = parse_model(name)  # raises a one-line error (with a suggestion) for a non-name
        found = sorted(p for p in (Path(models_dir) / spec.name).glob("*") if p.suffix in RUNTIMES)
        if not found:
            raise ModelFileError(f"no artifacts for {spec.name} under {models_dir}/: "
                                 f"run 'edgekit convert --model {spec.name}' first, or pass files")
        out.extend(found)
    return out


def _sidecar_recipe(path: Path, staged: str) -> str | None:
    """The named preprocessing of our artifact, for a device that gets the file without its sidecar."""
    if Path(staged) == Path(path):
        return None  # the worker reads the sidecar beside the file itself
    from edgekit.export.artifact import read_sidecar
    from edgekit.vocab import PREPROCESSING

    name = (((read_sidecar(path) or {}).get("model") or {}).get("preprocessing") or {}).get("name")
    return name if name in PREPROCESSING and name != "imagenet-mean-std" else None


def _runtime_options(runtime: str | None, opts: BenchOptions, delegate: str | None = None) -> dict:
    """The options of ``opts`` that ``runtime`` understands (``delegate``: the device's, if any)."""
    if runtime == "litert":
        return {"xnnpack": opts.xnnpack, **({"delegate": delegate} if delegate else {})}
    if runtime == "onnxruntime":
        return {"optimization": opts.optimization}
    return {}


def bench(paths: list[Path], opts: BenchOptions) -> tuple[list[dict], list[str]]:
    """Benchmark ``paths``; returns (results, errors). A failing artifact never stops the others."""
    counts = tuple(opts.threads) if isinstance(opts.threads, (list, tuple)) else (opts.threads,)
    if (opts.runs < 1 or opts.warmup < 0 or any((t or 1) < 1 for t in counts) or opts.batch < 1 or opts.rounds < 1
            or not counts):
        raise EdgekitError("--runs, --threads, --batch and --rounds must be >= 1 and --warmup >= 0")
    device = get_device(opts.device, host=opts.host)
    if opts.inputs and device.remote:
        raise EdgekitError(f"--inputs names a folder on this machine; on '{device.name}' the benchmark "
                           f"uses random images (leave --inputs out)")
    device.check()  # unreachable, no edgekit there, no delegate: one line before any work
    delegate = opts.delegate or device.delegate
    entries = [(path, count or device.profile.threads) for path in paths for count in dict.fromkeys(counts)]
    rounds = max(1, min(opts.rounds, opts.runs))
    per_round = math.ceil(opts.runs / rounds)
    errors: list[str] = []
    live: dict[int, dict] = {}
    timed: dict[int, _Timed] = {}  # each artifact's timing samples, apart from its result
    workers: dict[int, _Worker] = {}
    steps = len(entries) * (rounds + 2)
    step = 0
    session = uuid.uuid4().hex[:12]  # pairs results timed side by side

    def tick(description: str) -> None:
        nonlocal step
        step += 1
        if opts.progress:
            opts.progress(step, steps, description)

    try:
        for i, (path, threads) in enumerate(entries):
            entry = describe_artifact(path)
            runtime = opts.runtime or RUNTIMES.get(path.suffix.lower())
            run_options = _runtime_options(runtime, opts, delegate)
            try:
                device.admit(path)
                staged = device.stage(path)
            except EdgekitError as exc:
                errors.append(f"{path.name}: {exc}")
                step += rounds + 2
                continue
            worker = _Worker(device.worker_command(), path.name if len(counts) == 1 else f"{path.name} ({threads} thr)")
            try:
                loaded = worker.ask("load", artifact=staged, runtime=runtime, threads=threads,
                                    batch=opts.batch, options=run_options, inputs=opts.inputs,
                                    preprocess=opts.preprocess or _sidecar_recipe(path, staged))
                warm = worker.ask("time", runs=opts.warmup) if opts.warmup else {"samples_ms": []}
            except WorkerError as exc:
                errors.append(str(exc))
                worker.close()
                step += rounds + 2
                continue
            tick(f"loaded {path.name}")
            workers[i] = worker
            io = loaded["io"]
            live[i] = {**entry, "runtime": io["runtime"], "runtime_version": io["runtime_version"],
                       "device": device.name, "device_reach": device.describe()["reach"],
                       "staging": device.staged.get(str(path)), "session": session, "threads": threads, "batch": opts.batch,
                       "options": run_options, "inputs": loaded["inputs"], "preprocessing": loaded["preprocessing"],
                       "io": {k: v for k, v in io.items() if k not in ("runtime", "runtime_version")},
                       "init_ms": loaded["init_ms"], "first_ms": loaded["first_ms"],
                       "warmup": opts.warmup,
                       "warmup_mean_ms": (sum(warm["samples_ms"]) / len(warm["samples_ms"])
                                          if warm["samples_ms"] else None),
                       "baseline_rss_mb": loaded["baseline_rss_mb"], "environment": loaded["environment"]}
            timed[i] = _Timed()
        order = list(live)
        for r in range(rounds):
            turn = order[r % len(order):] + order[:r % len(order)] if order else []
            for i in turn:
                if i not in live:
                    continue
                try:
                    got = workers[i].ask("time", runs=per_round, min_seconds=opts.min_time / rounds,
                                         rewarm=REWARM if r else 0)
                except WorkerError as exc:
                    errors.append(str(exc))
                    live.pop(i)
                    continue
                timed[i].add_round(got["samples_ms"])
                tick(f"round {r + 1}/{rounds}: {entries[i][0].name}")
        results = []
        for i, entry in live.items():
            try:
                done = workers[i].ask("finish")
            except WorkerError as exc:
                errors.append(str(exc))
                continue
            tick(f"finished {entries[i][0].name}")
            samples, medians, sizes = timed[i].samples, timed[i].round_medians, timed[i].round_sizes
            stats = summarize(samples, opts.batch)
            entry.update(stats)
            entry.update(rounds=rounds, round_medians_ms=medians, spread_pct=spread_pct(medians),
                         peak_rss_mb=done["peak_rss_mb"],
                         samples_ms=[round(x, 5) for x in samples], round_sizes=sizes,
                         model_rss_mb=done["peak_rss_mb"] - entry["baseline_rss_mb"],
                         statistic=f"median of {stats['runs']} runs in {rounds} interleaved rounds "
                                   f"after {opts.warmup} warm-ups")
            results.append(entry)
        return results, errors
    finally:
        for worker in workers.values():
            worker.close()
