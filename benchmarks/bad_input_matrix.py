"""The bad-input matrix of issue 27: every case run as a user would, with the exit status and the number
of stderr lines, for one edgekit (``--python``: the interpreter whose edgekit to run, e.g. an older
checkout's venv, to set today's code beside the fix).

    .venv/bin/python benchmarks/bad_input_matrix.py --data ../shared/data --json benchmarks/results/bad_input.json
    .venv/bin/python benchmarks/bad_input_matrix.py --python ../base/.venv/bin/python --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(python: str, args: list[str], cwd: Path, timeout: float = 600) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "COLUMNS": "120"}
    done = subprocess.run([python, "-m", "edgekit", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return {"exit": done.returncode, "stderr_lines": len(lines),
            "last": (lines[-1] if lines else "")[:160]}


def fixtures(python: str, data: Path, work: Path) -> dict:
    """What the cases need: one of our exports (then changed on disk), garbage baselines, odd folders."""
    calib = data / "imagenet-val" / "calib100"
    out = work / "models"
    run(python, ["convert", "--model", "v1-0.25-128", "--weights", str(data / "weights" / "mobilenet_2_5_128_tf.h5"),
                 "--float", "--calib", str(calib), "--calib-count", "16", "--out", str(out)], work)
    ours = out / "v1-0.25-128" / "tflite-float.tflite"
    changed = work / "changed" / ours.name
    changed.parent.mkdir()
    shutil.copyfile(ours, changed)
    shutil.copyfile(ours.with_suffix(".json"), changed.with_suffix(".json"))
    data_bytes = bytearray(changed.read_bytes())
    data_bytes[len(data_bytes) // 2: len(data_bytes) // 2 + 1024] = bytes(1024)
    changed.write_bytes(bytes(data_bytes))
    truncated = work / "truncated" / ours.name
    truncated.parent.mkdir()
    shutil.copyfile(ours, truncated)
    truncated.with_suffix(".json").write_text('{"truncated": ')
    google = data / "coral" / "mobilenet_v1_0.25_128_quant.tflite"
    good, bad = work / "good.json", work / "bad.json"
    run(python, ["bench", str(google), "--save-baseline", str(good), "--sessions", "2", "--no-reference",
                 "--no-record", "--runs", "5", "--min-time", "0", "--rounds", "1"], work)
    baseline = json.loads(good.read_text())
    baseline["entries"][0]["result"]["samples_ms"][:4] = [-1, math.nan, -5, 0]
    baseline["entries"][0]["result"]["median_ms"] = -1
    bad.write_text(json.dumps(baseline))
    loop = work / "loop"
    loop.symlink_to(loop)
    (work / "a-file").write_text("x")
    binary = work / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    labelled = work / "bom"
    (labelled / "images").mkdir(parents=True)
    rows = []
    for i, image in enumerate(sorted((data / "imagenet-val" / "eval300" / "images").iterdir())[:6]):
        shutil.copyfile(image, labelled / "images" / image.name)
        rows.append(f"{image.name},{'cat' if i % 2 else 'dog'}")
    (labelled / "labels.csv").write_bytes(b"\xef\xbb\xbf" + ("filename,class\n" + "\n".join(rows) + "\n").encode())
    twice = work / "twice"
    shutil.copytree(labelled, twice)
    (twice / "labels.csv").write_text("filename,class\n" + "\n".join(rows + [rows[0].replace("dog", "cat")]) + "\n")
    fifo = work / "fifo.tflite"
    os.mkfifo(fifo)
    return {"ours": ours, "changed": changed, "truncated": truncated, "google": google, "good": good, "bad": bad,
            "loop": loop, "file": work / "a-file", "binary": binary, "bom": labelled, "twice": twice, "fifo": fifo,
            "calib": calib, "eval": data / "imagenet-val" / "eval300", "parrot": data / "coral" / "parrot.jpg"}


def cases(f: dict, work: Path) -> list[tuple[str, list[str]]]:
    g, quick = str(f["google"]), ["--runs", "2", "--min-time", "0", "--rounds", "1", "--no-record"]
    return [
        ("regress on a NaN/negative baseline", ["regress", "--baseline", str(f["bad"]), "--candidate", str(f["good"])]),
        ("eval of an artifact changed on disk", ["eval", str(f["changed"]), "--data", str(f["eval"]), "--limit", "4",
                                                "--no-record"]),
        ("bench of an artifact changed on disk", ["bench", str(f["changed"]), *quick]),
        ("bench with a truncated sidecar", ["bench", str(f["truncated"]), *quick]),
        ("eval --data missing", ["eval", g, "--data", str(work / "missing"), "--no-record"]),
        ("eval --data a file", ["eval", g, "--data", str(f["file"]), "--no-record"]),
        ("eval --data a symlink loop", ["eval", g, "--data", str(f["loop"]), "--no-record"]),
        ("classify --labels a binary file", ["classify", "v1-0.25-128", str(f["parrot"]), "--weights", "none",
                                             "--labels", str(f["binary"])]),
        ("cost --alpha nan", ["cost", "--in", "14x14x512", "--out", "512", "--alpha", "nan"]),
        ("cost --rho 2", ["cost", "--in", "14x14x512", "--out", "512", "--rho", "2"]),
        ("models --family nosuch", ["models", "--family", "nosuch"]),
        ("convert --input-size 0", ["convert", "--model", "v1-0.25-128", "--input-size", "0"]),
        ("bench --sessions 1 --save-baseline", ["bench", g, "--sessions", "1", "--save-baseline", str(work / "b.json")]),
        ("calibrate on a labels.csv with a BOM", ["convert", "--model", "v1-0.25-64", "--int8", "--calib", str(f["bom"]),
                                                  "--check", str(f["calib"]), "--out", str(work / "bom-out")]),
        ("calibrate on duplicate/conflicting labels.csv rows", ["convert", "--model", "v1-0.25-64", "--int8", "--calib",
                                                                str(f["twice"]), "--out", str(work / "twice-out")]),
        ("convert --crop 0", ["convert", "--model", "v1-0.25-32", "--int8", "--calib", str(f["calib"]), "--crop", "0",
                              "--out", str(work / "crop")]),
        ("bench of a FIFO", ["bench", str(f["fifo"]), *quick]),
        ("results --db nodir/x.db", ["results", "--db", str(work / "nodir" / "x.db")]),
        ("bench --min-time nan", ["bench", g, "--min-time", "nan", "--no-record"]),
        ("bench --min-time -1", ["bench", g, "--min-time", "-1", "--no-record"]),
        ("results --limit -1", ["results", "--limit", "-1"]),
        ("classify --top 0", ["classify", "v1-0.25-128", str(f["parrot"]), "--weights", "none", "--top", "0"]),
        ("profile --top -1", ["profile", g, "--top", "-1"]),
        ("quant-report --threshold nan", ["quant-report", "v1-0.25-32", "--calib", str(f["calib"]), "--threshold", "nan"]),
        ("quant-report --calib-count 0", ["quant-report", "v1-0.25-32", "--calib", str(f["calib"]), "--calib-count", "0"]),
        ("regress --max-sessions 0", ["regress", "--baseline", str(f["good"]), "--max-sessions", "0"]),
    ]


def sigterm_case(python: str, work: Path) -> dict:
    """SIGTERM during a conversion: the exit status, the last stderr line, what is left in the temp folder."""
    tmp, out = work / "tmp", work / "sigterm"
    tmp.mkdir()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TMPDIR": str(tmp)}
    proc = subprocess.Popen([python, "-m", "edgekit", "convert", "--model", "v2-0.35-96", "--float", "--int8",
                             "--format", "all", "--calib-count", "16", "--out", str(out)], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(12)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    lines = [line for line in stderr.splitlines() if line.strip()]
    return {"exit": proc.returncode, "stderr_lines": len(lines), "last": (lines[-1] if lines else "")[:160],
            "left_in_temp": sorted(p.name for p in tmp.iterdir())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable, help="The interpreter whose edgekit to run.")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bad-input-") as scratch:
        work = Path(scratch)
        f = fixtures(args.python, args.data.resolve(), work)
        rows = [{"case": name, **run(args.python, cmd, work)} for name, cmd in cases(f, work)]
        rows.append({"case": "SIGTERM during convert", **sigterm_case(args.python, work)})
    width = max(len(r["case"]) for r in rows)
    for r in rows:
        print(f"{r['case']:<{width}}  exit {r['exit']:>3}  stderr {r['stderr_lines']:>2} line(s)  {r['last'][:90]}")
    if args.json:
        args.json.write_text(json.dumps({"python": args.python, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
