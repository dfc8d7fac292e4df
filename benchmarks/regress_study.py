"""How often does ``edgekit regress`` cry wolf, and how often does it catch a real slowdown?

With the command line users actually type, and nothing else: each repetition takes a fresh baseline
of model A at a fixed entry path (``edgekit bench ENTRY --save-baseline base.json``: built-in
reference workloads, default sessions), then runs ``edgekit regress --baseline base.json`` twice:
once with the same file (exit 1 is a false alarm) and once after swapping in model B, about 14%
slower (exit 1 is a detection). Exit 3 (inconclusive within the session/time budget) is counted
apart: it is neither. Every run is timed and its sessions counted.

``--busy`` runs the same with a CPU-bound neighbour process pinned to the other core (the study
starts and stops it), the condition under which a fixed number of sessions slept through the same
slowdown on a noisy machine.

``--creep`` checks creep: three successive slowdowns of ~4% each, every one compared with the previous
(rolling) baseline and with a pinned release baseline (``--pinned``, taken once with
``--pinned-sessions``). None can fail the 5% threshold on its own (a 4% step is within the intervals'
width of it: such a step ends inconclusive, or within the threshold); the drift from the pinned
baseline must fail the 5% creep threshold once it passes it clearly (after two steps).

A = float v1-1.0-224, B = float v1-1.0-240 (1.148x the MACs), TFLite with random weights (latency
does not depend on the weight values), 1 thread.

Creep ladder: a resolution ladder (v1-0.5-384 -> 392 -> 400 -> 408, 4% more MACs a step) is not 4% a
step in time: XNNPACK's latency moves in chunks (measured in one interleaved run: 9.98, 9.60, 10.17,
10.66 ms; ONNX Runtime alike). Time is linear in the number of identical layers, so the ladder is a stack
of 25, 26, 27 and 28 identical MobileNet blocks after a small stem (3x3 depthwise + 1x1 pointwise + ReLU6 at 28x28x128,
seeded weights, float TFLite): +4.0%, +3.8%, +3.7% a step, +12% in all.

Run: .venv/bin/python benchmarks/regress_study.py [--reps 20] [--busy]
     [--creep [--creep-step 1] [--pinned-sessions 20] [--creep-max-sessions 16]] [--out models/regress-study]
     [--json benchmarks/results/regress_study.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgekit.environment import conditions  # noqa: E402

EDGEKIT = [sys.executable, "-m", "edgekit.cli"]
MODELS = {"a": "v1-1.0-224", "b": "v1-1.0-240"}
CREEP_START = 25  # blocks in the first file of the ladder


def block_stack(out: Path, blocks: int) -> Path:
    """A float TFLite file of ``blocks`` identical MobileNet blocks: latency linear in ``blocks``."""
    path = out / "creep-ladder" / f"blocks-{blocks}.tflite"
    if path.is_file():
        return path
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((112, 112, 3), batch_size=1)  # an RGB image, as bench feeds
    x = tf.keras.layers.Conv2D(128, 4, strides=4)(inputs)  # a small stem to 28x28x128
    for _ in range(blocks):
        x = tf.keras.layers.DepthwiseConv2D(3, padding="same")(x)
        x = tf.keras.layers.Conv2D(128, 1)(x)
        x = tf.keras.layers.ReLU(6.0)(x)
    model = tf.keras.Model(inputs, x)
    data = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def ensure(out: Path, model: str) -> Path:
    path = out / model / "tflite-float.tflite"
    if not path.is_file():
        subprocess.run(EDGEKIT + ["convert", "--model", model, "--weights", "none", "--float", "--out", str(out)],
                       check=True, stdout=subprocess.DEVNULL)
    return path


def edgekit(*args: str) -> tuple[int, float, dict | None]:
    start = time.perf_counter()
    done = subprocess.run(EDGEKIT + list(args) + ["--json"], capture_output=True, text=True)
    try:
        data = json.loads(done.stdout) if done.stdout.strip() else None
    except ValueError:
        data = None
    if done.returncode not in (0, 1, 3):
        raise SystemExit(f"edgekit {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.returncode, time.perf_counter() - start, data


class Neighbour:
    """A CPU-bound process pinned to the last core, for the busy condition."""

    def __init__(self):
        core = max(os.sched_getaffinity(0))
        self.proc = subprocess.Popen(["taskset", "-c", str(core), sys.executable, "-c", "while True: pass"])
        self.core = core

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def detection_study(out: Path, reps: int, busy: bool) -> dict:
    models = {k: ensure(out, m) for k, m in MODELS.items()}
    work = out / ("busy" if busy else "quiet")
    work.mkdir(parents=True, exist_ok=True)
    entry = work / "model.tflite"  # one entry path; the file behind it changes
    neighbour = Neighbour() if busy else None
    runs = []
    try:
        for rep in range(1, reps + 1):
            shutil.copyfile(models["a"], entry)
            base = work / f"base-{rep}.json"
            code, base_s, _ = edgekit("bench", str(entry), "--save-baseline", str(base), "--no-record")
            assert code == 0, f"baseline run failed ({code})"
            row = {"rep": rep, "baseline_s": round(base_s, 1)}
            for case, model in (("same", "a"), ("slower", "b")):
                shutil.copyfile(models[model], entry)
                code, seconds, report = edgekit("regress", "--baseline", str(base))
                r = report["rows"][0]
                row[case] = {"exit": code, "seconds": round(seconds, 1), "verdict": r["verdict"],
                             "ratio": r["ratio"], "low": r["low"], "high": r["high"],
                             "sessions": r["sessions"]["candidate"], "looks": report.get("looks_taken")}
            runs.append(row)
            print(f"{'busy' if busy else 'quiet'} rep {rep:2d}: same {row['same']['ratio']:.3f} "
                  f"[{row['same']['low']:.3f}, {row['same']['high']:.3f}] {row['same']['verdict']} "
                  f"({row['same']['sessions']} sessions, {row['same']['seconds']} s); slower "
                  f"{row['slower']['ratio']:.3f} [{row['slower']['low']:.3f}, {row['slower']['high']:.3f}] "
                  f"{row['slower']['verdict']} ({row['slower']['sessions']} sessions, {row['slower']['seconds']} s)",
                  flush=True)
    finally:
        if neighbour:
            neighbour.stop()
    seconds = sorted(r[c]["seconds"] for r in runs for c in ("same", "slower"))
    sessions = sorted(r[c]["sessions"] for r in runs for c in ("same", "slower"))
    return {
        "condition": "busy neighbour on the other core" if busy else "quiet", "reps": len(runs),
        "same_flagged": sum(r["same"]["exit"] == 1 for r in runs),
        "same_inconclusive": sum(r["same"]["exit"] == 3 for r in runs),
        "slower_flagged": sum(r["slower"]["exit"] == 1 for r in runs),
        "slower_inconclusive": sum(r["slower"]["exit"] == 3 for r in runs),
        "regress_seconds": {"median": seconds[len(seconds) // 2], "max": seconds[-1]},
        "sessions": {"median": sessions[len(sessions) // 2], "max": sessions[-1]},
        "runs": runs,
    }


def creep_study(out: Path, step: int, pinned_sessions: int, max_sessions: int) -> dict:
    """25 -> 25 + step -> ... (three steps), each a rolling baseline; the pinned one must catch the sum.

    The pinned (release) baseline is taken once, so it can afford more sessions than a rolling one
    (``--pinned-sessions``); each regress may spend ``--creep-max-sessions``: a step of ~4% against a 5%
    threshold never decides, so every step spends them all, and the drift from the pinned baseline gets
    the narrower interval they buy.
    """
    CREEP = [CREEP_START + i * step for i in range(4)]
    paths = [block_stack(out, n) for n in CREEP]
    work = out / f"creep-{step}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    entry = work / "model.tflite"
    shutil.copyfile(paths[0], entry)
    pinned = work / "pinned.json"
    code, _, _ = edgekit("bench", str(entry), "--save-baseline", str(pinned), "--sessions", str(pinned_sessions),
                         "--no-record")
    assert code == 0
    base = pinned
    steps = []
    for i, path in enumerate(paths[1:], start=1):
        shutil.copyfile(path, entry)
        nxt = work / f"base-{i}.json"
        code, seconds, report = edgekit("regress", "--baseline", str(base), "--pinned", str(pinned),
                                        "--max-sessions", str(max_sessions), "--save-candidate", str(nxt))
        r = report["rows"][0]
        steps.append({"step": i, "model": f"{CREEP[i]} blocks", "exit": code, "verdict": r["verdict"], "ratio": r["ratio"],
                      "interval": [r["low"], r["high"]], "creep": r.get("creep"), "seconds": round(seconds, 1),
                      "sessions": r["sessions"]})
        print(f"creep step {i} ({CREEP[i]} blocks): vs previous {r['ratio']:.3f} [{r['low']:.3f}, {r['high']:.3f}] "
              f"{r['verdict']}; vs pinned {(r.get('creep') or {}).get('ratio', float('nan')):.3f} "
              f"[{(r.get('creep') or {}).get('low', float('nan')):.3f}, "
              f"{(r.get('creep') or {}).get('high', float('nan')):.3f}] {(r.get('creep') or {}).get('verdict')}; "
              f"exit {code}, {r['sessions']['candidate']} sessions, {seconds:.0f} s", flush=True)
        base = nxt
    return {"models": [f"{n} identical MobileNet blocks, 28x28x128, float TFLite" for n in CREEP],
            "pinned_sessions": pinned_sessions, "max_sessions": max_sessions, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--busy", action="store_true", help="with a CPU-bound neighbour on the other core")
    parser.add_argument("--creep", action="store_true", help="the 3 x 4%% creep against the oldest baseline")
    parser.add_argument("--creep-step", type=int, default=1, help="blocks added per creep step (1: ~4%%)")
    parser.add_argument("--pinned-sessions", type=int, default=20, help="sessions of the pinned creep baseline")
    parser.add_argument("--creep-max-sessions", type=int, default=16, help="--max-sessions of each creep regress")
    parser.add_argument("--out", type=Path, default=Path("models/regress-study"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = conditions(sys.argv)
    if args.creep:
        result["creep"] = creep_study(args.out, args.creep_step, args.pinned_sessions, args.creep_max_sessions)
    else:
        result["detection"] = detection_study(args.out, args.reps, args.busy)
        summary = {k: v for k, v in result["detection"].items() if k != "runs"}
        print(json.dumps(summary, indent=1))
    if args.json:
        old = json.loads(args.json.read_text()) if args.json.is_file() else {}
        budget = ("" if (args.pinned_sessions, args.creep_max_sessions) == (20, 16)
                  else f"-pinned{args.pinned_sessions}-max{args.creep_max_sessions}")
        key = (f"creep-{args.creep_step}{budget}" if args.creep else ("busy" if args.busy else "quiet"))
        old[key] = {**{k: v for k, v in result.items() if k not in ("detection", "creep")},
                    **(result.get("detection") or result.get("creep"))}
        args.json.write_text(json.dumps(old, indent=1) + "\n")


if __name__ == "__main__":
    main()
