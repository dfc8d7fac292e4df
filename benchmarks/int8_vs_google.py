"""Our int8 exports against Google's hosted int8 twins and our float exports, in one run.

Converts (once; kept under --out) v1-0.25-128 from the real Keras weights and v2-1.0-224 with
random weights (no v2 weights here offline: latency does not depend on the weight values),
float and int8, TFLite and ONNX, calibrated on calib100. Then benchmarks every artifact beside
mobilenet_v1_0.25_128_quant.tflite and mobilenet_v2_1.0_224_quant.tflite, at 1 and 2 threads,
in interleaved rounds, and prints median latencies and the ratios that matter:
ours int8 / Google's int8 (goal <= 1.00) and int8 / float (goal <= 0.5).

Run: .venv/bin/python benchmarks/int8_vs_google.py --data ../shared/data [--threads 1 2] [--json out.json]
Pin cores for steadier numbers: taskset -c 0,1 ...
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from edgekit.export.convert import ConvertOptions, convert  # noqa: E402
from edgekit.measure.bench import BenchOptions, bench  # noqa: E402

MODELS = {
    "v1-0.25-128": ("weights/mobilenet_2_5_128_tf.h5", "coral/mobilenet_v1_0.25_128_quant.tflite"),
    "v2-1.0-224": (None, "coral/mobilenet_v2_1.0_224_quant.tflite"),
}
KINDS = [("tflite", "int8"), ("onnx", "int8"), ("tflite", "float"), ("onnx", "float")]


def ensure_exports(data: Path, out: Path) -> dict[tuple[str, str, str], Path]:
    paths = {}
    for model, (weights, _) in MODELS.items():
        wanted = {(f, p): out / model / f"{f}-{p}.{'tflite' if f == 'tflite' else 'onnx'}" for f, p in KINDS}
        if not all(p.is_file() for p in wanted.values()):
            print(f"converting {model} (float + int8, TFLite + ONNX, calib100) ...", flush=True)
            convert(ConvertOptions.build(model, weights=str(data / weights) if weights else "none", precisions=("float", "int8"),
                                   formats=("tflite", "onnx"), calib=str(data / "imagenet-val" / "calib100"),
                                   check=str(data / "imagenet-val" / "fullres20"), out=str(out)))
        for (f, p), path in wanted.items():
            paths[(model, f, p)] = path
    return paths


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("EDGEKIT_DATA", "../shared/data")))
    parser.add_argument("--out", type=Path, default=Path("models/bench"))
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=2.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    ours = ensure_exports(args.data, args.out)
    google = {model: args.data / twin for model, (_, twin) in MODELS.items()}
    files = [*google.values(), *ours.values()]
    rows, raw = [], []
    for threads in args.threads:
        results, errors = bench(files, BenchOptions.build(threads=threads, warmup=20, runs=100, min_time=args.min_time,
                                                    rounds=args.rounds))
        if errors:
            raise SystemExit("; ".join(errors))
        raw += results
        median = {r["artifact"]: r["median_ms"] for r in results}
        spread = {r["artifact"]: r["spread_pct"] for r in results}
        for model in MODELS:
            g = median[str(google[model])]
            row = {"model": model, "threads": threads, "google_int8_ms": g}
            for f, p in KINDS:
                row[f"{f}_{p}_ms"] = median[str(ours[(model, f, p)])]
                row[f"{f}_{p}_spread_pct"] = spread[str(ours[(model, f, p)])]
            row["tflite_int8_vs_google"] = row["tflite_int8_ms"] / g
            row["onnx_int8_vs_google"] = row["onnx_int8_ms"] / g
            row["tflite_int8_vs_float"] = row["tflite_int8_ms"] / row["tflite_float_ms"]
            row["onnx_int8_vs_float"] = row["onnx_int8_ms"] / row["onnx_float_ms"]
            rows.append(row)
    env = raw[0]["environment"]
    print(f"\n{env['cpu']}, {env['usable_cores']} usable cores; LiteRT {raw[0]['runtime_version']}, "
          f"ONNX Runtime {next(r['runtime_version'] for r in raw if r['runtime'] == 'onnxruntime')}; "
          f"{raw[0]['statistic']}")
    head = (f"{'model':12s} {'thr':>3s} {'Google int8':>11s} {'TFLite int8':>11s} {'/Google':>7s} {'ONNX int8':>9s} "
            f"{'/Google':>7s} {'TFLite fp32':>11s} {'ONNX fp32':>9s} {'TFL i8/fp':>9s} {'ONNX i8/fp':>10s}")
    print(head)
    for r in rows:
        print(f"{r['model']:12s} {r['threads']:3d} {r['google_int8_ms']:9.3f}ms {r['tflite_int8_ms']:9.3f}ms "
              f"{r['tflite_int8_vs_google']:7.2f} {r['onnx_int8_ms']:7.3f}ms {r['onnx_int8_vs_google']:7.2f} "
              f"{r['tflite_float_ms']:9.3f}ms {r['onnx_float_ms']:7.3f}ms {r['tflite_int8_vs_float']:9.2f} "
              f"{r['onnx_int8_vs_float']:10.2f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "results": raw}, indent=2))


if __name__ == "__main__":
    main()
