"""Post-training int8 quantization study on the real v1-0.25-128 weights.

Every weight-rounding algorithm (edgekit.quant) x every format, plus ONNX Runtime's activation
calibration methods, plus ai-edge-quantizer (when installed) on the float .tflite: top-1 / top-5
on eval300 (central crop 0.875), top-1 agreement with float and SQNR of the logits.
Calibration: calib100 (never eval data).

Run: .venv/bin/python benchmarks/ptq_study.py [--data ../shared/data] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from edgekit.export import onnx as onnx_export  # noqa: E402
from edgekit.vocab import ONNX_CALIBRATION  # noqa: E402
from edgekit.export import tflite as tflite_export  # noqa: E402
from edgekit.export.calibration import load_folder  # noqa: E402
from edgekit.export.parity import sqnr_db  # noqa: E402
from edgekit.export.quiet import quiet  # noqa: E402
from edgekit.tasks.classification import topk  # noqa: E402
from edgekit.data.dataset import labelled_images  # noqa: E402
from edgekit.data.images import load_batch  # noqa: E402
from edgekit.quant import ALGORITHMS, prepare_for_int8  # noqa: E402
from edgekit.run.runtime import Classifier, open_runtime  # noqa: E402
from edgekit.zoo.build import build  # noqa: E402
from edgekit.zoo.spec import parse_model  # noqa: E402


def scores_of(data: bytes, suffix: str, spec, pixels) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"m{suffix}"
        path.write_bytes(data)
        with quiet():
            runtime = open_runtime(path)
        with runtime:
            return Classifier(runtime, spec.preprocessing.apply).scores(pixels)


def aeq_variants(float_tflite: bytes, calibration: np.ndarray):
    """ai-edge-quantizer's static int8 recipe with its weight algorithms, if the package is there."""
    try:
        from ai_edge_quantizer import quantizer, recipe  # noqa: F401
    except ImportError:
        return {}
    out = {}
    for algo in ("min_max_uniform_quantize", "OCTAV", "MSE", "GPTQ"):
        try:
            with tempfile.TemporaryDirectory() as tmp:
                src = Path(tmp) / "float.tflite"
                src.write_bytes(float_tflite)
                q = quantizer.Quantizer(str(src))
                cfg = {
                    "activation_tensor_config": {"num_bits": 8, "symmetric": False, "granularity": "TENSORWISE", "dtype": "INT"},
                    "weight_tensor_config": {"num_bits": 8, "symmetric": True, "granularity": "CHANNELWISE", "dtype": "INT"},
                    "compute_precision": "INTEGER", "explicit_dequantize": False,
                }
                q.load_quantization_recipe([{"regex": ".*", "operation": "*", "algorithm_key": algo, "op_config": cfg}])
                name = q._signature_input_name if hasattr(q, "_signature_input_name") else None
                calib = {"serving_default": [{name or _input_name(src): x[None]} for x in calibration]}
                with quiet():
                    result = q.calibrate(calib)
                    quantized = q.quantize(result)
                out[f"aeq-{algo}"] = bytes(quantized.quantized_model)
        except Exception as exc:  # report, do not hide: the study lists what failed and why
            out[f"aeq-{algo}"] = exc
    return out


def _input_name(path: Path) -> str:
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner()
    return next(iter(runner.get_input_details()))


