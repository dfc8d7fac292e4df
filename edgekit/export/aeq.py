"""A float .tflite file to int8 (and dynamic-range, int16x8) TFLite with Google's AI Edge Quantizer.

The right tool for a float TFLite someone else made: it quantizes the flatbuffer itself with our
calibration images (recipes as data: ``static_wi8_ai8``, ``dynamic_wi8_afp32``, ``static_wi8_ai16``),
so nothing goes through another format and back. Its int8 model quantizes the model's inputs and
outputs too (the runtime maps our float images onto them with their own scale and zero point).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

from edgekit.errors import EdgekitError, first_line

RECIPES = {"int8": "static_wi8_ai8", "dynamic": "dynamic_wi8_afp32", "int16x8": "static_wi8_ai16"}
EXTRA = "AI Edge Quantizer (Google's quantizer for .tflite files): pip install 'edgekit[convert]'"


def available() -> bool:
    try:
        import ai_edge_quantizer  # noqa: F401
    except ImportError:
        return False
    return True


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as v

    try:
        return v("ai-edge-quantizer")
    except PackageNotFoundError:
        return "?"


def quantize(float_tflite: bytes, precision: str, calibration: np.ndarray | None, scratch: str) -> bytes:
    """``float_tflite`` quantized at ``precision`` (``RECIPES``), calibrated on ``calibration`` (preprocessed,
    in the model's input layout; not needed for dynamic range)."""
    import os

    try:
        from ai_edge_quantizer import quantizer, recipe
    except ImportError:
        raise EdgekitError(EXTRA) from None
    if precision not in RECIPES:
        raise EdgekitError(f"AI Edge Quantizer makes {', '.join(RECIPES)} from a float .tflite, not {precision}")
    source = os.path.join(scratch, "source.tflite")
    with open(source, "wb") as handle:
        handle.write(with_signature(float_tflite))
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            q = quantizer.Quantizer(source)
            q.load_quantization_recipe(getattr(recipe, RECIPES[precision])())
            result = None
            if precision != "dynamic":
                if calibration is None:
                    raise EdgekitError(f"{precision} needs calibration images")
                key, name = _signature(source)
                result = q.calibrate({key: [{name: image[None].astype(np.float32)} for image in calibration]},
                                     num_threads=1)
            quantized = q.quantize(result, enable_progress_bar=False, enable_progress_report=False)
            target = os.path.join(scratch, f"{precision}.tflite")
            quantized.export_model(target, overwrite=True)
    except EdgekitError:
        raise
    except Exception as exc:  # the quantizer's own errors: one line, the details in the log
        raise EdgekitError(f"AI Edge Quantizer failed ({precision}): {first_line(exc)}") from exc
    with open(target, "rb") as handle:
        return handle.read()


def _signature(path: str) -> tuple[str, str]:
    """The file's (signature key, input name): what the quantizer's calibration data is keyed by."""
    from ai_edge_litert import interpreter as litert

    signatures = litert.Interpreter(model_path=path).get_signature_list()
    key = next(iter(signatures))
    return key, signatures[key]["inputs"][0]


def with_signature(data: bytes) -> bytes:
    """``data`` as it is when it has a signature; else with one added (``serving_default``, its graph inputs and
    outputs by tensor name): files converted from TF1 frozen graphs, and MediaPipe's, have none, and the
    quantizer keys calibration data by signature. The graph itself is untouched."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(data, 0)
    if model.signatureDefs:
        return data
    sub = model.subgraphs[0]

    def mapping(indices):
        out = []
        for index in indices:
            entry = schema.TensorMapT()
            entry.name = (sub.tensors[index].name or b"tensor_%d" % index).decode() if isinstance(
                sub.tensors[index].name, bytes) else (sub.tensors[index].name or f"tensor_{index}")
            entry.tensorIndex = int(index)
            out.append(entry)
        return out

    signature = schema.SignatureDefT()
    signature.signatureKey = "serving_default"
    signature.subgraphIndex = 0
    signature.inputs, signature.outputs = mapping(sub.inputs), mapping(sub.outputs)
    model.signatureDefs = [signature]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
