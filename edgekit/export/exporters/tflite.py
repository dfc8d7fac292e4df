"""TFLite: from a Keras model through a SavedModel and TFLiteConverter (every precision; int8 with
sequential-GPTQ-rounded weights, MobileNetV3's hard-swish split and ReLU6 ranges tightened, layers kept
float through the QuantizationDebugger), and from a foreign ONNX model through onnx2tf."""

from __future__ import annotations

import difflib

from edgekit.errors import EdgekitError
from edgekit.export import tflite as tflite_export
from edgekit.export.exporters import Exporter, register
from edgekit.vocab import EXTENSIONS, FORMAT_PRECISIONS, FORMAT_RUNTIME

_SCHEMES = {
    "float": None,
    "fp16": {"scheme": "float16 weights, float32 compute"},
    "dynamic": {"scheme": "dynamic-range: int8 weights, activations quantized at run time"},
    "int8": {"scheme": "full-integer int8, per-channel int8 weights (TFLiteConverter)",
             "calibration_method": "minmax over the calibration images (TFLiteConverter)"},
    "int16x8": {"scheme": "int16 activations, int8 weights (TFLiteConverter, experimental); "
                          "ops without int16x8 kernels (e.g. HARD_SWISH) stay float"},
}


def quantization(precision: str, io: str) -> dict | None:
    """The sidecar's description of a TFLiteConverter precision (int8: with its model I/O)."""
    scheme = _SCHEMES[precision]
    if precision == "int8":
        scheme = {"scheme": scheme["scheme"], "io": io, "calibration_method": scheme["calibration_method"]}
    return scheme


def post_processing(post: dict, op: str) -> dict:
    """The sidecar's record of a detector's post-processing written into the graph."""
    return {"where": "in the graph", "op": op, "nms": "fast (each anchor ranked by its best class), class-agnostic",
            "iou": post["iou"], "score_threshold": post["score"], "max_detections": post["max_detections"],
            "box_coder_scales": list(post["scales"]), "anchors": int(len(post["anchors"])),
            "background_class": post["background"], "precision": "float32 (the network before it is quantized)"}


class _TFLite(Exporter):
    format = "tflite"
    title = "TFLite"
    precisions = FORMAT_PRECISIONS["tflite"]
    runtime = FORMAT_RUNTIME["tflite"]
    extension = EXTENSIONS["tflite"]


@register
class KerasTFLite(_TFLite):
    """A Keras model (zoo or the user's) -> SavedModel -> TFLiteConverter."""

    source_kind = "keras"
    mixed_scheme = "TFLite QuantizationDebugger denylisted_nodes"
    debugger = "tf.lite.experimental.QuantizationDebugger"
    integer_io, named_keep_float, edgetpu = True, True, True

    def export(self, item) -> tuple[bytes, dict]:
        forms = self.forms
        model, rewrites = forms.int8_split() if item.precision == "int8" else (forms.model_for(item.precision), [])
        if item.keep_float:
            data, extra = self._keep_float(model, item.keep_float)
        else:
            data = tflite_export.convert(forms.saved_model(model), item.precision, forms.calib_x, io=item.io,
                                         float_outputs=forms.postprocess is not None)
            extra = {"quantization": quantization(item.precision, item.io)}
        if forms.postprocess is not None:
            extra["post_processing"] = post_processing(forms.postprocess, "TFLite_Detection_PostProcess")
        if rewrites:
            from edgekit.export import relu6_ranges, rewrite

            data, tightened = relu6_ranges.tighten(data)
            rewrites.append(rewrite.TIGHTENED.format(count=len(tightened)))
        return data, {**extra, "graph_rewrites": rewrites}

    def _keep_float(self, model, request: str) -> tuple[bytes, dict]:
        """int8 with the requested (or the worst) layers left float, via the QuantizationDebugger."""
        from edgekit.export import debug_tflite
        from edgekit.export.plan import keep_float_request
        from edgekit.quant.layer_error import worst_layers

        forms = self.forms
        saved = forms.saved_model(model)
        names, auto = keep_float_request(request)
        rows = forms.own_names(debug_tflite.layer_errors(saved, forms.calib_x, forms.check_x))
        if auto:
            names = worst_layers(rows, auto)
        quantized = {row.layer for row in rows}
        for name in names:
            if name not in quantized:
                near = difflib.get_close_matches(name, sorted(quantized), n=3)
                raise EdgekitError(f"--keep-float: no quantized layer named '{name}'"
                                   + (f" (nearest: {', '.join(near)})" if near else
                                      f" (layers: {', '.join(sorted(quantized)[:8])}, ...)"))
        tensors = [row.tensor for row in rows if row.layer in names]
        data = debug_tflite.mixed_model(saved, forms.calib_x, tensors)
        kept = {"request": request, "layers": names, "tensors": tensors,
                "ranking": "RMSE/scale on the parity images (QuantizationDebugger)" if auto else None}
        quant = {**quantization("int8", "float"), "scheme": "int8 with some layers kept float (selective "
                 "quantization through TFLite's QuantizationDebugger denylisted_nodes)", "keep_float": kept}
        return data, {"quantization": quant}

    def layer_errors(self, debug_x, split: bool = True) -> list:
        from edgekit.export import debug_tflite

        forms = self.forms
        model = forms.int8_split()[0] if split else forms.model_for("int8")
        return debug_tflite.layer_errors(forms.saved_model(model), forms.calib_x, debug_x)

    def mixed(self, tensors: list[str]) -> bytes:
        from edgekit.export import debug_tflite

        model, rewrites = self.forms.int8_split()
        data = debug_tflite.mixed_model(self.forms.saved_model(model), self.forms.calib_x, tensors)
        if rewrites:
            from edgekit.export import relu6_ranges

            data, _ = relu6_ranges.tighten(data)
        return data


