"""TFLite export with TFLiteConverter: float32, float16 weights, dynamic-range int8,
full-integer int8 (per-channel weights; float, int8 or uint8 model I/O) and int16x8.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from edgekit.errors import EdgekitError, first_line
from edgekit.vocab import FORMAT_PRECISIONS

PRECISIONS = FORMAT_PRECISIONS["tflite"]
MULTI_OUTPUT = "output_"  # the signature names of a several-output model's outputs: output_00, output_01, ...
NEEDS_CALIBRATION = ("int8", "int16x8")


def representative(batch: np.ndarray, name: str = "input") -> Callable[[], Iterable[list[np.ndarray]]]:
    """TFLiteConverter's representative dataset: one preprocessed image per step."""
    def gen():
        for image in batch:
            yield {name: image[None].astype(np.float32)}
    return gen


def save_model(model, folder: str, batch: int = 1) -> str:
    """Write ``model`` as a TF SavedModel with one fixed-shape signature; returns the folder.

    TFLiteConverter.from_keras_model re-exports the model on every call (~12 s for a small
    MobileNet); saving once with a single signature takes ~4 s and each conversion then starts
    from it. The Keras variables are tracked explicitly so their values are saved.
    """
    import tensorflow as tf

    shape = (batch, *model.input_shape[1:])
    module = tf.Module()
    module.tracked = [v.value for v in model.weights]

    def serve(x):
        out = model(x, training=False)
        if isinstance(out, (list, tuple)):  # several outputs: named in order (LiteRT reads them back by name)
            return {f"{MULTI_OUTPUT}{i:02d}": o for i, o in enumerate(out)}
        return {"logits": out}

    module.serve = tf.function(serve, input_signature=[tf.TensorSpec(shape, tf.float32, name="input")])
    tf.saved_model.save(module, folder, signatures={"serving_default": module.serve})
    return folder


def convert(saved_model: str, precision: str, calibration: np.ndarray | None = None, io: str = "float",
            input_name: str = "input") -> bytes:
    """Convert a SavedModel (``save_model``). ``calibration``: a preprocessed float batch (int8/int16x8)."""
    import tensorflow as tf

    if precision not in PRECISIONS:
        raise EdgekitError(f"unknown TFLite precision '{precision}' (known: {', '.join(PRECISIONS)})")
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
    if precision == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif precision == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif precision in NEEDS_CALIBRATION:
        if calibration is None:
            raise EdgekitError(f"{precision} needs calibration images")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative(calibration, input_name)
        if precision == "int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            io_type = {"float": tf.float32, "int8": tf.int8, "uint8": tf.uint8}[io]
            converter.inference_input_type = io_type
            converter.inference_output_type = io_type
        else:
            # Ops without int16x8 kernels (HARD_SWISH in v3) fall back to float instead of failing.
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
                tf.lite.OpsSet.TFLITE_BUILTINS,
            ]
    try:
        return bytes(converter.convert())
    except Exception as exc:  # ConverterError, RuntimeError from the calibrator, ...
        raise EdgekitError(f"TFLiteConverter failed ({precision}): {first_line(exc)}") from exc
