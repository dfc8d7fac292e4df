"""Is `edgekit bench` measuring the model, or itself? Its median against a bare invoke loop.

For each model file, alternate R times: a bare loop in a fresh process (LiteRT:
``interpreter.invoke()`` after one ``set_tensor``; ONNX Runtime: ``session.run`` on a fixed feed)
and ``edgekit bench`` (worker process, same threads, same number of runs). The ratio of the
medians of the per-round medians should be within 3% of 1.

Run: .venv/bin/python benchmarks/harness_overhead.py MODEL.tflite [MODEL.onnx ...] [--threads 1] [--rounds 5]
Pin a core for steadier numbers: taskset -c 1 .venv/bin/python benchmarks/harness_overhead.py ...
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from edgekit.measure.bench import BenchOptions, bench

BARE = r"""
import json, sys, time
import numpy as np
path, threads, warmup, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(0)
if path.endswith(".tflite"):
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=path, num_threads=threads)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    x = rng.integers(0, 255, size=d["shape"]).astype(d["dtype"]) if d["dtype"] != np.float32 else \
        rng.uniform(-1, 1, size=d["shape"]).astype(np.float32)
    it.set_tensor(d["index"], x)
    step = it.invoke
else:
    import onnxruntime as ort
    o = ort.SessionOptions(); o.intra_op_num_threads = threads; o.inter_op_num_threads = 1
    s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    i = s.get_inputs()[0]
    feed = {i.name: rng.uniform(-1, 1, size=[d if isinstance(d, int) else 1 for d in i.shape]).astype(np.float32)}
    step = lambda: s.run(None, feed)
for _ in range(warmup):
    step()
samples = []
for _ in range(runs):
    t = time.perf_counter_ns(); step(); samples.append((time.perf_counter_ns() - t) / 1e6)
print(json.dumps(float(np.median(samples))))
"""


def bare_median(path: Path, threads: int, warmup: int, runs: int) -> float:
    out = subprocess.run([sys.executable, "-c", BARE, str(path), str(threads), str(warmup), str(runs)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def in_process(path: Path, threads: int, blocks: int = 40, runs: int = 50) -> tuple[float, float]:
    """Same interpreter, same process: blocks of a bare loop and of edgekit's timing loop, alternating.

    Machine drift hits both alike, so what is left is the harness's own cost per run.
    """
    import time

    import numpy as np

    from edgekit.run.timing import time_runs
    from edgekit.run.runtime import open_runtime

    with open_runtime(path, threads=threads) as rt:
        info = rt.inputs[0]
        rt.prepare(np.zeros(info.shape, info.dtype))
        for _ in range(20):
            rt.invoke()
        if hasattr(rt, "_interp"):  # LiteRT: the interpreter's own invoke
            raw = rt._interp.invoke
        else:  # ONNX Runtime: a plain session.run on a fixed feed
            feed = {info.name: np.zeros(info.shape, info.dtype)}
            raw = lambda: rt._session.run(None, feed)  # noqa: E731
        bare, ours = [], []
        for _ in range(blocks):
            for _ in range(runs):
                t = time.perf_counter_ns()
                raw()
                bare.append((time.perf_counter_ns() - t) / 1e6)
            ours += time_runs(rt.invoke, runs)
    return float(np.median(bare)), float(np.median(ours))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    failed = False
    for path in args.models:
        bare, ours = [], []
        for _ in range(args.rounds):
            bare.append(bare_median(path, args.threads, args.warmup, args.runs))
            results, errors = bench([path], BenchOptions.build(threads=args.threads, warmup=args.warmup, runs=args.runs,
                                                         min_time=0, rounds=1))
            if errors:
                raise SystemExit(errors[0])
            ours.append(results[0]["median_ms"])
        b, o = statistics.median(bare), statistics.median(ours)
        paired = statistics.median(x / y for x, y in zip(ours, bare))
        ib, io = in_process(path, args.threads)
        ratio = io / ib
        ok = abs(ratio - 1) <= 0.03
        failed |= not ok
        print(f"{path.name} ({args.threads} thread(s)):\n"
              f"  same process, alternating blocks: bare invoke {ib:.3f} ms, edgekit timing loop {io:.3f} ms, "
              f"ratio {ratio:.3f} ({'within' if ok else 'OUTSIDE'} 3%)\n"
              f"  separate processes, {args.rounds} alternating rounds of {args.runs} runs after {args.warmup} "
              f"warm-ups: bare {b:.3f} ms, edgekit bench {o:.3f} ms, paired ratio {paired:.3f} (machine drift included)")
        print(f"    bare rounds  {[round(x, 3) for x in bare]}\n    bench rounds {[round(x, 3) for x in ours]}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
