"""TFLite export with TFLiteConverter: float32, float16 weights, dynamic-range int8,
full-integer int8 (per-channel weights; float, int8 or uint8 model I/O) and int16x8.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from edgekit.errors import EdgekitError

PRECISIONS = ("float", "fp16", "dynamic", "int8", "int16x8")
IO_TYPES = ("float", "int8", "uint8")
NEEDS_CALIBRATION = ("int8", "int16x8")


def representative(batch: np.ndarray) -> Callable[[], Iterable[list[np.ndarray]]]:
    """TFLiteConverter's representative dataset: one preprocessed image per step."""
    def gen():
        for image in batch:
            yield [image[None].astype(np.float32)]
    return gen


def convert(model, precision: str, calibration: np.ndarray | None = None, io: str = "float") -> bytes:
    """Convert a Keras model. ``calibration`` is a preprocessed float batch (int8/int16x8 only)."""
    import tensorflow as tf

    if precision not in PRECISIONS:
        raise EdgekitError(f"unknown TFLite precision '{precision}' (known: {', '.join(PRECISIONS)})")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if precision == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif precision == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif precision in NEEDS_CALIBRATION:
        if calibration is None:
            raise EdgekitError(f"{precision} needs calibration images")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative(calibration)
        if precision == "int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            io_type = {"float": tf.float32, "int8": tf.int8, "uint8": tf.uint8}[io]
            converter.inference_input_type = io_type
            converter.inference_output_type = io_type
        else:
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            ]
    return bytes(converter.convert())
