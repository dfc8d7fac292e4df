"""The v2 paper's Table 4 rivals here: ShuffleNet v1 1.5x and 2x (g = 3) and NASNet-A mobile beside MobileNetV2.

ShuffleNet comes from the zoo (``shufflenet-v1-g3-1.5``, ``-2.0``: grouped 1x1 convolutions, channel shuffle),
NASNet-A mobile too (``nasnet-a-mobile``: keras.applications' NASNetMobile, its layer table recorded from it).
MobileNetV2 1.0 and v1 1.0 are the yardsticks. For each: the count beside the v2 paper's Table 4
(published.toml), float and int8 to TFLite and ONNX (random weights; calibrated on calib100), every artifact
timed in one ``edgekit bench`` session (1 thread, interleaved rounds), and the Edge TPU mapping of each int8
TFLite file (``edgekit edgetpu-check``). Writes benchmarks/results/v2_table.json.

Run (pinned to one core, the machine is noisy):
  taskset -c 1 .venv/bin/python benchmarks/v2_table.py --data ../shared/data [--out models/v2-table]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from detectors import edgekit, edgetpu_mapping  # noqa: E402 (the same helpers; benchmarks/ is on sys.path)

ZOO = ("shufflenet-v1-g3-1.5-224", "shufflenet-v1-g3-2.0-224", "nasnet-a-mobile-1.0-224", "v2-1.0-224", "v1-1.0-224")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data", type=Path)
    parser.add_argument("--out", default="models/v2-table", type=Path)
    parser.add_argument("--runs", default="20")
    parser.add_argument("--rounds", default="4")
    parser.add_argument("--result", default=Path(__file__).parent / "results" / "v2_table.json", type=Path)
    args = parser.parse_args()
    from edgekit.zoo.count import count
    from edgekit.zoo.published import latency_row, rows_for
    from edgekit.zoo.spec import parse_model

    calib = args.data / "imagenet-val" / "calib100"
    db = args.out / "results.db"
    counts, names, paths = {}, {}, []
    for model in ZOO:
        c = count(parse_model(model))
        counts[model] = {"macs": c.macs, "params_folded": c.params_folded,
                         "published": [r.to_dict() for r in rows_for(model) if "macs_m" in r.values]}
    for model in ZOO:
        made = json.loads(edgekit("convert", "--model", model, "--float", "--int8", "--format", "all", "--calib",
                                  str(calib), "--calib-count", "32", "--out", str(args.out), "--json"))
        for a in made["artifacts"]:
            names[a["path"]] = (model, a["format"], a["precision"])
            paths.append(a["path"])
        print(f"converted {model}", file=sys.stderr)
    bench = json.loads(edgekit("bench", *paths, "--threads", "1", "--runs", args.runs, "--rounds", args.rounds,
                               "--json", db=db))
    rows = [{"model": names[r["artifact"]][0], "format": names[r["artifact"]][1],
             "precision": names[r["artifact"]][2], "median_ms": r["median_ms"], "spread_pct": r["spread_pct"],
             "runtime": f"{r['runtime']} {r['runtime_version']}"} for r in bench["results"]]
    by = {(r["model"], r["format"], r["precision"]): r["median_ms"] for r in rows}
    ratios = {}
    for fmt in ("tflite", "onnx"):
        for model in ZOO:
            f, q = by.get((model, fmt, "float")), by.get((model, fmt, "int8"))
            if f and q:
                ratios[f"{fmt} {model}: int8 / float"] = round(q / f, 3)
            for precision in ("float", "int8"):
                m, v2 = by.get((model, fmt, precision)), by.get(("v2-1.0-224", fmt, precision))
                if m and v2 and model != "v2-1.0-224":
                    ratios[f"{fmt} {precision}: {model} / v2-1.0-224"] = round(m / v2, 3)
    tpu = edgetpu_mapping(names)
    first = bench["results"][0]
    env = first["environment"]
    result = {"what": __doc__.splitlines()[0], "counts": counts, "rows": rows, "ratios": ratios,
              "paper_latency": {m: (row.to_dict() if (row := latency_row(m, "float", "v2-paper")) else None)
                                for m in ZOO},
              "edgetpu_predicted": tpu,
              "conditions": {"device": first["device"], "cpu": env["cpu"], "cpu_features": env["cpu_features"],
                             "threads": first["threads"], "statistic": first["statistic"],
                             "runtimes": sorted({r["runtime"] for r in rows}), "weights": "random (seeded)"}}
    args.result.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.result.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(args.result)
    print(json.dumps({k: result[k] for k in ("ratios", "edgetpu_predicted")}, indent=1))
    for model, c in counts.items():
        print(f"{model}: {c['macs'] / 1e6:.1f} M MACs, {c['params_folded'] / 1e6:.3f} M params (folded)")


if __name__ == "__main__":
    main()
