"""Do the ledgers add up on every zoo family? One variant of each family, float and int8, TFLite and ONNX.

For every family in the zoo (classifiers, the systems the papers compare against, the segmenters and the
detectors), one variant is converted (seeded random weights, the converters' own rounding: latency does not
depend on the values), all its artifacts are timed in one interleaved ``edgekit bench`` session, and each is
profiled (``edgekit profile``). Per artifact the JSON keeps:

- ``raw_gap_pct``: what a ledger summed to before issue 31, against the whole-model median of its own run (LiteRT:
  the one-op models' sum; ONNX Runtime: its profiler's own per-node times, their cost included);
- ``measured_gap_pct``: the measured sum after the profiler's per-node cost is subtracted (ORT; LiteRT's is the
  one-op sum, as before);
- ``sum_vs_bench_pct``: that measured sum against bench's median of the same file (a clean worker);
- ``gap_pct``: the ledger as shown (the whole-model median apportioned by the measured shares: 0 by construction).

Run: .venv/bin/python benchmarks/ledger_families.py --data ../shared/data [--out models/ledger-families]
     [--json benchmarks/results/ledger_families.json] [--families v1,shufflenet-v1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgekit.environment import conditions  # noqa: E402

EDGEKIT = [sys.executable, "-m", "edgekit.cli"]
# One variant per family, at a size that keeps the run under an hour on one core: the classifiers at the papers'
# 224 px (NASNet is recorded at 224 only), the dense-prediction heads at a reduced input.
VARIANTS = {
    "v1": "v1-1.0-224", "v1-conv": "v1-conv-0.5-160", "v2": "v2-1.0-224", "v3-small": "v3-small-1.0-224",
    "v3-large": "v3-large-1.0-224", "efficientnet-b0": "efficientnet-b0", "efficientnet-lite0": "efficientnet-lite0",
    "mnasnet-a1": "mnasnet-a1-1.0-224", "shufflenet-v1": "shufflenet-v1-g3-1.0", "nasnet-a-mobile": "nasnet-a-mobile",
    "deeplabv3-v2": "deeplabv3-v2-0.5-257", "lraspp-v3-large": "lraspp-v3-large-1.0-256",
    "lraspp-v3-small": "lraspp-v3-small-1.0-256", "ssdlite-v1": "ssdlite-v1-1.0-320", "ssdlite-v2": "ssdlite-v2-1.0-320",
    "ssdlite-v3-large": "ssdlite-v3-large-1.0-320", "ssdlite-v3-small": "ssdlite-v3-small-1.0-320",
}


def edgekit(*args: str, check: bool = True) -> dict | None:
    done = subprocess.run(EDGEKIT + list(args) + ["--json"], capture_output=True, text=True)
    if done.returncode != 0:
        if check:
            raise SystemExit(f"edgekit {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
        print(f"  skipped: edgekit {args[0]} {args[1] if len(args) > 1 else ''}: {done.stderr.strip()[-300:]}",
              flush=True)
        return None
    return json.loads(done.stdout)


def calib_for(model: str, data: Path) -> str:
    if model.startswith(("ssdlite", "deeplab", "lraspp")):
        return str(data / "coco-mini" / "instances_train.json")
    return str(data / "imagenet-val" / "calib100")


def convert(out: Path, data: Path, model: str) -> list[Path]:
    from edgekit.zoo.spec import parse_model

    folder = out / parse_model(model).name
    files = [folder / f"{fmt}-{p}.{fmt}" for fmt in ("tflite", "onnx") for p in ("float", "int8")]
    if not all(f.is_file() for f in files):
        print(f"converting {model}", flush=True)
        edgekit("convert", "--model", model, "--weights", "none", "--ptq", "minmax", "--float", "--int8", "--format",
                "all", "--calib", calib_for(model, data), "--calib-count", "16", "--check-count", "4",
                "--out", str(out), check=False)
    return [f for f in files if f.is_file()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("EDGEKIT_DATA", "../shared/data")))
    parser.add_argument("--out", type=Path, default=Path("models/ledger-families"))
    parser.add_argument("--families", default=",".join(VARIANTS))
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = [f for f in families if f not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown families: {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    result = conditions(sys.argv)
    artifacts = {f: convert(args.out, args.data, VARIANTS[f]) for f in families}
    files = [p for paths in artifacts.values() for p in paths]
    db = args.out / "ledger.db"
    benched = edgekit("bench", *map(str, files), "--threads", "1", "--runs", str(args.runs), "--rounds", "3",
                      "--min-time", "0.2", "--db", str(db))["results"]
    bench_ms = {str(Path(r["artifact"]).resolve()): r["median_ms"] for r in benched}
    result["bench_statistic"] = benched[0]["statistic"]
    rows = []
    for family, paths in artifacts.items():
        for path in paths:
            print(f"profiling {path.parent.name}/{path.name}", flush=True)
            got = edgekit("profile", str(path), "--threads", "1", "--runs", str(args.runs), "--rounds", "2",
                          "--db", str(db), check=False)
            if got is None:
                rows.append({"family": family, "artifact": str(path), "failed": True})
                continue
            lg = got["ledgers"][0]
            raw = lg.get("profiler_sum_ms") or lg["measured_sum_ms"]  # before: the profiler's or one-op sum as it was
            bench = bench_ms.get(str(path.resolve()))
            rows.append({
                "family": family, "model": lg["model"], "format": lg["format"], "precision": lg["precision"],
                "runtime": lg["runtime"], "runtime_version": lg["runtime_version"], "ops": len(lg["ops"]),
                "whole_ms": lg["whole_ms"], "bench_ms": bench, "raw_sum_ms": raw,
                "raw_gap_pct": 100 * (raw / lg["whole_ms"] - 1), "measured_sum_ms": lg["measured_sum_ms"],
                "measured_gap_pct": lg["measured_gap_pct"],
                "sum_vs_bench_pct": 100 * (lg["measured_sum_ms"] / bench - 1) if bench else None,
                "sum_ms": lg["sum_ms"], "gap_pct": lg["gap_pct"], "method": lg["method"]})
            r = rows[-1]
            print(f"  {r['runtime']} {r['precision']}: {r['ops']} ops, whole {r['whole_ms']:.3f} ms, bench "
                  f"{bench or float('nan'):.3f} ms; raw sum {r['raw_gap_pct']:+.1f}%, measured {r['measured_gap_pct']:+.1f}%"
                  f" ({r['sum_vs_bench_pct'] if r['sum_vs_bench_pct'] is not None else float('nan'):+.1f}% of bench), "
                  f"shown {r['gap_pct']:+.1f}%", flush=True)
    result["rows"] = rows
    summary = {}
    for runtime in ("litert", "onnxruntime"):
        for precision in ("float", "int8"):
            sel = [r for r in rows if not r.get("failed") and r["runtime"] == runtime and r["precision"] == precision]
            if not sel:
                continue
            key = f"{runtime} {precision}"
            summary[key] = {
                "n": len(sel), "families": sorted({r["family"] for r in sel}),
                "raw_within_10": sum(abs(r["raw_gap_pct"]) <= 10 for r in sel),
                "raw_median_abs_gap_pct": statistics.median(abs(r["raw_gap_pct"]) for r in sel),
                "measured_within_10": sum(abs(r["measured_gap_pct"]) <= 10 for r in sel),
                "measured_median_abs_gap_pct": statistics.median(abs(r["measured_gap_pct"]) for r in sel),
                "shown_within_10": sum(abs(r["gap_pct"]) <= 10 for r in sel)}
            s = summary[key]
            print(f"{key}: {s['n']} ledgers; raw sums within ±10% of the whole: {s['raw_within_10']} (median "
                  f"|gap| {s['raw_median_abs_gap_pct']:.1f}%); measured {s['measured_within_10']} "
                  f"({s['measured_median_abs_gap_pct']:.1f}%); shown {s['shown_within_10']}", flush=True)
    result["summary"] = summary
    result["failed"] = [r["artifact"] for r in rows if r.get("failed")]
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
