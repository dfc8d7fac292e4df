"""The intermediate forms of a source model, each made once per conversion and shared by its exporters.

A Keras source (a zoo model or the user's file) has a float model, its int8-ready copy (weights
rounded by ``--ptq``), MobileNetV3's hard-swish split of that copy, one SavedModel per Keras model
(shared by its TFLite precisions) and one float ONNX graph per Keras model (shared by ONNX float and
int8). A foreign ONNX source has its float graph with the input fixed to batch 1. Exporters ask for
what they need; nothing is made twice.
"""

from __future__ import annotations

import os

import numpy as np

from edgekit.export import onnx as onnx_export
from edgekit.export import tflite as tflite_export


def grouped_convolutions(model) -> int:
    """How many of a Keras model's convolutions are grouped (ShuffleNet's)."""
    return sum(1 for layer in model.layers if getattr(layer, "groups", 1) > 1)


class KerasForms:
    """A Keras model's forms (``model`` is the float reference model, logits out)."""

    kind = "keras"

    def __init__(self, model, source, opts, calib_x, check_x, scratch: str):
        self.model, self.source, self.opts = model, source, opts
        self.calib_x, self.check_x, self.scratch = calib_x, check_x, scratch
        self.notes: list[str] = []  # warnings raised while quiet(), said by the runner once it is over
        self._quant_model = None
        self._split = None
        self._saved: dict[int, str] = {}
        self._onnx: dict[int, bytes] = {}
        self._said: set[str] = set()

    def model_for(self, precision: str):
        """The float model, or for a calibrated precision its copy with weights rounded by ``--ptq``."""
        from edgekit.vocab import QUANTIZED

        if precision not in QUANTIZED:
            return self.model
        if self._quant_model is None:
            from edgekit.quant import prepare_for_int8

            notes: list[str] = []
            ptq = self.opts.quantization.ptq
            self._quant_model = prepare_for_int8(self.model, self.calib_x, ptq, notes=notes)
            if self.source.is_user:  # the zoo's heads are known; a user's model hears which layers the converter rounds
                self.notes += [f"--ptq {ptq}: {note}" for note in notes]
        return self._quant_model

    def int8_split(self) -> tuple[object, list[str]]:
        """MobileNetV3's int8 TFLite graph with hard-swish split (see export.rewrite), unless --hswish stock;
        returns (model, the rewrites it carries)."""
        from edgekit.export import rewrite

        model = self.model_for("int8")
        if self.opts.quantization.hswish != "split" or not rewrite.has_hard_swish(model):
            return model, []
        if self._split is None:
            self._split = rewrite.split_hard_swish(model)
        total = sum(1 for layer in model.layers if rewrite.is_hard_swish(layer))
        return self._split[0], [rewrite.DESCRIPTION.format(folded=self._split[1], total=total)]

    @property
    def postprocess(self) -> dict | None:
        """A detector's post-processing written into the graph (``--postprocess graph``), else None."""
        if self.opts.output.postprocess != "graph":
            return None
        shapes = [(1, *tuple(o.shape[1:])) for o in self.model.outputs]
        return self.source.task.in_graph(shapes)

    def saved_model(self, model) -> str:
        if id(model) not in self._saved:
            folder = os.path.join(self.scratch, str(len(self._saved)))
            post = self.postprocess
            self._saved[id(model)] = (tflite_export.save_model(model, folder) if post is None else
                                      tflite_export.save_detector(model, folder, post["anchors"], post["roles"],
                                                                  post["num_classes"], post["max_detections"],
                                                                  post["iou"], post["score"], post["scales"]))
        return self._saved[id(model)]

    def onnx_float(self, model) -> bytes:
        """The network's float ONNX graph (raw outputs: post-processing is appended after quantization)."""
        if id(model) not in self._onnx:
            if grouped_convolutions(model):
                # Keras 3 runs a grouped Conv2D as an XLA-compiled function, which tf2onnx cannot read: go through
                # the float TFLite graph (one grouped CONV_2D each), which tf2onnx's TFLite reader maps to Conv(group)
                path = os.path.join(self.scratch, f"grouped-{len(self._onnx)}.tflite")
                raw = (self.saved_model(model) if self.postprocess is None else  # the network, not its NMS
                       tflite_export.save_model(model, os.path.join(self.scratch, f"raw-{len(self._onnx)}")))
                with open(path, "wb") as f:
                    f.write(tflite_export.convert(raw, "float"))
                self._onnx[id(model)] = onnx_export.rename_input(onnx_export.from_tflite(path, self.opts.output.onnx_opset))
                self.notes_once("ONNX: made from the float TFLite graph through tf2onnx's TFLite reader (Keras 3's "
                                "grouped convolutions are XLA functions tf2onnx cannot convert)")
            else:
                self._onnx[id(model)] = onnx_export.convert_float(model, self.opts.output.onnx_opset)
        return self._onnx[id(model)]

    def notes_once(self, note: str) -> None:
        if note not in self._said:
            self._said.add(note)
            self.notes.append(note)

    def with_postprocess(self, data: bytes) -> bytes:
        """An ONNX artifact with the detector's float decoding and NonMaxSuppression appended, when asked."""
        post = self.postprocess
        if post is None:
            return data
        return onnx_export.append_detection_postprocess(data, post["anchors"], post["roles"], post["background"],
                                                        post["max_detections"], post["iou"], post["score"],
                                                        post["scales"])

    def own_names(self, rows):
        """Debugger rows named after the model's own layers, worst first (``quant.layer_error``)."""
        from edgekit.quant.layer_error import finish, own_names

        return finish(own_names(rows, self.model))


class OnnxForms:
    """A foreign float ONNX model's forms: its graph with the input fixed to batch 1, and the calibration
    images in its layout (NCHW for PyTorch's) and in NHWC (what onnx2tf's TFLite takes)."""

    kind = "onnx"

    def __init__(self, model, source, opts, calib_x, check_x, scratch: str):
        self.source, self.opts, self.scratch = source, opts, scratch
        self.user = source.spec
        self.calib_nhwc, self.check_x = calib_x, check_x
        self.layout = self.user.layout
        self.calib_x = None if calib_x is None else (
            np.ascontiguousarray(np.transpose(calib_x, (0, 3, 1, 2))) if self.user.layout == "nchw" else calib_x)
        self.notes: list[str] = []
        self._float = None

    def float_onnx(self) -> bytes:
        if self._float is None:
            self._float = onnx_export.fix_input_shape(self.user.path, self.user.geometry, self.user.layout)
        return self._float


class TfliteForms:
    """A foreign float TFLite model's forms: its own bytes, and the calibration images as it takes them."""

    kind = "tflite"

    def __init__(self, model, source, opts, calib_x, check_x, scratch: str):
        self.source, self.opts, self.scratch = source, opts, scratch
        self.user = source.spec
        self.calib_x, self.check_x = calib_x, check_x
        if calib_x is not None and self.user.layout == "nchw":
            self.calib_x = np.ascontiguousarray(np.transpose(calib_x, (0, 3, 1, 2)))
        self.notes: list[str] = []
        self._onnx = None

    def float_tflite(self) -> bytes:
        return self.user.path.read_bytes()

    def float_onnx(self) -> bytes:
        """The file through tf2onnx's TFLite reader (its input layout kept), once."""
        if self._onnx is None:
            self._onnx = onnx_export.from_tflite(self.user.path, self.opts.output.onnx_opset)
        return self._onnx


FORMS = {"keras": KerasForms, "onnx": OnnxForms, "tflite": TfliteForms}
