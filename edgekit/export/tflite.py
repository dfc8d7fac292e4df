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


def postprocess_signature(num_classes: int, max_detections: int, iou: float, score: float, scales) -> str:
    """The ``experimental_implements`` string TFLiteConverter turns into ``TFLite_Detection_PostProcess`` (the OD
    API's ``export_tflite_graph_lib_tf2``): fast NMS (each anchor ranked by its best class), one class per box.
    Floats are written with ``repr`` so 1e-8 does not become 0.000000 as ``%f`` makes it."""
    attrs = [("max_detections", "i", max_detections), ("max_classes_per_detection", "i", 1),
             ("use_regular_nms", "b", "false"), ("nms_score_threshold", "f", repr(float(score))),
             ("nms_iou_threshold", "f", repr(float(iou))), ("y_scale", "f", repr(float(scales[0]))),
             ("x_scale", "f", repr(float(scales[1]))), ("h_scale", "f", repr(float(scales[2]))),
             ("w_scale", "f", repr(float(scales[3]))), ("num_classes", "i", num_classes)]
    return " ".join(['name: "TFLite_Detection_PostProcess"'] +
                    [f'attr {{ key: "{k}" value {{ {t}: {v} }} }}' for k, t, v in attrs])


def save_detector(model, folder: str, anchors: np.ndarray, roles: tuple[int, int], num_classes: int,
                  max_detections: int, iou: float, score: float, scales) -> str:
    """Write a raw SSD head (box encodings, class scores) as a SavedModel whose graph ends in TFLite's
    ``TFLite_Detection_PostProcess``: outputs output_00 boxes (1, M, 4) [ymin, xmin, ymax, xmax], output_01 classes,
    output_02 scores (1, M), output_03 count (1,), float32 at every precision (the op reads float). ``anchors``:
    (N, 4) [yc, xc, h, w], a constant of the graph; ``roles``: which outputs are the encodings and the scores."""
    import tensorflow as tf

    shape = (1, *model.input_shape[1:])
    module = tf.Module()
    module.tracked = [v.value for v in model.weights]  # as save_model: frozen weights, not variable reads
    table = tf.constant(np.asarray(anchors, np.float32))

    @tf.function(experimental_implements=postprocess_signature(num_classes, max_detections, iou, score, scales))
    def detection_postprocess(box_encodings, class_predictions, anchor_boxes):
        zero = tf.constant(0.0)  # the body is discarded: the converter writes the op in its place
        return zero, zero, zero, zero

    def serve(x):
        out = model(x, training=False)
        boxes, classes, scores, count = detection_postprocess(out[roles[0]], out[roles[1]], table)
        return {f"{MULTI_OUTPUT}00": boxes, f"{MULTI_OUTPUT}01": classes, f"{MULTI_OUTPUT}02": scores,
                f"{MULTI_OUTPUT}03": count}

    module.serve = tf.function(serve, input_signature=[tf.TensorSpec(shape, tf.float32, name="input")])
    tf.saved_model.save(module, folder, signatures={"serving_default": module.serve})
    return folder


def convert(saved_model: str, precision: str, calibration: np.ndarray | None = None, io: str = "float",
            input_name: str = "input", float_outputs: bool = False) -> bytes:
    """Convert a SavedModel (``save_model``). ``calibration``: a preprocessed float batch (int8/int16x8);
    ``float_outputs``: int8 with integer input but float32 outputs (a detector's post-processing op reads float)."""
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
            converter.inference_output_type = tf.float32 if float_outputs else io_type
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
