"""The four SSDLite detectors at 320 px, float and int8, LiteRT and ONNX Runtime, in one interleaved run.

Each of ssdlite-v1, ssdlite-v2, ssdlite-v3-large and ssdlite-v3-small is converted with its post-processing in
the graph (``--postprocess graph``: TFLite_Detection_PostProcess, ONNX NonMaxSuppression), as deployed detectors
ship, float and int8 (calibrated on coco-mini's train images; random weights: no trained COCO detector here, and
latency does not depend on the weights' values). Then, through the command line a user has:
- ``edgekit bench``: all 16 artifacts in one session, 1 thread, interleaved rounds, the CPU named;
- ``edgekit compare``: our SSDLite v3-large / v2 and v3-small / v3-large float ratios beside the v3 paper's
  Pixel 1 figures (Table 6, TFLite benchmark tool: 137 / 162 ms and 52 / 137 ms);
- ``edgekit edgetpu-check``: the predicted Edge TPU mapping of each int8 TFLite file.
Writes benchmarks/results/detectors.json.

Run (pinned to one core, the machine is noisy):
  taskset -c 1 .venv/bin/python benchmarks/detectors.py --data ../shared/data [--out models/detectors]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

MODELS = ("ssdlite-v1", "ssdlite-v2", "ssdlite-v3-large", "ssdlite-v3-small")


def edgetpu_mapping(names: dict) -> dict:
    """The predicted Edge TPU mapping of every int8 TFLite file of ``names`` ({path: (model, format, precision)})."""
    out = {}
    for path, (model, fmt, precision) in names.items():
        if fmt == "tflite" and precision == "int8":
            check = json.loads(edgekit("edgetpu-check", path, "--json"))
            out[model] = {k: check.get(k) for k in ("ops_total", "ops_on_tpu", "ops_on_cpu", "first_unsupported")}
    return out


def paper_ms(model: str) -> dict | None:
    """The v3 paper's Table 6 latency of a detector (published.toml, the one cited copy)."""
    from edgekit.zoo.published import latency_row
    from edgekit.zoo.spec import parse_model

    row = latency_row(parse_model(model).name, "float", "v3-paper")
    return {"ms": row.values["latency_ms"], "device": row.latency_device, "cite": row.cite} if row else None


def edgekit(*args: str, db: Path | None = None) -> str:
    env = {**os.environ, "EDGEKIT_DB": str(db)} if db else None
    proc = subprocess.run([sys.executable, "-m", "edgekit", *args], capture_output=True, text=True, env=env)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"edgekit {' '.join(args[:3])} ... failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data", type=Path)
    parser.add_argument("--out", default="models/detectors", type=Path)
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--runs", default="20")
    parser.add_argument("--rounds", default="4")
    parser.add_argument("--result", default=Path(__file__).parent / "results" / "detectors.json", type=Path)
    args = parser.parse_args()
    train = args.data / "coco-mini" / "instances_train.json"
    val = args.data / "coco-mini" / "instances_val.json"
    db = args.out / "results.db"
    args.out.mkdir(parents=True, exist_ok=True)
    names, paths = {}, []
    for model in args.models:
        made = json.loads(edgekit("convert", "--model", model, "--float", "--int8", "--format", "all",
                                  "--postprocess", "graph", "--calib", str(train), "--check", str(val),
                                  "--calib-count", "30", "--out", str(args.out), "--json"))["artifacts"]
        for a in made:
            names[a["path"]] = (model, a["format"], a["precision"])
            paths.append(a["path"])
        print(f"converted {model}: {len(made)} artifacts", file=sys.stderr)
    bench = json.loads(edgekit("bench", *paths, "--threads", "1", "--runs", args.runs, "--rounds", args.rounds,
                               "--json", db=db))
    rows = []
    for r in bench["results"]:
        model, fmt, precision = names[r["artifact"]]
        rows.append({"model": model, "format": fmt, "precision": precision, "median_ms": r["median_ms"],
                     "p90_ms": r["p90_ms"], "spread_pct": r["spread_pct"],
                     "runtime": f"{r['runtime']} {r['runtime_version']}"})
    compare_text = edgekit("compare", *args.models, db=db)
    tpu = edgetpu_mapping(names)
    first = bench["results"][0]
    by = {(r["model"], r["format"], r["precision"]): r["median_ms"] for r in rows}
    ratios = {}
    for fmt in ("tflite", "onnx"):
        for precision in ("float", "int8"):
            v3l, v2 = by.get(("ssdlite-v3-large", fmt, precision)), by.get(("ssdlite-v2", fmt, precision))
            v3s = by.get(("ssdlite-v3-small", fmt, precision))
            if v3l and v2:
                ratios[f"{fmt} {precision}: v3-large / v2"] = round(v3l / v2, 3)
            if v3s and v3l:
                ratios[f"{fmt} {precision}: v3-small / v3-large"] = round(v3s / v3l, 3)
        for model in args.models:
            f, q = by.get((model, fmt, "float")), by.get((model, fmt, "int8"))
            if f and q:
                ratios[f"{fmt} {model}: int8 / float"] = round(q / f, 3)
    env = first["environment"]
    result = {"what": __doc__.splitlines()[0], "conditions": {
        "device": first["device"], "cpu": env["cpu"], "cpu_features": env["cpu_features"], "threads": first["threads"],
        "statistic": first["statistic"], "usable_cores": env["usable_cores"],
        "runtimes": sorted({row["runtime"] for row in rows}), "weights": "random (latency does not depend on them)",
        "post_processing": "in the graph (--postprocess graph)", "resolution": 320},
        "rows": rows, "ratios": ratios,
        "paper": {model: paper_ms(model) for model in args.models},
        "edgetpu_predicted": tpu, "compare": compare_text}
    args.result.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.result.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(args.result)
    print(json.dumps({k: result[k] for k in ("ratios", "edgetpu_predicted")}, indent=1))
    print(compare_text)


if __name__ == "__main__":
    main()
