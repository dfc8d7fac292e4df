"""Where the time goes, and is int8 faster than float here? Ledgers, int8/float ratios, thread scaling.

For v1-0.25-128 (the real ImageNet weights), v1-1.0-224, v2-1.0-224, v3-small and v3-large (seeded random
weights: latency does not depend on weight values), float and int8, TFLite and ONNX:

1. one interleaved ``edgekit bench`` run at 1 thread with every artifact and Google's int8 twins
   (v1-0.25-128, v2-1.0-224): medians, int8/float per runtime, ours/Google's;
2. the same artifacts at 1 and 2 threads in one interleaved run: speed-up per thread;
3. ``edgekit profile`` ledgers of v1-0.25-128, v2-1.0-224 and v3-small, float and int8, both runtimes:
   per-op sum against the whole-model median, and the totals by op kind.

The issue's targets (LiteRT int8 <= 0.7x float for v1-1.0-224, v2, v3-small, v3-large; int8 never slower
than float for v1-0.25-128; ours <= 0.8x Google's int8 twins; ORT int8 <= 0.7x float for v2 and v3) are
judged in the output, on this machine, with its CPU named.

Run: .venv/bin/python benchmarks/op_ledger.py --data ../shared/data [--out models/op-ledger]
     [--json benchmarks/results/op_ledger.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgekit.environment import conditions  # noqa: E402

EDGEKIT = [sys.executable, "-m", "edgekit.cli"]
MODELS = ["v1-0.25-128", "v1-1.0-224", "v2-1.0-224", "v3-small", "v3-large"]
LEDGERS = ["v1-0.25-128", "v2-1.0-224", "v3-small-1.0-224"]
TARGETS = {"litert": {"v1-1.0-224": 0.7, "v2-1.0-224": 0.7, "v3-small-1.0-224": 0.7, "v3-large-1.0-224": 0.7,
                      "v1-0.25-128": 1.0},
           "onnxruntime": {"v2-1.0-224": 0.7, "v3-small-1.0-224": 0.7, "v3-large-1.0-224": 0.7}}
GOOGLE = {"v1-0.25-128": "mobilenet_v1_0.25_128_quant.tflite", "v2-1.0-224": "mobilenet_v2_1.0_224_quant.tflite"}


def edgekit(*args: str) -> dict:
    done = subprocess.run(EDGEKIT + list(args) + ["--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"edgekit {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout)


def convert(out: Path, data: Path, model: str) -> list[Path]:
    from edgekit.zoo.spec import parse_model

    name = parse_model(model).name
    folder = out / name
    files = [folder / f"{fmt}-{p}.{ext}" for fmt, ext in (("tflite", "tflite"), ("onnx", "onnx"))
             for p in ("float", "int8")]
    if not all(f.is_file() for f in files):
        weights = (["--weights", str(data / "weights" / "mobilenet_2_5_128_tf.h5")] if model == "v1-0.25-128"
                   else ["--weights", "none", "--ptq", "minmax"])
        edgekit("convert", "--model", model, *weights, "--float", "--int8", "--format", "all",
                "--calib", str(data / "imagenet-val" / "calib100"), "--calib-count", "64",
                "--check", str(data / "imagenet-val" / "fullres20"), "--out", str(out))
    return files


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("EDGEKIT_DATA", "../shared/data")))
    parser.add_argument("--out", type=Path, default=Path("models/op-ledger"))
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = conditions(sys.argv)
    artifacts = [f for model in MODELS for f in convert(args.out, args.data, model)]
    google = [args.data / "coral" / name for name in GOOGLE.values()]
    db = args.out / "ledger.db"
    timing = ["--runs", str(args.runs), "--rounds", "5", "--min-time", "1.0", "--db", str(db)]
    bench = edgekit("bench", *map(str, artifacts + google), "--threads", "1", *timing)["results"]
    medians = {(r["model"], r["format"], r["precision"], r.get("origin")): r["median_ms"] for r in bench}
    rows, verdicts = [], []
    for model in {r["model"] for r in bench if r.get("origin") == "edgekit"}:
        row = {"model": model}
        for fmt, runtime in (("tflite", "litert"), ("onnx", "onnxruntime")):
            f, q = medians.get((model, fmt, "float", "edgekit")), medians.get((model, fmt, "int8", "edgekit"))
            row[f"{runtime}_float_ms"], row[f"{runtime}_int8_ms"] = f, q
            row[f"{runtime}_int8_over_float"] = round(q / f, 3) if f and q else None
            target = TARGETS[runtime].get(model)
            if target is not None and row[f"{runtime}_int8_over_float"] is not None:
                verdicts.append({"what": f"{runtime} int8/float {model}", "value": row[f"{runtime}_int8_over_float"],
                                 "target": target, "met": row[f"{runtime}_int8_over_float"] <= target})
        g = medians.get((model, "tflite", "int8", "google"))
        if g:
            row["google_int8_ms"] = g
            row["ours_over_google"] = round(row["litert_int8_ms"] / g, 3)
            verdicts.append({"what": f"ours/Google int8 {model}", "value": row["ours_over_google"], "target": 0.8,
                             "met": row["ours_over_google"] <= 0.8})
        rows.append(row)
    rows.sort(key=lambda r: MODELS.index(next(m for m in MODELS if r["model"].startswith(m))))
    result["ratios"] = {"rows": rows, "verdicts": verdicts, "statistic": bench[0]["statistic"]}
    for v in verdicts:
        print(f"{v['what']}: {v['value']:.2f} (target <= {v['target']}) {'met' if v['met'] else 'MISSED'}", flush=True)
    scaling = edgekit("bench", *map(str, artifacts), "--threads", "1,2", *timing)["results"]
    by = {}
    for r in scaling:
        by.setdefault((r["model"], r["format"], r["precision"]), {})[r["threads"]] = r["median_ms"]
    result["threads"] = [{"model": m, "format": f, "precision": p, "ms_1": t.get(1), "ms_2": t.get(2),
                          "speedup": round(t[1] / t[2], 2) if t.get(1) and t.get(2) else None}
                         for (m, f, p), t in sorted(by.items())]
    for t in result["threads"]:
        print(f"threads {t['model']} {t['format']} {t['precision']}: 1->2 x{t['speedup']}", flush=True)
    ledgers = [a for a in artifacts if a.parent.name in LEDGERS]
    profiled = edgekit("profile", *map(str, ledgers), "--db", str(db), "--plot", str(args.out / "ledger.png"))
    result["ledgers"] = [{k: lg[k] for k in ("artifact", "model", "format", "precision", "runtime", "runtime_version",
                                             "threads", "whole_ms", "sum_ms", "gap_pct", "within_limit",
                                             "invoke_overhead_ms", "profiler_overhead_pct", "by_kind")}
                         | {"slow_ops": [f"#{o['index']} {o['op']} {o['kind']} {'x'.join(map(str, o['shape'][1:]))}: "
                                         f"{o['time_share']:.1%} of the time, {o['mac_share']:.1%} of the MACs"
                                         for o in lg["ops"] if o["flags"]][:8]}
                         for lg in profiled["ledgers"]]
    for lg in result["ledgers"]:
        print(f"ledger {Path(lg['artifact']).parent.name}/{Path(lg['artifact']).name}: sum {lg['sum_ms']:.3f} ms vs "
              f"whole {lg['whole_ms']:.3f} ms ({lg['gap_pct']:+.1f}%)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
