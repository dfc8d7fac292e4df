"""A foreign float ONNX model (PyTorch's, say) to TFLite, so it can reach the Pi and the Edge TPU.

onnx2tf (PINTO0309) rewrites the ONNX graph as TensorFlow, NCHW to NHWC, and writes a SavedModel;
from there our own TFLiteConverter path makes every TFLite precision with our calibration images, the
same as for Keras models. It is an optional extra (``pip install 'edgekit[onnx-tflite]'``): onnx2tf pins
exact versions of TensorFlow, ONNX Runtime and numpy for its own command line, so it is installed
without them (``pip install --no-deps onnx2tf``) and runs on ours; ``make setup`` does both.

The TFLite model takes NHWC images whatever the ONNX layout was (onnx2tf transposes the input), so
its calibration and parity images go in NHWC.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import numpy as np

from edgekit.errors import EdgekitError, first_line
from edgekit.export import tflite as tflite_export

EXTRA = ("the ONNX -> TFLite converter is the onnx-tflite extra: pip install 'edgekit[onnx-tflite]' && "
         "pip install --no-deps onnx2tf")
SAVED = "onnx2tf-savedmodel"
SAMPLE = "calibration_image_sample_data_20x128x128x3_float32.npy"  # onnx2tf's own test-image file name


def available() -> bool:
    try:
        import onnx2tf  # noqa: F401
    except ImportError:
        return False
    return True


def _as_nchw(float_onnx: bytes) -> bytes:
    """An NHWC-input ONNX model (a Keras model through tf2onnx) with an NCHW input in front: onnx2tf takes every
    4-D image input for NCHW and transposes it, so the model it writes takes NHWC images again, as the source did."""
    import onnx
    from onnx import helper

    model = onnx.load_from_string(float_onnx)
    initializers = {i.name for i in model.graph.initializer}
    image = next(i for i in model.graph.input if i.name not in initializers)
    n, h, w, c = (d.dim_value for d in image.type.tensor_type.shape.dim)
    outer = helper.make_tensor_value_info(image.name + "_nchw", image.type.tensor_type.elem_type, [n, c, h, w])
    node = helper.make_node("Transpose", [outer.name], [image.name], perm=[0, 2, 3, 1], name="edgekit_nchw_to_nhwc")
    model.graph.node.insert(0, node)
    model.graph.input.remove(image)
    model.graph.input.insert(0, outer)
    return model.SerializeToString()


def _tf_names(float_onnx: bytes) -> bytes:
    """Node names TensorFlow takes as scope names (onnx2tf uses them): PaddlePaddle's exports name nodes
    like 'Softmax@0', which TensorFlow refuses. Only node names change; tensors and the function do not."""
    import re

    import onnx

    model = onnx.load_from_string(float_onnx)
    changed = False
    for i, node in enumerate(model.graph.node):
        clean = re.sub(r"[^A-Za-z0-9_.\\/>-]", "_", node.name) if node.name else node.name
        if clean != node.name:
            node.name, changed = f"{clean}_{i}", True
    return model.SerializeToString() if changed else float_onnx


def saved_model(float_onnx: bytes, scratch: str, layout: str = "nchw") -> str:
    """onnx2tf's SavedModel of ``float_onnx`` in ``scratch`` (made once per scratch folder); an NHWC model is
    given an NCHW input first (``_as_nchw``)."""
    scratch = os.path.abspath(scratch)  # onnx2tf runs inside it, so every path it is given must be absolute
    folder = os.path.join(scratch, SAVED)
    if os.path.isfile(os.path.join(folder, "saved_model.pb")):
        return folder
    try:
        import onnx2tf
    except ImportError:
        raise EdgekitError(EXTRA) from None
    source = Path(scratch) / "foreign.onnx"
    source.write_bytes(_tf_names(_as_nchw(float_onnx) if layout == "nhwc" else float_onnx))
    # onnx2tf checks its graph on 20 sample images it fetches from GitHub into the working folder unless
    # a copy is there already; offline it would fail, so it gets smooth synthetic ones of that shape.
    rng = np.random.default_rng(0)
    coarse = rng.uniform(0, 1, (20, 16, 16, 3)).astype(np.float32)
    np.save(Path(scratch) / SAMPLE, np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2))
    chatter = io.StringIO()
    try:
        with contextlib.chdir(scratch), contextlib.redirect_stdout(chatter):
            onnx2tf.convert(input_onnx_file_path=str(source), output_folder_path=folder, non_verbose=True)
    except (Exception, SystemExit) as exc:  # onnx2tf exits the interpreter on some failures, having printed why
        said = [line for line in re.sub(r"\x1b\[[0-9;]*m", "", chatter.getvalue()).splitlines() if line.strip()]
        why = said[-1].strip() if isinstance(exc, SystemExit) and said else first_line(exc) or " ".join(said)[-200:]
        raise EdgekitError(f"onnx2tf could not convert the model: {why}") from None
    if not os.path.isfile(os.path.join(folder, "saved_model.pb")):
        raise EdgekitError(f"onnx2tf wrote no SavedModel: {chatter.getvalue().strip()[-200:]}")
    return folder


def convert(float_onnx: bytes, precision: str, calibration_nhwc: np.ndarray | None, scratch: str,
            layout: str = "nchw") -> tuple[bytes, str]:
    """TFLite bytes of ``float_onnx`` at ``precision``; returns them and how they were made."""
    folder = saved_model(float_onnx, scratch, layout)
    import onnx2tf
    import tensorflow as tf

    names = list(tf.saved_model.load(folder).signatures["serving_default"].structured_input_signature[1])
    data = tflite_export.convert(folder, precision, calibration_nhwc, input_name=names[0])
    how = f"onnx2tf {getattr(onnx2tf, '__version__', '?')} (ONNX -> SavedModel, NHWC) + TFLiteConverter"
    return data, how + ("; the NHWC input given an NCHW front first" if layout == "nhwc" else "")
