"""The benchmark child process: loads one artifact and times it on request.

``python -m edgekit.measure.worker`` reads one JSON command per line on stdin and answers one
JSON line on stdout. Running each artifact in its own process keeps memory figures clean and
means a native crash on a corrupt model kills the worker, not the CLI. The protocol is plain
pipes, so the same worker runs on a remote device behind ``ssh``.

Requests and answers are the typed records of ``measure.protocol`` (load, time, profile, finish),
each line carrying the protocol version.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import sys
import time

import numpy as np

from edgekit.errors import describe_failure
from edgekit.measure import protocol

IMAGES_IN_ROTATION = 8


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (the kernel's own accounting).

    Linux: VmHWM of /proc/self/status, the high-water mark of this process's own memory map.
    ``getrusage``'s ru_maxrss is no good here: Linux carries it over fork and exec, so a worker
    started by a 10 GB parent would report 10 GB.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class Worker:
    """The benchmark worker's state: one runtime, its inputs, its timings."""
    def __init__(self):
        self.runtime = None
        self.batches: list[np.ndarray] = []

    def load(self, request: protocol.Load) -> protocol.Loaded:
        """Open the artifact with its runtime, prepare inputs, time the first run; report I/O, memory and the machine."""
        artifact, runtime, threads, batch = request.artifact, request.runtime, request.threads, request.batch
        options, inputs, preprocess, crop, seed = (request.options, request.inputs, request.preprocess, request.crop,
                                                   request.seed)
        from edgekit.measure.inputs import random_pixels, recipe_for
        from edgekit.environment import fingerprint
        from edgekit.run.runtime import Classifier, import_runtime, open_runtime
        from edgekit.vocab import RUNTIMES

        name = runtime or RUNTIMES.get(os.path.splitext(artifact)[1].lower())
        import_runtime(name)  # the library's own memory belongs to the baseline, not to the model
        baseline = rss_mb()
        start = time.perf_counter()
        self.runtime = open_runtime(artifact, runtime=name, threads=threads, batch=batch, **(options or {}))
        init_ms = (time.perf_counter() - start) * 1e3
        info = self.runtime.inputs[0]
        recipe = recipe_for(artifact, info, preprocess, sidecar=request.sidecar)
        if inputs:
            from edgekit.data.dataset import list_images, spread
            from edgekit.data.images import load_batch

            pixels = load_batch(spread(list_images(inputs), IMAGES_IN_ROTATION * batch), recipe.resolution, crop)
            source = f"{len(pixels)} images from {inputs}"
        else:
            pixels = random_pixels(IMAGES_IN_ROTATION * batch, recipe.resolution, seed)
            source = f"random uint8 images (seed {seed})"
        feed = Classifier(self.runtime, recipe.apply)
        self.batches = [feed.model_input(pixels[i:i + batch]) for i in range(0, len(pixels) - batch + 1, batch)]
        self.runtime.prepare(self.batches[0])
        start = time.perf_counter()
        self.runtime.invoke()
        first_ms = (time.perf_counter() - start) * 1e3
        return protocol.Loaded(init_ms=init_ms, first_ms=first_ms, baseline_rss_mb=baseline,
                               io=self.runtime.describe(), inputs=source, preprocessing=recipe.to_dict(),
                               environment=fingerprint())

    def time(self, request: protocol.Time) -> protocol.Timed:
        """Time ``runs`` invocations (at least ``min_seconds``), after ``rewarm`` untimed ones."""
        from edgekit.run.timing import time_runs

        runs, min_seconds, rewarm = request.runs, request.min_seconds, request.rewarm
        runtime, batches = self.runtime, self.batches
        for _ in range(rewarm):
            runtime.invoke()
        if len(batches) == 1:
            samples = time_runs(runtime.invoke, runs, min_seconds)
        else:
            samples = time_runs(runtime.invoke, runs, min_seconds,
                                between=lambda i: runtime.prepare(batches[i % len(batches)]))
        return protocol.Timed(samples_ms=samples)

    def profile(self, request: protocol.Profile) -> protocol.Profiled:
        """Per-op times of ``artifact`` (``run.op_profile``), with the machine's fingerprint."""
        from edgekit.environment import fingerprint
        from edgekit.run import op_profile

        artifact, runtime, threads, runs, rounds = (request.artifact, request.runtime, request.threads, request.runs,
                                                    request.rounds)
        xnnpack, optimization = request.xnnpack, request.optimization
        if runtime == "litert":
            from edgekit.run.litert import litert_version

            out = op_profile.litert_ops(artifact, threads=threads, xnnpack=xnnpack, runs=runs, rounds=rounds)
            version = litert_version()
        else:
            import onnxruntime

            out = op_profile.ort_ops(artifact, threads=threads, optimization=optimization, runs=runs, rounds=rounds)
            version = onnxruntime.__version__
        return protocol.decode_answer("profile", {**out, "runtime": runtime, "runtime_version": version,
                                                  "environment": fingerprint()})

    def finish(self, request: protocol.Finish) -> protocol.Finished:
        """Report the peak RSS and end."""
        peak = rss_mb()
        if self.runtime is not None:
            self.runtime.close()
        return protocol.Finished(peak_rss_mb=peak)


def serve(commands, reply) -> None:
    """Answer request lines (``measure.protocol``) until ``finish`` or end of input."""
    worker = Worker()
    handlers = {"load": worker.load, "time": worker.time, "profile": worker.profile, "finish": worker.finish}
    for line in commands:
        if not line.strip():
            continue
        cmd = "request"
        try:
            request = protocol.decode_request(line)
            cmd = request.cmd
            answer = {"ok": True, **dataclasses.asdict(handlers[cmd](request))}
        except Exception as exc:  # a user error is its own line; a bug is one line naming its traceback's log
            answer = {"ok": False, "error": describe_failure(exc, f"the benchmark worker ({cmd})")}
        reply(answer)
        if cmd == "finish" or not answer["ok"]:
            return


def main() -> None:
    """Entry point of ``python -m edgekit.measure.worker``."""
    # The protocol owns the real stdout; anything native code prints goes to stderr instead.
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def reply(answer: dict) -> None:
        channel.write(json.dumps(answer) + "\n")
        channel.flush()

    serve(sys.stdin, reply)


if __name__ == "__main__":
    main()
