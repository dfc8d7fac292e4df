"""The seeds' systems side by side: MACs, parameters, float/int8 latency (LiteRT and ONNX Runtime) and
Edge TPU mapping of MobileNet v1/v2/v3, Conv MobileNet, MnasNet-A1, EfficientNet-B0 and Lite0.

Each model at 1.0 / 224 px with seeded random weights (latency does not depend on weight values),
converted float and int8 (``--ptq minmax``: the rounding does not change the graph), TFLite and ONNX;
then ONE interleaved ``edgekit bench`` run of every artifact at 1 thread, and the predicted Edge TPU
mapping of each int8 TFLite file. The Conv MobileNet / MobileNet latency ratio is set beside the
8.6x mult-add ratio of the v1 paper's Table 4.

Run: .venv/bin/python benchmarks/seed_systems.py --data ../shared/data [--out models/seed-systems]
     [--json benchmarks/results/seed_systems.json]
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
from edgekit import chatter  # noqa: E402

chatter.capture()  # TensorFlow's start-up lines stay off the terminal (EDGEKIT_VERBOSE=1 shows them)

from edgekit.environment import conditions  # noqa: E402

EDGEKIT = [sys.executable, "-m", "edgekit.cli"]
MODELS = ["v1-1.0-224", "v1-conv-1.0-224", "v2-1.0-224", "v3-small-1.0-224", "v3-large-1.0-224",
          "mnasnet-a1-1.0-224", "efficientnet-b0-1.0-224", "efficientnet-lite0-1.0-224"]


def edgekit(*args: str) -> dict:
    done = subprocess.run(EDGEKIT + list(args) + ["--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"edgekit {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout)


def main() -> None:
    from edgekit.edgetpu.check import predict
    from edgekit.zoo.count import count
    from edgekit.zoo.spec import parse_model

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("EDGEKIT_DATA", "../shared/data")))
    parser.add_argument("--out", type=Path, default=Path("models/seed-systems"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--show", type=Path, help="print a recorded result (this script's --json) as a table")
    args = parser.parse_args()
    if args.show:
        return show(json.loads(args.show.read_text()))
    result = conditions(sys.argv)
    artifacts = []
    for model in MODELS:
        folder = args.out / model
        files = [folder / f"{fmt}-{p}.{fmt}" for fmt in ("tflite", "onnx") for p in ("float", "int8")]
        if not all(f.is_file() for f in files):
            edgekit("convert", "--model", model, "--weights", "none", "--ptq", "minmax", "--float", "--int8",
                    "--format", "all", "--calib", str(args.data / "imagenet-val" / "calib100"), "--calib-count", "32",
                    "--check", str(args.data / "imagenet-val" / "fullres20"), "--check-count", "8",
                    "--require", "none", "--out", str(args.out))
        artifacts += files
        print(f"converted {model}", flush=True)
    bench = edgekit("bench", *map(str, artifacts), "--threads", "1", "--runs", "20", "--rounds", "4",
                    "--min-time", "1.0", "--no-record")["results"]
    medians = {(r["model"], r["format"], r["precision"]): r["median_ms"] for r in bench}
    rows = []
    for model in MODELS:
        spec = parse_model(model)
        counted = count(spec)
        mapping = predict(args.out / model / "tflite-int8.tflite")
        row = {"model": model, "macs_m": round(counted.macs / 1e6, 1), "params_m": round(counted.params_folded / 1e6, 2),
               "edgetpu_ops": f"{mapping['ops_on_tpu']}/{mapping['ops_total']}",
               "edgetpu_first_unsupported": mapping["first_unsupported"]}
        for fmt, runtime in (("tflite", "litert"), ("onnx", "onnxruntime")):
            for precision in ("float", "int8"):
                row[f"{runtime}_{precision}_ms"] = medians.get((model, fmt, precision))
            f, q = row[f"{runtime}_float_ms"], row[f"{runtime}_int8_ms"]
            row[f"{runtime}_int8_over_float"] = round(q / f, 3) if f and q else None
        rows.append(row)
        print(json.dumps(row), flush=True)
    result["rows"] = rows
    result["statistic"] = bench[0]["statistic"]
    ratio = {runtime: {p: round(medians[("v1-conv-1.0-224", fmt, p)] / medians[("v1-1.0-224", fmt, p)], 2)
                       for p in ("float", "int8")} for fmt, runtime in (("tflite", "litert"), ("onnx", "onnxruntime"))}
    result["conv_over_separable"] = {"latency": ratio, "macs": round(count(parse_model("v1-conv-1.0-224")).macs
                                                                      / count(parse_model("v1-1.0-224")).macs, 2),
                                     "paper_macs": round(4866 / 569, 2)}
    print(json.dumps(result["conv_over_separable"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


def show(result: dict) -> None:
    """The recorded side-by-side table, with the machine it was measured on."""
    print(f"recorded on {result['cpu']} ({', '.join(result['cpu_features'][-3:])}), {result['cores']} cores, "
          f"1 thread, {result['statistic']} (edgekit {result['git']})")
    print(f"{'model':28} {'MMACs':>8} {'Mparams':>8} {'LiteRT f32':>10} {'int8':>7} {'ratio':>6} {'ORT f32':>8} "
          f"{'int8':>7} {'ratio':>6} {'Edge TPU ops':>13}")
    for r in result["rows"]:
        print(f"{r['model']:28} {r['macs_m']:8.1f} {r['params_m']:8.2f} {r['litert_float_ms']:10.2f} "
              f"{r['litert_int8_ms']:7.2f} {r['litert_int8_over_float']:6.2f} {r['onnxruntime_float_ms']:8.2f} "
              f"{r['onnxruntime_int8_ms']:7.2f} {r['onnxruntime_int8_over_float']:6.2f} {r['edgetpu_ops']:>13}")
    c = result["conv_over_separable"]
    print(f"Conv MobileNet / MobileNet: {c['macs']}x the mult-adds (paper {c['paper_macs']}x); latency LiteRT "
          f"{c['latency']['litert']['float']}x float, {c['latency']['litert']['int8']}x int8; ONNX Runtime "
          f"{c['latency']['onnxruntime']['float']}x float, {c['latency']['onnxruntime']['int8']}x int8")


if __name__ == "__main__":
    main()