@register
class OnnxTFLite(_TFLite):
    """A foreign float ONNX model -> onnx2tf's SavedModel (NHWC) -> TFLiteConverter (the onnx-tflite extra)."""

    source_kind = "onnx"

    @classmethod
    def unavailable(cls) -> str | None:
        from edgekit.export import onnx_tflite

        return None if onnx_tflite.available() else onnx_tflite.EXTRA

    def export(self, item) -> tuple[bytes, dict]:
        from edgekit.export import onnx_tflite

        forms = self.forms
        data, how = onnx_tflite.convert(forms.float_onnx(), item.precision, forms.calib_nhwc, forms.scratch,
                                        layout=forms.layout)
        return data, {"quantization": quantization(item.precision, "float"), "converter": how}


@register
class TfliteTFLite(_TFLite):
    """A foreign float .tflite file: float as it is; int8, int16x8 and dynamic range by Google's AI Edge Quantizer
    on our calibration images."""

    source_kind = "tflite"
    precisions = ("float", "dynamic", "int8", "int16x8")
    edgetpu = True

    @classmethod
    def unavailable(cls) -> str | None:
        from edgekit.export import aeq

        return None if aeq.available() else aeq.EXTRA

    def export(self, item) -> tuple[bytes, dict]:
        from edgekit.export import aeq

        forms = self.forms
        if item.precision == "float":
            return forms.float_tflite(), {"converter": "the source file, unchanged"}
        data = aeq.quantize(forms.float_tflite(), item.precision, forms.calib_x, forms.scratch)
        refused = _loads(data)
        if refused:  # the quantizer wrote a file LiteRT refuses (seen: asymmetric int8 conv weights): the other route
            from edgekit.export import onnx_tflite

            forms.notes.append(f"tflite {item.precision}: AI Edge Quantizer's model does not load in LiteRT "
                               f"({refused}); made through tf2onnx + onnx2tf + TFLiteConverter instead")
            data, how = onnx_tflite.convert(forms.float_onnx(), item.precision, forms.calib_x, forms.scratch,
                                            layout=self.forms.user.layout if self.forms.user.layout == "nchw" else "nhwc")
            return data, {"quantization": quantization(item.precision, "float"), "converter": how,
                          "ai_edge_quantizer": f"refused by LiteRT: {refused}"}
        scheme = {"int8": "full-integer int8 (weights per channel, activations, model I/O), AI Edge Quantizer "
                          "static_wi8_ai8", "dynamic": "dynamic-range: int8 weights (AI Edge Quantizer dynamic_wi8_afp32)",
                  "int16x8": "int16 activations, int8 weights (AI Edge Quantizer static_wi8_ai16)"}[item.precision]
        quant = {"scheme": scheme, "calibration_method": "minmax over the calibration images (AI Edge Quantizer)"
                 if item.precision != "dynamic" else None, "io": "quantized by the recipe"}
        return data, {"quantization": quant, "converter": f"ai-edge-quantizer {aeq.version()}"}



def _loads(data: bytes) -> str | None:
    """None when LiteRT loads and runs ``data``; else why not, in one line."""
    import numpy as np
    from ai_edge_litert import interpreter as litert

    from edgekit.run.litert import refusal

    try:
        interp = litert.Interpreter(model_content=data)
        interp.allocate_tensors()
        for detail in interp.get_input_details():
            interp.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
        interp.invoke()
    except (ValueError, RuntimeError) as exc:
        return refusal(exc)
    return None
