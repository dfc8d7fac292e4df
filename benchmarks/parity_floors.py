"""Where the default parity floors come from: what real and broken conversions measure.

For the real v1-0.25-128 weights every precision and format is converted with calib100 and every
PTQ algorithm (the converters' own minmax included), and its parity measured on images held apart
from calibration (the default check set) and on fullres20 (labelled: top-1 drop). Then the same for
deliberately broken int8 conversions: calibration on blank images, and on near-black ones (pixels / 16:
calibration data that went through a wrong scaling, the commonest preprocessing bug). Random-weight models (v1, v2, v3 small variants, three
seeds) give the SQNR range a healthy conversion of a model without meaningful accuracy reaches.

    .venv/bin/python benchmarks/parity_floors.py --data ../shared/data --json benchmarks/results/parity_floors.json

The floors in ``edgekit/export/parity.py`` sit between the worst healthy and the best broken row.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import edgekit  # noqa: E402
from edgekit.environment import fingerprint  # noqa: E402


def _folder(root: Path, name: str, images: list[np.ndarray]) -> str:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i:03d}.png")
    return str(folder)


def _rows(artifacts, label: str) -> list[dict]:
    rows = []
    for a in artifacts:
        p = a["parity"]
        rows.append({"case": label, "artifact": f"{a['format']}-{a['precision']}" + ("-mixed" if a.get("variant") else ""),
                     "images": p["images"], "sqnr_db": p["sqnr_db"], "top1_agreement": round(p["top1_agreement"], 3),
                     "max_abs_diff": round(p["max_abs_diff"], 5), "drop_pts": p.get("drop_pts"),
                     "passed": p.get("passed")})
        print(f"{label:38s} {rows[-1]['artifact']:18s} SQNR {p['sqnr_db']:6.2f} dB  agree {p['top1_agreement']:5.1%}"
              + (f"  drop {p['drop_pts']:+.1f}" if p.get("drop_pts") is not None else ""), flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    data = Path(args.data)
    weights = str(data / "weights" / "mobilenet_2_5_128_tf.h5")
    calib, full = str(data / "imagenet-val" / "calib100"), str(data / "imagenet-val" / "fullres20")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="edgekit-floors-") as tmp:
        root = Path(tmp)
        common = {"weights": weights, "calib": calib, "require": "none"}
        for check, where in ((None, "held apart from calib100"), (full, "fullres20")):
            label = f"real v1, {where}"
            rows += _rows(edgekit.convert("v1-0.25-128", precisions=("float", "fp16", "dynamic", "int8", "int16x8"),
                                          formats=("tflite", "onnx"), skip_unsupported=True, check=check,
                                          out=str(root / "ok"), warn=lambda m: None, **common), label)
        for ptq in ("gptq", "bias-correction", "minmax"):
            rows += _rows(edgekit.convert("v1-0.25-128", precisions=("int8",), formats=("tflite", "onnx"), ptq=ptq,
                                          check=full, out=str(root / ptq), warn=lambda m: None, **common),
                          f"real v1, --ptq {ptq}, fullres20")
        from edgekit.data.dataset import list_images
        from edgekit.data.images import load_image

        pixels = [load_image(p, 128) for p in list_images(Path(calib))[:32]]
        blank = _folder(root, "blank", [np.zeros_like(p) for p in pixels])
        dark = _folder(root, "dark", [p // 16 for p in pixels])
        for folder, what in ((blank, "blank calibration images"), (dark, "calibration pixels / 16")):
            rows += _rows(edgekit.convert("v1-0.25-128", precisions=("int8",), formats=("tflite", "onnx"),
                                          weights=weights, calib=folder, check=full, require="none",
                                          out=str(root / Path(folder).name), warn=lambda m: None),
                          f"BROKEN real v1, {what}")
        for model in ("v1-0.25-128", "v2-0.35-96", "v3-small-0.75-96"):
            for seed in (0, 1, 2):
                rows += _rows(edgekit.convert(model, weights=f"none:{seed}", precisions=("int8",),
                                              formats=("tflite", "onnx"), calib=calib, require="none",
                                              out=str(root / "random"), warn=lambda m: None),
                              f"random {model} seed {seed}")
            rows += _rows(edgekit.convert(model, weights="none:0", precisions=("dynamic", "int16x8"),
                                          calib=calib, require="none", out=str(root / "random"),
                                          warn=lambda m: None), f"random {model} seed 0")
            rows += _rows(edgekit.convert(model, weights="none:0", precisions=("int8",), formats=("tflite", "onnx"),
                                          calib=blank, check=calib, require="none", out=str(root / "random-blank"),
                                          warn=lambda m: None), f"BROKEN random {model}, blank calibration")
    if args.json:
        env = fingerprint()
        Path(args.json).write_text(json.dumps({"command": " ".join(sys.argv), "cpu": env["cpu"],
                                               "git": env["git"], "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
