"""Does edgekit's ONNX Runtime session cost int8 anything against ORT's default, on this CPU?

edgekit sets ``session.x64quantprecision=1`` on x86 CPUs without VNNI or AMX, where ORT's default U8S8 kernel
saturates (``run.onnxruntime``). Set on a VNNI CPU it made int8 2.5x slower for bit-identical outputs (a Zen 5
EPYC, 2026-12-07). This times each int8 file three ways in one interleaved run, one thread: edgekit's session
(``OnnxRuntime``), ORT's default session, and ORT with the option forced. Goal: edgekit's session within 10% of
the faster of the two exact ones on this CPU (the default where it is exact, the forced option where it is not),
with outputs equal to the exact answer.

Run: .venv/bin/python benchmarks/ort_int8_kernel.py models/latency-fit/v2-1.0-224/onnx-int8.onnx ...
     [--json benchmarks/results/ort_int8_kernel.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgekit.environment import conditions  # noqa: E402
from edgekit.run.onnxruntime import EXACT_INT8_KEY, OnnxRuntime, int8_kernel  # noqa: E402


def ort_session(path: Path, forced: bool):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = 1, 1
    if forced:
        opts.add_session_config_entry(EXACT_INT8_KEY, "1")
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = conditions(sys.argv)
    result["int8_kernel"] = int8_kernel()
    rows = []
    for path in args.files:
        ours = OnnxRuntime(path, threads=1)
        shape = ours.inputs[0].shape
        x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
        ours.prepare(x)

        def edgekit_run(_x):
            ours.invoke()
            return ours.output()

        ways = {"edgekit": edgekit_run, "ort default": ort_session(path, False), "ort forced": ort_session(path, True)}
        outputs = {name: run(x) for name, run in ways.items()}
        times = {name: [] for name in ways}
        for _ in range(args.rounds):  # interleaved rounds: drift hits every way alike
            for name, run in ways.items():
                for _ in range(5):
                    run(x)
                for _ in range(args.runs):
                    start = time.perf_counter()
                    run(x)
                    times[name].append(1000 * (time.perf_counter() - start))
        medians = {name: statistics.median(t) for name, t in times.items()}
        exact = [n for n in ("ort default", "ort forced") if n == "ort forced" or result["int8_kernel"] == "exact"]
        best = min(medians[n] for n in exact)
        row = {"file": str(path), "median_ms": medians, "edgekit_over_best_exact": medians["edgekit"] / best,
               "outputs_equal_forced": bool(np.array_equal(outputs["edgekit"], outputs["ort forced"])),
               "session_config": ours.describe()["session_config"]}
        row["met"] = row["edgekit_over_best_exact"] <= 1.10 and row["outputs_equal_forced"]
        rows.append(row)
        print(f"{path.parent.name}/{path.name}: edgekit {medians['edgekit']:.3f} ms, ORT default "
              f"{medians['ort default']:.3f} ms, ORT forced U8U8 {medians['ort forced']:.3f} ms; edgekit / best exact "
              f"{row['edgekit_over_best_exact']:.2f} (goal <= 1.10), outputs equal to the exact kernel's: "
              f"{row['outputs_equal_forced']} -> {'met' if row['met'] else 'MISSED'}", flush=True)
    result["rows"] = rows
    result["statistic"] = f"median of {args.runs * args.rounds} runs in {args.rounds} interleaved rounds, 1 thread"
    print(f"{result['cpu']} ({', '.join(result['cpu_features'])}): ORT's int8 kernel here is {result['int8_kernel']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    if not all(r["met"] for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
