"""Latency and memory of artifacts: one worker process each, timed runs interleaved in rounds.

``bench(paths, BenchOptions.build(...))`` is the Python API behind ``edgekit bench``. Every artifact
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

from edgekit.devices import get_device
from edgekit.errors import EdgekitError
from edgekit.measure import protocol
from edgekit.measure.identity import describe_artifact
from edgekit.measure.latency import spread_pct, summarize
from edgekit.measure.options import BenchOptions
from edgekit.run.runtime import ModelFileError
from edgekit.vocab import RUNTIMES

__all__ = ["BenchOptions", "WorkerError", "bench", "resolve_artifacts"]

REWARM = 2  # untimed runs at the start of every round after the first (caches after a switch)


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


class Worker:
    """One worker process: typed requests in, typed answers out (``measure.protocol``); a death becomes a
    WorkerError."""

    def __init__(self, command: list[str], label: str):
        self.label = label
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                      text=True, bufsize=1)

    def ask(self, request: protocol.Request):
        """Send ``request``; returns the worker's typed answer (``protocol.ANSWERS``)."""
        try:
            self._proc.stdin.write(protocol.encode_request(request) + "\n")
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
        return protocol.decode_answer(request.cmd, answer)

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
        if path.exists() and not path.is_file():
            kind = "a folder" if path.is_dir() else "not a regular file (a pipe, socket or device)"
            raise ModelFileError(f"{name} is {kind}: give a .tflite or .onnx model file")
        if path.is_symlink():
            raise ModelFileError(f"{name} is a symbolic link to nothing (broken or looping)")
        if path.suffix.lower() in RUNTIMES or "/" in name:
            raise ModelFileError(f"model file not found: {name}")
        from edgekit.zoo.spec import parse_model

        spec = parse_model(name)  # raises a one-line error (with a suggestion) for a non-name
        found = sorted(p for p in (Path(models_dir) / spec.name).glob("*") if p.suffix in RUNTIMES)
        if not found:
            raise ModelFileError(f"no artifacts for {spec.name} under {models_dir}/: "
                                 f"run 'edgekit convert --model {spec.name}' first, or pass files")
        out.extend(found)
    return out


def _sidecar_part(path: Path, staged: str) -> dict | None:
    """The part of our artifact's sidecar the worker reads (its model's preprocessing and input record), for a
    device that gets the file without its sidecar: it travels in the load request instead."""
    if Path(staged) == Path(path):
        return None  # the worker reads the sidecar beside the file itself
    from edgekit.export.artifact import read_sidecar

    model = (read_sidecar(path) or {}).get("model") or {}
    pre = model.get("preprocessing")
    if not pre or "scale" not in pre:
        return None
    return {"model": {"preprocessing": pre, "input": model.get("input")}}


def _runtime_options(runtime: str | None, execution, delegate: str | None = None) -> dict:
    """The options of ``execution`` (``BenchOptions.execution``) that ``runtime`` understands (``delegate``: the
    device's, if any)."""
    if runtime == "litert":
        return {"xnnpack": execution.xnnpack, **({"delegate": delegate} if delegate else {})}
    if runtime == "onnxruntime":
        return {"optimization": execution.optimization}
    return {}


def bench(paths: list[Path], opts: BenchOptions) -> tuple[list[dict], list[str]]:
    """Benchmark ``paths``; returns (results, errors). A failing artifact never stops the others."""
    timing, execution, where = opts.timing, opts.execution, opts.where
    counts = opts.thread_counts
    if (timing.runs < 1 or timing.warmup < 0 or any((t or 1) < 1 for t in counts) or timing.batch < 1
            or timing.rounds < 1 or not counts):
        raise EdgekitError("--runs, --threads, --batch and --rounds must be >= 1 and --warmup >= 0")
    if not (math.isfinite(timing.min_time) and timing.min_time >= 0):
        raise EdgekitError(f"--min-time is seconds of timed runs, a finite number >= 0, got {timing.min_time}")
    device = get_device(where.device, host=where.host)
    if where.inputs and device.remote:
        raise EdgekitError(f"--inputs names a folder on this machine; on '{device.name}' the benchmark "
                           f"uses random images (leave --inputs out)")
    device.check()  # unreachable, no edgekit there, no delegate: one line before any work
    entries = [(path, count or device.profile.threads) for path in paths for count in dict.fromkeys(counts)]
    session = _Session(opts, device, entries)
    try:
        for i, (path, threads) in enumerate(entries):
            session.start(i, path, threads, labelled=len(counts) > 1)
        session.time_rounds()
        return session.finish(), session.errors
    finally:
        session.close()