def seed_spread(model, spec, calib_x, pixels, labels, reference, seeds: int, scratch: str) -> dict:
    """TFLite int8 for gptq and gptq-seq with ``seeds`` different patch samples: the spread of the
    metrics between equally valid runs of one algorithm, i.e. how much a single figure can be trusted."""
    out = {}
    for algo in ("gptq", "gptq-seq"):
        runs = []
        for seed in range(seeds):
            with quiet():
                prepared = prepare_for_int8(model, calib_x, algo, seed=seed)
                tfl = tflite_export.convert(tflite_export.save_model(prepared, f"{scratch}/{algo}-{seed}"), "int8", calib_x)
            scores = scores_of(tfl, ".tflite", spec, pixels)
            runs.append({"seed": seed, "drop": 100 * (topk(reference, labels, 1) - topk(scores, labels, 1)),
                         "agreement": 100 * float(np.mean(scores.argmax(1) == reference.argmax(1))),
                         "sqnr_db": sqnr_db(reference, scores)})
        summary = {key: (float(np.mean([r[key] for r in runs])), float(np.std([r[key] for r in runs], ddof=1)))
                   for key in ("drop", "agreement", "sqnr_db")}
        out[algo] = {"runs": runs, "mean_sd": summary}
        print(f"{algo:9s} over {seeds} seeds: drop {summary['drop'][0]:.2f} +- {summary['drop'][1]:.2f} pt  "
              f"agree {summary['agreement'][0]:.1f} +- {summary['agreement'][1]:.1f}%  "
              f"SQNR {summary['sqnr_db'][0]:.2f} +- {summary['sqnr_db'][1]:.2f} dB  "
              f"(drops {', '.join(format(r['drop'], '.2f') for r in runs)})", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.environ.get("EDGEKIT_DATA", "../shared/data"))
    parser.add_argument("--json", help="also write the rows here")
    parser.add_argument("--seeds", type=int, default=5,
                        help="TFLite int8 of gptq and gptq-seq over this many sampling seeds (0: skip)")
    args = parser.parse_args()
    data = Path(args.data)
    spec = parse_model("v1-0.25-128")
    with quiet():
        model, _ = build(spec, str(data / "weights" / "mobilenet_2_5_128_tf.h5"), logits=True)
    calib = load_folder(data / "imagenet-val" / "calib100", 128, 100)
    calib_x = spec.preprocessing.apply(calib.pixels)
    pairs = labelled_images(data / "imagenet-val" / "eval300")
    pixels = load_batch([p for p, _ in pairs], 128)
    labels = np.array([label for _, label in pairs])
    reference = np.asarray(model.predict(spec.preprocessing.apply(pixels), verbose=0))

    rows = []

    def record(name: str, scores: np.ndarray, seconds: float) -> None:
        row = {"method": name, "top1": topk(scores, labels, 1), "top5": topk(scores, labels, 5),
               "agreement": float(np.mean(scores.argmax(1) == reference.argmax(1))),
               "sqnr_db": round(sqnr_db(reference, scores), 2), "seconds": round(seconds, 1)}
        row["drop"] = round(100 * (topk(reference, labels, 1) - row["top1"]), 2)
        rows.append(row)
        print(f"{name:34s} top1 {row['top1']:.1%}  top5 {row['top5']:.1%}  drop {row['drop']:+.1f} pt  "
              f"agree {row['agreement']:.1%}  SQNR {row['sqnr_db']:.1f} dB  ({seconds:.0f} s)", flush=True)

    record("keras float", reference, 0)
    scratch = tempfile.mkdtemp(prefix="edgekit-study-")
    with quiet():
        float_tflite = tflite_export.convert(tflite_export.save_model(model, f"{scratch}/float"), "float")
    for algo in ALGORITHMS:
        start = time.perf_counter()
        with quiet():
            prepared = prepare_for_int8(model, calib_x, algo)
            tfl = tflite_export.convert(tflite_export.save_model(prepared, f"{scratch}/{algo}"), "int8", calib_x)
            onnx_float = onnx_export.convert_float(prepared)
        record(f"tflite int8, weights {algo}", scores_of(tfl, ".tflite", spec, pixels), time.perf_counter() - start)
        for method in ONNX_CALIBRATION:
            if method != "minmax" and algo not in ("minmax", "gptq", "gptq-seq"):
                continue
            start = time.perf_counter()
            with quiet():
                onx = onnx_export.quantize_int8(onnx_float, calib_x, method)
            record(f"onnx int8, weights {algo}, act {method}", scores_of(onx, ".onnx", spec, pixels),
                   time.perf_counter() - start)
    spread = seed_spread(model, spec, calib_x, pixels, labels, reference, args.seeds, scratch) if args.seeds else {}
    for name, result in aeq_variants(float_tflite, calib_x).items():
        if isinstance(result, Exception):
            print(f"{name:34s} failed: {str(result).splitlines()[0][:150]}")
            rows.append({"method": name, "error": str(result)[:300]})
            continue
        record(name, scores_of(result, ".tflite", spec, pixels), 0)
    print(f"eval300: {len(labels)} images, crop 0.875; calibration: calib100 ({len(calib_x)} images)")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "seed_spread": spread}, indent=2))


if __name__ == "__main__":
    main()
