"""Latency you can predict: the ledgers' sums, the latency model's validation, and pick checked against bench.

1. ``edgekit estimate --fit`` on this host: the default suite (v1 at 0.25/0.5/1.0, v2 at 0.35/0.75/1.0/1.4,
   v3-small and v3-large at 0.75/1.0, each at 128, 160, 192 and 224 px; seeded random weights), converted once
   into --work, profiled float and int8 on LiteRT and ONNX Runtime; the split is fixed before fitting (every
   variant at 160 and 192 px held out). Reported: per runtime and precision, the share of held-out variants
   within ±10% and ±20% and the median |error|; and every ledger's sum against its whole-model median before
   (the profiler's raw sum for ORT, the one-op sum for LiteRT) and after (what ``profile`` now shows).
2. ``edgekit pick --budget 2ms`` and ``10ms --verify`` (LiteRT int8): each front's models are converted and timed
   in one interleaved bench session; each pick's measured median is set beside its estimate and the budget.
3. ``edgekit roof`` and the int8 ledgers of v1-1.0-224, v2-1.0-224 and v3-small held to it: per-kind fractions.

Run: .venv/bin/python benchmarks/latency_model.py --data ../shared/data [--work models/latency-fit]
     [--json benchmarks/results/latency_model.json]
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
BUDGETS = ("2ms", "10ms")
ROOF_MODELS = ("v1-1.0-224", "v2-1.0-224", "v3-small-1.0-224")


def edgekit(*args: str) -> dict:
    done = subprocess.run(EDGEKIT + list(args) + ["--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"edgekit {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("EDGEKIT_DATA", "../shared/data")))
    parser.add_argument("--work", type=Path, default=Path("models/latency-fit"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = conditions(sys.argv)
    db = args.work / "results.db"
    calib = str(args.data / "imagenet-val" / "calib100")
    fitted = edgekit("estimate", "--fit", "--work", str(args.work), "--calib", calib, "--runs", str(args.runs),
                     "--rounds", str(args.rounds), "--db", str(db))
    result["fits"] = [{k: f[k] for k in ("key", "runtime", "runtime_version", "precision", "threads", "cpu",
                                         "cpu_features", "split", "trained_on", "held_out", "skipped", "validation",
                                         "training", "statistic")} for f in fitted["fits"]]
    for f in fitted["fits"]:
        v, t = f["validation"], f["training"]
        print(f"{f['runtime']} {f['precision']}: held out {v['n']}: {v['within_10']:.0%} within 10%, "
              f"{v['within_20']:.0%} within 20%, median |err| {v['median_abs_err_pct']:.1f}% "
              f"(max {v['max_abs_err_pct']:.1f}%; bench's own spread, median {v['median_spread_pct']:.1f}%); "
              f"training median |err| {t['median_abs_err_pct']:.1f}%", flush=True)
    sums = fitted["ledger_sums"]
    result["ledger_sums"] = sums
    for runtime in ("litert", "onnxruntime"):
        for precision in ("float", "int8"):
            rows = [r for r in sums if r["runtime"] == runtime and r["precision"] == precision]
            before = [r["profiler_gap_pct"] if runtime == "onnxruntime" else r["measured_gap_pct"] for r in rows]
            corrected = [r["measured_gap_pct"] for r in rows]
            after = [r["gap_pct"] for r in rows]
            line = (f"ledger sums {runtime} {precision} ({len(rows)} variants): before {min(before):+.1f}% .. "
                    f"{max(before):+.1f}%")
            if runtime == "onnxruntime":
                line += f"; less the profiler's node cost {min(corrected):+.1f}% .. {max(corrected):+.1f}%"
            print(line + f"; after {min(after):+.1f}% .. {max(after):+.1f}%", flush=True)
            off = [100 * (r["whole_ms"] / r["bench_ms"] - 1) for r in rows]
            print(f"   profile whole-model median vs bench: {min(off):+.1f}% .. {max(off):+.1f}%", flush=True)
    picks = []
    for budget in BUDGETS:  # each front converted and benched by the product itself: pick --verify
        picked = edgekit("pick", "--budget", budget, "--db", str(db), "--plot", str(args.work / f"pick-{budget}.png"),
                         "--verify", "--calib", calib, "--work", str(args.work))
        picks.append({"budget": budget, "front": picked["front"], "fit": picked["fit"], "verified": picked["verified"]})
        v, top = picked["verified"], picked["front"][-1]
        print(f"pick {budget}: {len(picked['front'])} on the front; most accurate {top['model']} (top-1 {top['top1']}) "
              f"estimated {top['estimated_ms']:.3f} ms, measured {top['measured_ms']:.3f} ms ({top['error_pct']:+.1f}%); "
              f"median |error| {v['median_abs_err_pct']:.1f}%; all measured under the budget: {v['all_under_budget']} "
              f"({v['statistic']})", flush=True)
        for r in picked["front"]:
            print(f"   {r['model']}: est {r['estimated_ms']:.3f} ms, bench {r['measured_ms']:.3f} ms "
                  f"({r['error_pct']:+.1f}%, spread {r.get('spread_pct') or 0:.0f}%), top-1 {r['top1']}", flush=True)
    result["picks"] = picks
    roof = edgekit("roof", "--runs", "30", "--rounds", "3", "--db", str(db), "--out", str(args.work / "roof-kernels"))
    result["roof"] = {k: roof[k] for k in ("device", "cpu", "cpu_features", "runtime", "threads", "fp32_gmacs",
                                           "int8_gmacs", "gbps", "statistic")}
    print(f"roofs: fp32 {roof['fp32_gmacs']:.1f} GMAC/s, int8 {roof['int8_gmacs']:.1f} GMAC/s, {roof['gbps']:.1f} GB/s "
          f"({roof['cpu']})", flush=True)
    held = [str(args.work / m / "tflite-int8.tflite") for m in ROOF_MODELS]
    profiled = edgekit("profile", *held, "--runs", "30", "--rounds", "3", "--db", str(db))["ledgers"]
    result["roof_fractions"] = []
    for model, lg in zip(ROOF_MODELS, profiled):
        kinds = {k["kind"]: {"fraction": k["roof_fraction"], "ms": k["ms"], "lost_ms": k["lost_ms"]}
                 for k in lg["roof"]["by_kind"]}
        result["roof_fractions"].append({"model": model, "whole_ms": lg["whole_ms"], "by_kind": kinds,
                                         "furthest": lg["roof"]["furthest"]["kind"]})
        print(f"roof {model} int8: " + ", ".join(f"{k} {v['fraction']:.0%} ({1000 * v['lost_ms']:.0f} us lost)"
                                                 for k, v in kinds.items() if v["ms"] > 0.01 * lg["whole_ms"]),
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
