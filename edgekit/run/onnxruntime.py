"""ONNX Runtime on the CPU execution provider, for .onnx files.

int8 is run exactly on every CPU: on x86 without VNNI (SSE4.1, AVX2, AVX-512 without VNNI) ORT's default
U8S8 kernel multiplies with VPMADDUBSW, whose 16-bit intermediate saturates; the same int8 file then
answers differently than on a VNNI or Arm CPU (a PaddleOCR MobileNetV3 lost 6 points of top-1 on an
AVX2 EPYC). ``session.x64quantprecision=1`` makes ORT use its U8U8 kernel there, so edgekit sets it on exactly
those CPUs. Where the CPU has VNNI or AMX the default kernel is exact already (VPDPBUSD accumulates in 32 bits)
and the option only costs time: on a Zen 5 EPYC (avx512_vnni) it made v1-1.0-224 int8 2.5x slower (2.34 -> 5.80
ms, 1 thread) for bit-identical outputs, so it is left unset there, as on Arm. ``exact_int8=False`` keeps ORT's
default everywhere (what an application gets unless it sets the option); ``int8_kernel`` says which ran and
``session_config`` what edgekit set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.errors import first_line
from edgekit.run.runtime import ModelFileError, Runtime, TensorInfo

_DTYPES = {"tensor(float)": np.float32, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8,
           "tensor(float16)": np.float16, "tensor(int64)": np.int64, "tensor(int32)": np.int32}
_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED",
           "all": "ORT_ENABLE_ALL"}


EXACT_INT8_KEY = "session.x64quantprecision"


def int8_kernel(exact: bool = True, features: list[str] | None = None, machine: str | None = None) -> str:
    """Which int8 matrix kernel ORT runs on this CPU: "exact" (VNNI, AMX or Arm: no saturation), "u8u8"
    (x86 without VNNI, session.x64quantprecision=1: exact, slower) or "u8s8-saturating" (x86 without
    VNNI, ORT's default: 16-bit intermediates saturate)."""
    import platform

    from edgekit.environment import cpu_features, int8_dot_product

    machine = (machine or platform.machine()).lower()
    if machine not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return "exact"
    features = cpu_features() if features is None else features
    if int8_dot_product(features) in ("amx_int8", "avx512_vnni", "avx_vnni"):
        return "exact"
    return "u8u8" if exact else "u8s8-saturating"


class OnnxRuntime(Runtime):
    """A .onnx file in an ONNX Runtime CPU session."""
    name = "onnxruntime"

    def __init__(self, path: Path, threads: int = 1, optimization: str = "all", session_options=None,
                 batch: int | None = None, exact_int8: bool = True):
        import onnxruntime as ort

        self.version = ort.__version__
        opts = session_options or ort.SessionOptions()
        self.int8_kernel = int8_kernel(exact_int8)
        self.session_config = {EXACT_INT8_KEY: "1"} if self.int8_kernel == "u8u8" else {}  # only where needed
        for key, value in self.session_config.items():
            opts.add_session_config_entry(key, value)
        self.kernels = f"mlas (int8: {self.int8_kernel})"
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, _LEVELS[optimization])
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
            raise ModelFileError(f"ONNX Runtime cannot load {path.name}: {first_line(exc)}") from None
        self.inputs = [self._info(t) for t in self._session.get_inputs()]
        self.outputs = [self._info(t) for t in self._session.get_outputs()]
        self._in_name = self.inputs[0].name
        declared = self._session.get_inputs()[0].shape[0]
        if batch and isinstance(declared, int) and declared != batch:
            raise ModelFileError(f"{path.name} has a fixed batch of {declared}; it cannot run batch {batch} "
                                 "(export it with a dynamic batch)")
        if batch:
            self.inputs[0] = TensorInfo(self.inputs[0].name, (batch, *self.inputs[0].shape[1:]), self.inputs[0].dtype)
        self._binding = None

    def describe(self) -> dict:
        return {**super().describe(), "int8_kernel": self.int8_kernel, "session_config": dict(self.session_config)}

    @staticmethod
    def _info(arg) -> TensorInfo:
        shape = tuple(d if isinstance(d, int) else 1 for d in arg.shape)
        return TensorInfo(arg.name, shape, np.dtype(_DTYPES.get(arg.type, np.float32)))

    def prepare(self, batch: np.ndarray) -> None:
        # IO binding keeps the input in place between runs, like set_tensor for LiteRT.
        self._batch = np.ascontiguousarray(batch)
        self._binding = self._session.io_binding()
        self._binding.bind_cpu_input(self._in_name, self._batch)
        for output in self.outputs:
            self._binding.bind_output(output.name)

    def invoke(self) -> None:
        self._session.run_with_iobinding(self._binding)

    def output(self) -> np.ndarray:
        return self._binding.copy_outputs_to_cpu()[0].copy()

    def output_values(self) -> list[np.ndarray]:
        return [value.copy() for value in self._binding.copy_outputs_to_cpu()]

    def end_profiling(self) -> str:
        """Stop ONNX Runtime's profiler (a session made with enable_profiling); returns its JSON trace's path."""
        return self._session.end_profiling()

    def close(self) -> None:
        self._session = None