class _Session:
    """One bench run: every entry's worker, loaded first, then timed in rotating rounds."""

    def __init__(self, opts: BenchOptions, device, entries: list[tuple[Path, int]]):
        self.opts, self.device, self.entries = opts, device, entries
        self.rounds = max(1, min(opts.timing.rounds, opts.timing.runs))
        self.per_round = math.ceil(opts.timing.runs / self.rounds)
        self.errors: list[str] = []
        self.live: dict[int, dict] = {}
        self.timed: dict[int, _Timed] = {}  # each artifact's timing samples, apart from its result
        self.workers: dict[int, Worker] = {}
        self.steps, self.step = len(entries) * (self.rounds + 2), 0
        self.id = uuid.uuid4().hex[:12]  # pairs results timed side by side

    def tick(self, description: str) -> None:
        self.step += 1
        if self.opts.progress:
            self.opts.progress(self.step, self.steps, description)

    def start(self, i: int, path: Path, threads: int, labelled: bool) -> None:
        """Load entry ``i`` in its own worker and warm it up; a refusal is an error of that entry only."""
        opts, device = self.opts, self.device
        runtime = opts.execution.runtime or RUNTIMES.get(path.suffix.lower())
        run_options = _runtime_options(runtime, opts.execution, opts.execution.delegate or device.delegate)
        try:
            identity = describe_artifact(path, opts.where.allow_modified)
            device.admit(path)
            staged = device.stage(path)
        except EdgekitError as exc:
            self.errors.append(f"{path.name}: {exc}")
            self.step += self.rounds + 2
            return
        worker = Worker(device.worker_command(), f"{path.name} ({threads} thr)" if labelled else path.name)
        try:
            loaded = worker.ask(protocol.Load(
                artifact=staged, runtime=runtime, threads=threads, batch=opts.timing.batch, options=run_options,
                inputs=opts.where.inputs, preprocess=opts.where.preprocess, sidecar=_sidecar_part(path, staged)))
            warm = worker.ask(protocol.Time(runs=opts.timing.warmup)).samples_ms if opts.timing.warmup else []
        except WorkerError as exc:
            self.errors.append(str(exc))
            worker.close()
            self.step += self.rounds + 2
            return
        self.tick(f"loaded {path.name}")
        self.workers[i] = worker
        self.live[i] = self._entry(identity, path, threads, runtime, run_options, loaded, warm)
        self.timed[i] = _Timed()

    def _entry(self, identity: dict, path: Path, threads: int, runtime, run_options: dict, loaded, warm: list) -> dict:
        io = loaded.io
        return {**identity, "runtime": io["runtime"], "runtime_version": io["runtime_version"],
                "device": self.device.name, "device_reach": self.device.describe()["reach"],
                "staging": self.device.staged.get(str(path)), "session": self.id, "threads": threads,
                "batch": self.opts.timing.batch, "options": run_options, "inputs": loaded.inputs,
                "preprocessing": loaded.preprocessing,
                "io": {k: v for k, v in io.items() if k not in ("runtime", "runtime_version")},
                "init_ms": loaded.init_ms, "first_ms": loaded.first_ms, "warmup": self.opts.timing.warmup,
                "warmup_mean_ms": sum(warm) / len(warm) if warm else None,
                "baseline_rss_mb": loaded.baseline_rss_mb, "environment": loaded.environment}

    def time_rounds(self) -> None:
        """The timed runs, split into rounds; the entries take turns in a rotating order."""
        order = list(self.live)
        for r in range(self.rounds):
            turn = order[r % len(order):] + order[:r % len(order)] if order else []
            for i in turn:
                if i not in self.live:
                    continue
                try:
                    got = self.workers[i].ask(protocol.Time(runs=self.per_round,
                                                            min_seconds=self.opts.timing.min_time / self.rounds,
                                                            rewarm=REWARM if r else 0))
                except WorkerError as exc:
                    self.errors.append(str(exc))
                    self.live.pop(i)
                    continue
                self.timed[i].add_round(got.samples_ms)
                self.tick(f"round {r + 1}/{self.rounds}: {self.entries[i][0].name}")

    def finish(self) -> list[dict]:
        results = []
        for i, entry in self.live.items():
            try:
                done = self.workers[i].ask(protocol.Finish())
            except WorkerError as exc:
                self.errors.append(str(exc))
                continue
            self.tick(f"finished {self.entries[i][0].name}")
            timed = self.timed[i]
            stats = summarize(timed.samples, self.opts.timing.batch)
            entry.update(stats)
            entry.update(rounds=self.rounds, round_medians_ms=timed.round_medians,
                         spread_pct=spread_pct(timed.round_medians), peak_rss_mb=done.peak_rss_mb,
                         samples_ms=[round(x, 5) for x in timed.samples], round_sizes=timed.round_sizes,
                         model_rss_mb=done.peak_rss_mb - entry["baseline_rss_mb"],
                         statistic=f"median of {stats['runs']} runs in {self.rounds} interleaved rounds "
                                   f"after {self.opts.timing.warmup} warm-ups")
            results.append(entry)
        return results

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()
