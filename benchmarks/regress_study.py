"""How often does ``edgekit regress`` cry wolf, and how often does it catch a real slowdown?

Each repetition takes a fresh baseline of model A at a fixed entry path, then runs the real CLI
``edgekit regress`` twice: once with the same file (any "regressed" is a false alarm) and once
after swapping in model B, about 12-14% slower (any "regressed" is a detection). Every candidate
run is saved, so the verdicts are also recomputed without the reference workload and at other
thresholds, from the very same samples, to show what each ingredient buys.

A = float v1-1.0-224, B = float v1-1.0-240 (1.148x the MACs), reference = float v1-0.75-224,
all TFLite with random weights (latency does not depend on the weight values), 1 thread.

Run: .venv/bin/python benchmarks/regress_study.py [--reps 20] [--out models/regress-study] [--json r.json]
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

from edgekit.compare import baseline as bl  # noqa: E402
from edgekit.compare.regress import regress  # noqa: E402

EDGEKIT = [sys.executable, "-m", "edgekit.cli"]
MODELS = {"a": "v1-1.0-224", "b": "v1-1.0-240", "ref": "v1-0.75-224"}
THRESHOLDS = (0.05, 0.10)


def ensure_models(out: Path) -> dict[str, Path]:
    paths = {}
    for key, model in MODELS.items():
        path = out / model / "tflite-float.tflite"
        if not path.is_file():
            subprocess.run(EDGEKIT + ["convert", "--model", model, "--weights", "none", "--float", "--out", str(out)],
                           check=True, stdout=subprocess.DEVNULL)
        paths[key] = path
    return paths


def edgekit(*args: str) -> tuple[int, float]:
    start = time.perf_counter()
    code = subprocess.run(EDGEKIT + list(args), stdout=subprocess.DEVNULL).returncode
    return code, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("models/regress-study"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    models = ensure_models(args.out)
    work = args.out / "runs"
    work.mkdir(parents=True, exist_ok=True)
    entry = work / "model.tflite"  # one entry path; the file behind it changes
    runs = []
    for rep in range(1, args.reps + 1):
        shutil.copyfile(models["a"], entry)
        base = work / f"base-{rep}.json"
        code, _ = edgekit("bench", str(entry), "--reference", str(models["ref"]), "--save-baseline", str(base),
                          "--no-record", "--json")
        assert code == 0, f"baseline run failed ({code})"
        row = {"rep": rep}
        for case, model in (("same", "a"), ("slower", "b")):
            shutil.copyfile(models[model], entry)
            cand = work / f"cand-{case}-{rep}.json"
            code, seconds = edgekit("regress", "--baseline", str(base), "--save-candidate", str(cand), "--json")
            assert code in (0, 1), f"regress failed ({code})"
            row[case] = {"exit": code, "seconds": round(seconds, 1)}
            b, c = bl.load(base), bl.load(cand)
            for ref in (True, False):
                for t in THRESHOLDS:
                    r = regress(b, c, t, use_reference=ref)["rows"][0]
                    row[case][f"{'ref' if ref else 'raw'}@{t:.0%}"] = r["verdict"]
                    row[case][f"{'ref' if ref else 'raw'}_ratio"] = r["ratio"]
        runs.append(row)
        print(f"rep {rep:2d}: same {row['same']['ref_ratio']:.3f} ({row['same']['ref@5%']}), "
              f"slower {row['slower']['ref_ratio']:.3f} ({row['slower']['ref@5%']}); raw ratios "
              f"{row['same']['raw_ratio']:.3f} / {row['slower']['raw_ratio']:.3f}; "
              f"regress took {row['same']['seconds']} s", flush=True)
    summary = {}
    for mode in [f"{m}@{t:.0%}" for m in ("ref", "raw") for t in THRESHOLDS]:
        summary[mode] = {
            "false_alarms": sum(r["same"][mode] == "regressed" for r in runs),
            "detections": sum(r["slower"][mode] == "regressed" for r in runs), "reps": len(runs)}
    summary["cli_exit_1"] = {"same": sum(r["same"]["exit"] == 1 for r in runs),
                             "slower": sum(r["slower"]["exit"] == 1 for r in runs)}
    secs = sorted(r[c]["seconds"] for r in runs for c in ("same", "slower"))
    summary["regress_wall_s_median"] = secs[len(secs) // 2]
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
