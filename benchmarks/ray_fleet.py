"""A simulated fleet: a Ray head and two board nodes (device:pi-a, device:pi-b) on this machine.

Benchmarks every artifact of a few v1 variants on both boards through `edgekit sweep`'s Ray
executor and prints the timeline: per board, the benchmarks never overlap; across boards they do
(both kept busy). Artifacts come from the sweep cache (converted if missing).

Run: .venv/bin/python benchmarks/ray_fleet.py [--models v1-0.25-128 v1-0.5-128] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.environ.get("EDGEKIT_DATA", "../shared/data"))
    parser.add_argument("--models", nargs="+", default=["v1-0.25-128", "v1-0.5-128", "v1-0.25-160"])
    parser.add_argument("--out", default="models/sweep")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import ray
    from ray.cluster_utils import Cluster

    from edgekit.sweep import load_sweep, run_sweep
    from edgekit.sweep.ray_executor import RayExecutor

    data = Path(args.data).resolve()
    suite = Path(tempfile.mkdtemp()) / "fleet.toml"
    suite.write_text(f"""
name = "fleet"
out = "{Path(args.out).resolve()}"
models = {json.dumps(args.models)}
precisions = ["float", "int8"]
devices = ["pi-a", "pi-b"]
steps = ["convert", "bench"]
[weights]
default = "none"
"v1-0.25-128" = "{data}/weights/mobilenet_2_5_128_tf.h5"
[convert]
calib = "{data}/imagenet-val/calib100"
calib_count = 100
check_count = 16
[bench]
runs = 40
warmup = 5
min_time = 0.5
rounds = 4
""")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    nodes = {name: cluster.add_node(num_cpus=1, resources={f"device:{name}": 1}) for name in ("pi-a", "pi-b")}
    cluster.wait_for_nodes()
    try:
        executor = RayExecutor(cluster.address, ["pi-a", "pi-b"])
        try:
            summary = run_sweep(load_sweep(suite), executor, db=str(suite.with_suffix(".db")))
        finally:
            executor.close()
    finally:
        ray.shutdown()
        cluster.shutdown()
    benches = sorted((t for t in summary["timeline"] if t["step"] == "bench"), key=lambda t: t["started"])
    t0 = min(t["started"] for t in benches)
    print(f"{'device':7} {'node':14} {'start s':>8} {'end s':>8}  cell")
    for t in benches:
        print(f"{t['device']:7} {t['node'][:12]:14} {t['started'] - t0:8.2f} {t['ended'] - t0:8.2f}  {t['what']}")
    overlaps_same = sum(1 for a in benches for b in benches if a is not b and a["device"] == b["device"]
                        and a["started"] < b["ended"] and b["started"] < a["ended"]) // 2
    overlaps_cross = sum(1 for a in benches for b in benches if a["device"] == "pi-a" and b["device"] == "pi-b"
                         and a["started"] < b["ended"] and b["started"] < a["ended"])
    busy = {d: sum(t["ended"] - t["started"] for t in benches if t["device"] == d) for d in ("pi-a", "pi-b")}
    span = max(t["ended"] for t in benches) - t0
    right_node = all(t["node"] == nodes[t["device"]].node_id for t in benches)
    report = {"cells": summary["done"], "failed": summary["failed"], "span_s": round(span, 2),
              "busy_s": {d: round(v, 2) for d, v in busy.items()}, "overlaps_same_device": overlaps_same,
              "overlapping_cross_device_pairs": overlaps_cross, "every_bench_on_its_boards_node": right_node,
              "seconds": summary["seconds"], "timeline": benches}
    print(json.dumps({k: v for k, v in report.items() if k != "timeline"}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
