"""LiteRT (``ai_edge_litert``), the runtime for .tflite files; XNNPACK on unless switched off."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.errors import first_line
from edgekit.run.runtime import ModelFileError, Runtime, TensorInfo


def _info(detail: dict) -> TensorInfo:
    scale, zero = detail.get("quantization", (0.0, 0))
    return TensorInfo(detail["name"], tuple(int(d) for d in detail["shape"]), np.dtype(detail["dtype"]),
                      float(scale), int(zero))


def litert_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ai-edge-litert")
    except PackageNotFoundError:
        return "?"


class LiteRTRuntime(Runtime):
    name = "litert"

    def __init__(self, path: Path, threads: int = 1, xnnpack: bool = True, delegates=None):
        from ai_edge_litert import interpreter as litert

        self.version = litert_version()
        self.xnnpack = xnnpack
        resolver = (litert.OpResolverType.AUTO if xnnpack
                    else litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        try:
            self._interp = litert.Interpreter(
                model_path=str(path), num_threads=threads, experimental_delegates=delegates,
                experimental_op_resolver_type=resolver,
            )
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(f"LiteRT cannot load {path.name}: {first_line(exc)}") from None
        self.inputs = [_info(d) for d in self._interp.get_input_details()]
        self.outputs = [_info(d) for d in self._interp.get_output_details()]
        self._in_index = self._interp.get_input_details()[0]["index"]
        self._out_index = self._interp.get_output_details()[0]["index"]

    def run(self, batch: np.ndarray) -> np.ndarray:
        self._interp.set_tensor(self._in_index, batch)
        self._interp.invoke()
        return self._interp.get_tensor(self._out_index).copy()

    def close(self) -> None:
        self._interp = None
