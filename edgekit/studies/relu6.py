"""The ReLU6 study: does the cap at 6 make post-training int8 robust? Same weights, ReLU6 vs ReLU.

MobileNets were trained with ReLU6 partly for low-precision robustness: the cap bounds every
activation's range, so int8's 256 steps stay fine. This swaps every ReLU6 for a plain ReLU (same
weights: the float function changes wherever an activation exceeded 6), then measures for both:
float and int8 top-1 on labelled images, int8 agreement and SQNR against float, the largest
activation each layer reaches over the calibration images, and each layer's int8 error
(TFLite's QuantizationDebugger). The conclusion is written from the numbers, whatever they are.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.export.quiet import quiet
from edgekit.vocab import DEFAULT_CALIB_COUNT, DEFAULT_PTQ


def _relu6_layers(model) -> list:
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.ReLU)
            and layer.get_config().get("max_value") == 6.0]


def _uncapped(model):
    """A copy with every ReLU6 replaced by a plain ReLU, same weights."""
    import keras

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.ReLU) and config.get("max_value") == 6.0:
            config["max_value"] = None
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def _ranges(model, names: list[str], x: np.ndarray) -> list[float]:
    import keras

    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    outs = probe.predict(x, verbose=0, batch_size=16)
    return [float(np.max(np.abs(o))) for o in outs]


def _int8(model, calib_x: np.ndarray, ptq: str, tmp: str):
    from edgekit.export.tflite import convert, save_model
    from edgekit.quant import prepare_for_int8

    quantized = prepare_for_int8(model, calib_x, ptq)
    saved = save_model(quantized, tmp)
    return saved, convert(saved, "int8", calib_x, io="float")


def _run_tflite(data: bytes, x: np.ndarray, tmp: str) -> np.ndarray:
    from edgekit.run.runtime import open_runtime

    path = Path(tmp) / "model.tflite"
    path.write_bytes(data)
    with open_runtime(path) as rt:
        return np.stack([rt.run(image[None].astype(np.float32))[0] for image in x])


def relu6_study(model_name: str, weights: str, calib: str, data: str, *, limit: int | None = None,
                calib_count: int = DEFAULT_CALIB_COUNT, ptq: str = DEFAULT_PTQ) -> dict:
    """The same weights with ReLU6 and with plain ReLU: float and int8 top-1, activation ranges and per-layer int8 error, and a conclusion drawn from them."""
    from edgekit.export import calibration as cal
    from edgekit.export.parity import sqnr_db
    from edgekit.tasks.classification import topk
    from edgekit.data.dataset import labelled_images
    from edgekit.data.images import load_image
    from edgekit.export import debug_tflite
    from edgekit.zoo.build import reference_model
    from edgekit.zoo.spec import parse_model

    spec = parse_model(model_name)
    images = cal.load_folder(calib, spec.resolution, calib_count)
    with quiet():
        model, source, _ = reference_model(spec, weights, images.pixels)
    capped = _relu6_layers(model)
    if not capped:
        raise EdgekitError(f"{spec.name} has no ReLU6 activations to study (v1 and v2 have them; "
                           f"v3 uses ReLU and hard-swish)")
    calib_x = spec.preprocessing.apply(images.pixels)
    pairs = labelled_images(data)[:limit] if limit else labelled_images(data)
    eval_x = spec.preprocessing.apply(np.stack([load_image(p, spec.resolution) for p, _ in pairs]))
    labels = np.array([label for _, label in pairs])
    names = [layer.name for layer in capped]
    held = max(8, len(calib_x) // 5)
    variants = {}
    for variant, net in (("relu6", model), ("relu", _uncapped(model))):
        with quiet(), tempfile.TemporaryDirectory(prefix="edgekit-relu6-") as tmp:
            float_logits = np.asarray(net.predict(eval_x, verbose=0, batch_size=32))
            saved, tflite = _int8(net, calib_x, ptq, tmp)
            int8_logits = _run_tflite(tflite, eval_x, tmp)
            errors = debug_tflite.layer_errors(saved, calib_x[:-held], calib_x[-held:])
            ranges = _ranges(net, names, calib_x)
        by_layer = {}
        for row in errors:  # the debugger names the clone's layers with a suffix
            base = row.layer if row.layer in names else row.layer.rsplit("_", 1)[0]
            if base in names and (base not in by_layer or row.rmse_per_scale > by_layer[base]["rmse_per_scale"]):
                by_layer[base] = {"rmse_per_scale": row.rmse_per_scale, "sqnr_db": row.sqnr_db, "scale": row.scale}
        variants[variant] = {
            "float_top1": round(100 * topk(float_logits, labels, 1), 2),
            "int8_top1": round(100 * topk(int8_logits, labels, 1), 2),
            "int8_agreement": round(100 * float(np.mean(int8_logits.argmax(1) == float_logits.argmax(1))), 2),
            "int8_sqnr_db": round(sqnr_db(float_logits, int8_logits), 2),
            "layers": [{"layer": n, "max_abs_activation": round(r, 3), **by_layer.get(n, {})}
                       for n, r in zip(names, ranges)],
        }
        v = variants[variant]
        v["int8_drop"] = round(v["float_top1"] - v["int8_top1"], 2)
    return {"model": spec.name, "weights": source.to_dict(), "weight_rounding": ptq,
            "calibration": {"source": str(calib), "count": int(len(calib_x))},
            "data": {"source": str(data), "count": int(len(labels))},
            "variants": variants, "conclusion": conclude(variants)}


def conclude(variants: dict) -> str:
    """A short reading of the numbers (no claim is fixed in advance)."""
    capped, free = variants["relu6"], variants["relu"]
    peak = max(layer["max_abs_activation"] for layer in free["layers"])
    median = float(np.median([layer["max_abs_activation"] for layer in free["layers"]]))
    over = sum(layer["max_abs_activation"] > 6 for layer in free["layers"])
    parts = [f"Without the cap, {over} of {len(free['layers'])} layers exceed 6 (largest {peak:.1f}, median "
             f"layer maximum {median:.1f}), so their int8 step grows by up to {peak / 6:.1f}x."]
    parts.append(f"Float top-1 moves from {capped['float_top1']:.1f} (ReLU6, as trained) to {free['float_top1']:.1f} "
                 f"(ReLU): the weights expect the cap.")
    better = "ReLU6" if capped["int8_drop"] < free["int8_drop"] else "ReLU"
    parts.append(f"int8 costs {capped['int8_drop']:.1f} points with ReLU6 and {free['int8_drop']:.1f} with ReLU "
                 f"(agreement {capped['int8_agreement']:.0f}% vs {free['int8_agreement']:.0f}%, SQNR "
                 f"{capped['int8_sqnr_db']:.1f} vs {free['int8_sqnr_db']:.1f} dB): {better} quantizes better here.")
    return " ".join(parts)


def plot(report: dict, path: str | Path) -> Path:
    """Max |activation| per layer, both variants, log scale; written atomically."""
    from edgekit.files import write_atomic
    from edgekit.report.plots import png_bytes, pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 4.6))
    for variant, style in (("relu6", "o-"), ("relu", "s--")):
        layers = report["variants"][variant]["layers"]
        ax.plot(range(len(layers)), [max(l["max_abs_activation"], 1e-3) for l in layers], style, ms=4,
                label=f"{'ReLU6 (as trained)' if variant == 'relu6' else 'plain ReLU'}: int8 top-1 "
                      f"{report['variants'][variant]['int8_top1']:.1f}% (float {report['variants'][variant]['float_top1']:.1f}%)")
    ax.axhline(6, color="#444", lw=1, ls=":", label="the ReLU6 cap (6)")
    names = [l["layer"] for l in report["variants"]["relu6"]["layers"]]
    ax.set_xticks(range(len(names)), [n.replace("conv_", "").replace("_relu", "") for n in names],
                  rotation=60, ha="right", fontsize=7)
    ax.set_yscale("log")
    ax.set_xlabel("activation layer, input to output")
    ax.set_ylabel("max |activation| over calibration images (log)")
    ax.set_title(f"{report['model']}: activation range per layer, ReLU6 vs ReLU "
                 f"({report['calibration']['count']} calibration images; top-1 on {report['data']['count']} images)",
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, png_bytes(fig))
    return path
