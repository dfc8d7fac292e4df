"""The hard-swish forms side by side on the same int8 kernels: SQNR of int8 logits against float.

For each model (random weights, BN statistics warmed on calib100; no v3 ImageNet weights offline)
the kernels are rounded once with the default PTQ algorithm; then each form is converted to int8
TFLite with the same calibration and scored on eval300 against the Keras float logits:
- stock: the converter's HARD_SWISH;
- gate-first: ReLU6(x + 3) * (x * 1/6) everywhere (the split before folding);
- folded: x * ReLU6(x + 3) with the 1/6 in the next kernels (edgekit's default), without and with
  the gates patched to [0, 6] (export/relu6_ranges.py); gate-first with the patch too.
With --seeds N the whole comparison is repeated on N random-weight networks (seeds 0..N-1) and the
paired difference default - stock is summarised (each draw, mean, smallest) beside a control: the
stock graph recalibrated on 90 of the 100 images, whose own shift is the comparison's resolution.
One draw of weights cannot say "no worse"; the spread over draws can.
Latency of the default against stock and float is benchmarks/v3_int8.py's job.

Run: .venv/bin/python benchmarks/hswish_forms.py --data ../shared/data [--models v3-small v3-large] [--images 300] [--seeds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from edgekit.export import calibration as cal  # noqa: E402
from edgekit.export import tflite as tflite_export  # noqa: E402
from edgekit.export.parity import sqnr_db  # noqa: E402
from edgekit.export.quiet import quiet  # noqa: E402
from edgekit.export.relu6_ranges import tighten  # noqa: E402
from edgekit.export.rewrite import split_hard_swish  # noqa: E402
from edgekit.quant import prepare_for_int8  # noqa: E402
from edgekit.vocab import DEFAULT_PTQ as DEFAULT_ALGORITHM  # noqa: E402
from edgekit.run.runtime import open_runtime  # noqa: E402
from edgekit.zoo.build import build, warm_batchnorm  # noqa: E402
from edgekit.zoo.spec import parse_model  # noqa: E402


def scores(data: bytes, x: np.ndarray, folder: str) -> np.ndarray:
    path = Path(folder) / "model.tflite"
    path.write_bytes(data)
    with quiet(), open_runtime(path, threads=2) as runtime:  # float I/O: the images go in as they are
        return np.concatenate([runtime.run(image[None]) for image in x])


DEFAULT_FORM = "folded + [0,6] gates"
CONTROL = "stock, calibrated on 90 of 100"


def forms(model: str, data: Path, images: int, seed: int = 0) -> dict:
    spec = parse_model(model)
    calib = spec.preprocessing.apply(cal.load_folder(data / "imagenet-val" / "calib100", spec.resolution, 100).pixels)
    x = spec.preprocessing.apply(cal.load_folder(data / "imagenet-val" / "eval300", spec.resolution, images).pixels)
    x = x.astype(np.float32)
    with quiet():
        keras_model, _ = build(spec, f"none:{seed}", logits=True)
        warm_batchnorm(keras_model, calib)
    reference = np.concatenate([np.asarray(keras_model(x[i:i + 50])) for i in range(0, len(x), 50)])
    rounded = prepare_for_int8(keras_model, calib, DEFAULT_ALGORITHM)
    variants = {"stock": (rounded, 0), "gate-first": split_hard_swish(rounded, fold=False),
                "folded": split_hard_swish(rounded)}
    out = {}
    with tempfile.TemporaryDirectory() as scratch:
        saved = {}
        for label, (variant, folded) in variants.items():
            with quiet():
                saved[label] = tflite_export.save_model(variant, f"{scratch}/{label}")
                int8 = tflite_export.convert(saved[label], "int8", calib)
            out[label] = round(sqnr_db(reference, scores(int8, x, scratch)), 2)
            if label != "stock":
                patched, names = tighten(int8)
                out[f"{label} + [0,6] gates"] = round(sqnr_db(reference, scores(patched, x, scratch)), 2)
                out[f"{label}: activations folded"] = folded
                out[f"{label}: gates patched"] = len(names)
        # control: the stock graph again, calibrated on 90 of the 100 images. How far SQNR moves with
        # that is the resolution of the comparison: form differences below it are not differences.
        with quiet():
            int8 = tflite_export.convert(saved["stock"], "int8", calib[10:])
        out[CONTROL] = round(sqnr_db(reference, scores(int8, x, scratch)), 2)
    return {"sqnr_db_vs_keras_float": out, "images": f"{len(x)} of eval300", "ptq": DEFAULT_ALGORITHM,
            "weights": f"random (seed {seed}), BN warmed on calib100"}


def paired(runs: list[dict], form: str = DEFAULT_FORM, against: str = "stock",
           control: str = CONTROL) -> dict:
    """``form`` - ``against`` SQNR over the seeds (each difference, mean, smallest, draws not worse),
    beside ``control`` - ``against``: the same graph recalibrated, i.e. the comparison's resolution."""
    def diff(a: str) -> np.ndarray:
        return np.array([r["sqnr_db_vs_keras_float"][a] - r["sqnr_db_vs_keras_float"][against] for r in runs])

    diffs, noise = diff(form), diff(control)
    return {"form": form, "against": against, "differences_db": [round(float(d), 2) for d in diffs],
            "mean_db": round(float(diffs.mean()), 2), "min_db": round(float(diffs.min()), 2),
            "not_worse": f"{int((diffs >= 0).sum())} of {len(diffs)} draws",
            "control": control, "control_differences_db": [round(float(d), 2) for d in noise],
            "control_largest_abs_db": round(float(np.abs(noise).max()), 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("EDGEKIT_DATA", "../shared/data")))
    parser.add_argument("--models", nargs="+", default=["v3-small", "v3-large"])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=1, help="random-weight draws per model (seeds 0..N-1)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = {}
    for model in args.models:
        runs = []
        for seed in range(args.seeds):
            runs.append(forms(model, args.data, args.images, seed))
            print(json.dumps({model: runs[-1]}, indent=1), flush=True)
        report[model] = runs[0] if args.seeds == 1 else {"seeds": runs, "paired": paired(runs)}
        if args.seeds > 1:
            print(json.dumps({model: report[model]["paired"]}, indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
