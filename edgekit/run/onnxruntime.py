"""ONNX Runtime on the CPU execution provider, for .onnx files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.errors import first_line
from edgekit.run.runtime import ModelFileError, Runtime, TensorInfo

_DTYPES = {"tensor(float)": np.float32, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8,
           "tensor(float16)": np.float16, "tensor(int64)": np.int64, "tensor(int32)": np.int32}
_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED",
           "all": "ORT_ENABLE_ALL"}


class OnnxRuntime(Runtime):
    """A .onnx file in an ONNX Runtime CPU session."""
    name = "onnxruntime"

    def __init__(self, path: Path, threads: int = 1, optimization: str = "all", session_options=None,
                 batch: int | None = None):
        import onnxruntime as ort

        self.version = ort.__version__
        opts = session_options or ort.SessionOptions()
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
