"""Top-1/top-5 of exported artifacts on a labelled folder, beside the Keras float model.

A stop-gap until `edgekit eval` exists: it runs every artifact in MODEL_DIR (as written by
`edgekit convert`) with its own runtime, using the preprocessing recorded in its sidecar.

Run: .venv/bin/python benchmarks/export_accuracy.py models/v1-0.25-128 --data ../shared/data/imagenet-val/eval300 \
        [--weights ../shared/data/weights/mobilenet_2_5_128_tf.h5]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from edgekit import chatter  # noqa: E402

chatter.capture()  # TensorFlow's start-up lines stay off the terminal (EDGEKIT_VERBOSE=1 shows them)

import numpy as np  # noqa: E402

from edgekit.export.artifact import read_sidecar  # noqa: E402
from edgekit.export.parity import sqnr_db  # noqa: E402
from edgekit.export.quiet import quiet  # noqa: E402
from edgekit.tasks.classification import topk  # noqa: E402
from edgekit.data.dataset import labelled_images  # noqa: E402
from edgekit.data.images import DEFAULT_CROP, load_batch  # noqa: E402
from edgekit.run.runtime import Classifier, open_runtime  # noqa: E402
from edgekit.zoo.spec import parse_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("--data", required=True)
    parser.add_argument("--weights", help="also evaluate the Keras float model with these weights")
    parser.add_argument("--crop", type=float, default=DEFAULT_CROP)
    parser.add_argument("--json")
    args = parser.parse_args()
    folder = Path(args.model_dir)
    artifacts = sorted(p for p in folder.iterdir() if p.suffix in (".tflite", ".onnx"))
    spec = parse_model(read_sidecar(artifacts[0])["model"]["name"])
    pairs = labelled_images(args.data)
    pixels = load_batch([p for p, _ in pairs], spec.resolution, args.crop)
    labels = np.array([label for _, label in pairs])
    rows, reference = [], None
    if args.weights:
        from edgekit.zoo.build import build

        with quiet():
            model, _ = build(spec, args.weights, logits=True)
        reference = np.asarray(model.predict(spec.preprocessing.apply(pixels), verbose=0))
        rows.append(("keras float", reference, "keras"))
    for path in artifacts:
        with quiet():
            runtime = open_runtime(path)
        with runtime:
            rows.append((path.name, Classifier(runtime, spec.preprocessing.apply).scores(pixels), runtime.name))
    base = rows[0][1] if reference is None else reference
    out = []
    print(f"{spec.name} on {args.data}: {len(labels)} images, central crop {args.crop}")
    for name, scores, runtime in rows:
        row = {"artifact": name, "runtime": runtime, "top1": topk(scores, labels, 1), "top5": topk(scores, labels, 5),
               "agreement_with_float": float(np.mean(scores.argmax(1) == base.argmax(1))),
               "sqnr_db": round(sqnr_db(base, scores), 1) if scores is not base else None}
        out.append(row)
        print(f"  {name:24s} {runtime:12s} top-1 {row['top1']:6.1%}  top-5 {row['top5']:6.1%}  "
              f"agrees with float on {row['agreement_with_float']:6.1%}"
              + (f"  SQNR {row['sqnr_db']:.1f} dB" if row["sqnr_db"] is not None else ""))
    if args.json:
        Path(args.json).write_text(json.dumps({"data": args.data, "count": len(labels), "rows": out}, indent=2))


if __name__ == "__main__":
    main()
