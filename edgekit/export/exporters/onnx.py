"""ONNX: float from a Keras model through tf2onnx, or a foreign float ONNX model with its input fixed;
int8 through ONNX Runtime's static QDQ quantization (``quant_pre_process`` + ``quantize_static``) on our
calibration images, layers kept float through ``nodes_to_exclude``."""

from __future__ import annotations

from edgekit.export import onnx as onnx_export
from edgekit.export.exporters import Exporter, register
from edgekit.vocab import EXTENSIONS, FORMAT_PRECISIONS, FORMAT_RUNTIME


def quantization(quant_opts, float_onnx: bytes, **extra) -> dict:
    """The sidecar's description of ONNX Runtime's static int8 quantization as it ran."""
    kept = onnx_export.input_float_ops(float_onnx, onnx_export.input_name(float_onnx))
    return {"scheme": "static int8, QDQ (ONNX Runtime quant_pre_process + quantize_static)", "per_channel": True,
            "weights": "int8", "activations": quant_opts.onnx_activations,
            "calibration_method": quant_opts.onnx_calibration,
            "kept_float": ({**kept, "why": "ORT's int8 kernels run slower than float on the input's normalisation "
                                           "(element-wise) and on a 3-channel stem convolution"}
                           if kept["normalisation"] or kept["stem"] else None),
            "run_with": {"session.x64quantprecision": "1", "when": "x86 CPUs without VNNI or AMX",
                         "why": "there ORT's default U8S8 kernel saturates 16-bit intermediates (a PaddleOCR "
                         "MobileNetV3 lost 6 points of top-1 on an AVX2 EPYC) and this option runs int8 exactly "
                         "(U8U8); on VNNI, AMX or Arm CPUs the default is exact and the option only slows int8 (2.5x "
                         "on a Zen 5 EPYC): leave it unset there. edgekit sets it where it is needed"}, **extra}


def graph(data: bytes, opset: int | None) -> dict:
    """Opset and node counts of an ONNX artifact (Transposes: the layout conversions left in the graph)."""
    ops = onnx_export.count_ops(data)
    return {"opset": opset, "transpose_nodes": ops.get("Transpose", 0), "nodes": sum(ops.values())}


class _Onnx(Exporter):
    format = "onnx"
    title = "ONNX"
    precisions = FORMAT_PRECISIONS["onnx"]
    runtime = FORMAT_RUNTIME["onnx"]
    extension = EXTENSIONS["onnx"]

    def _int8(self, float_onnx: bytes, exclude=(), **kwargs) -> bytes:
        quant, forms = self.forms.opts.quantization, self.forms
        return onnx_export.quantize_int8(float_onnx, forms.calib_x, quant.onnx_calibration, quant.onnx_activations,
                                         exclude_tensors=list(exclude), scratch=forms.scratch, **kwargs)


@register
class KerasOnnx(_Onnx):
    """A Keras model -> tf2onnx (float); ONNX Runtime QDQ on our rounded weights (int8)."""

    source_kind = "keras"
    mixed_scheme = "ONNX Runtime quantize_static nodes_to_exclude"
    debugger = "onnxruntime.quantization.qdq_loss_debug"

    def export(self, item) -> tuple[bytes, dict]:
        float_onnx = self.forms.onnx_float(self.forms.model_for(item.precision))
        extra: dict = {}
        if item.precision == "float":
            data = float_onnx
        else:
            data = self._int8(float_onnx)
            extra["quantization"] = quantization(self.forms.opts.quantization, float_onnx,
                                                 why="uint8 activations + int8 weights is the fast pairing of ORT's x86 "
                                                     "kernels")
        if self.forms.postprocess is not None:
            from edgekit.export.exporters.tflite import post_processing

            data = self.forms.with_postprocess(data)
            extra["post_processing"] = post_processing(self.forms.postprocess, "NonMaxSuppression (ONNX), box decoding "
                                                                               "in float ONNX ops")
        return data, {**extra, "onnx": graph(data, self.forms.opts.output.onnx_opset)}

    def layer_errors(self, debug_x, split: bool = True) -> list:
        from edgekit.export import debug_onnx

        float_onnx = self.forms.onnx_float(self.forms.model_for("int8"))
        return debug_onnx.layer_errors(self._int8(float_onnx), debug_x, float_onnx, scratch=self.forms.scratch)

    def mixed(self, tensors: list[str]) -> bytes:
        return self.forms.with_postprocess(self._int8(self.forms.onnx_float(self.forms.model_for("int8")),
                                                      exclude=tensors))


@register
class OnnxOnnx(_Onnx):
    """A foreign float ONNX model: its graph with the input fixed to batch 1 (float); ONNX Runtime QDQ (int8)."""

    source_kind = "onnx"

    def export(self, item) -> tuple[bytes, dict]:
        float_onnx = self.forms.float_onnx()
        extra: dict = {}
        if item.precision == "float":
            data = float_onnx
        else:
            data = self._int8(float_onnx, input_name=onnx_export.input_name(float_onnx))
            extra["quantization"] = quantization(self.forms.opts.quantization, float_onnx,
                                                 weight_rounding="ONNX Runtime (round to nearest)")
        return data, {**extra, "onnx": graph(data, onnx_export.opset_of(data))}


@register
class TfliteOnnx(_Onnx):
    """A foreign float .tflite file -> ONNX through tf2onnx's TFLite reader (float); ONNX Runtime QDQ (int8)."""

    source_kind = "tflite"

    def export(self, item) -> tuple[bytes, dict]:
        float_onnx = self.forms.float_onnx()
        extra: dict = {"converter": "tf2onnx (TFLite reader)"}
        if item.precision == "float":
            data = float_onnx
        else:
            data = self._int8(float_onnx, input_name=onnx_export.input_name(float_onnx))
            extra["quantization"] = quantization(self.forms.opts.quantization, float_onnx,
                                                 weight_rounding="ONNX Runtime (round to nearest)")
        return data, {**extra, "onnx": graph(data, onnx_export.opset_of(data))}
