"""The small interface every runtime implements, and choosing one from a model file.

A runtime loads a model file, describes its inputs/outputs (dtype, shape, quantization) and
runs one batch. ``Classifier`` adds what every caller needs on top: pixels in, float scores out,
whatever the model's I/O dtypes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.vocab import RUNTIMES


class ModelFileError(EdgekitError):
    """A model file that is missing, truncated, corrupt or not a model this runtime reads."""


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output: name, shape, dtype and quantization (scale 0 when not quantized)."""
    name: str
    shape: tuple
    dtype: np.dtype
    scale: float = 0.0  # 0 when the tensor is not quantized
    zero_point: int = 0

    @property
    def quantized(self) -> bool:
        return self.scale != 0.0 and np.issubdtype(self.dtype, np.integer)

    def to_dict(self) -> dict:
        out = {"name": self.name, "shape": list(self.shape), "dtype": np.dtype(self.dtype).name}
        if self.quantized:
            out.update(scale=self.scale, zero_point=self.zero_point)
        return out


class Runtime:
    """Base class: subclasses set ``name``, ``version``, ``inputs``, ``outputs`` and ``_run``."""

    name = "runtime"
    version = "?"
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Run the model on ``batch`` (already in the input's dtype); returns the first output."""
        self.prepare(batch)
        self.invoke()
        return self.output()

    # The timing loop calls only ``invoke``: inputs are bound once by ``prepare``, so what is
    # timed is the runtime's own inference, as in a bare ``interpreter.invoke()`` loop.
    def prepare(self, batch: np.ndarray) -> None:
        """Bind ``batch`` as the input of the next ``invoke``."""
        raise NotImplementedError

    def invoke(self) -> None:
        raise NotImplementedError

    def output(self) -> np.ndarray:
        """A copy of the first output of the last ``invoke``."""
        return self.output_values()[0]

    def output_values(self) -> list[np.ndarray]:
        """Copies of every output of the last ``invoke``, in ``outputs`` order."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def describe(self) -> dict:
        return {"runtime": self.name, "runtime_version": self.version,
                "inputs": [t.to_dict() for t in self.inputs], "outputs": [t.to_dict() for t in self.outputs]}


# name -> (our module, its class, the library it wraps)
_IMPLEMENTATIONS = {
    "litert": ("edgekit.run.litert", "LiteRTRuntime", "ai_edge_litert.interpreter"),
    "onnxruntime": ("edgekit.run.onnxruntime", "OnnxRuntime", "onnxruntime"),
}


def import_runtime(name: str | None):
    """Import runtime ``name`` and the library behind it; returns its Runtime class."""
    import importlib

    if name not in _IMPLEMENTATIONS:
        raise EdgekitError(f"unknown runtime '{name}' (known: {', '.join(_IMPLEMENTATIONS)})")
    module, cls, library = _IMPLEMENTATIONS[name]
    importlib.import_module(library)
    return getattr(importlib.import_module(module), cls)


def open_runtime(path: str | Path, runtime: str | None = None, threads: int = 1, **options) -> Runtime:
    """Open ``path`` with ``runtime`` (default: chosen from the file suffix)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    name = runtime or RUNTIMES.get(path.suffix.lower())
    if name is None:
        raise ModelFileError(f"cannot tell the runtime for {path.name}: expected .tflite or .onnx (or pass --runtime)")
    return import_runtime(name)(path, threads=threads, **options)


def channels_first(shape) -> bool:
    """Whether an image input is NCHW (PyTorch's layout): 1 or 3 channels second, not last."""
    shape = tuple(shape)
    return len(shape) == 4 and shape[1] in (1, 3) and shape[3] not in (1, 3)


def quantize(values: np.ndarray, info: TensorInfo) -> np.ndarray:
    """Float values onto a tensor's integer grid."""
    limits = np.iinfo(info.dtype)
    q = np.round(values / info.scale) + info.zero_point
    return np.clip(q, limits.min, limits.max).astype(info.dtype)


def dequantize(values: np.ndarray, info: TensorInfo) -> np.ndarray:
    """A quantized tensor's values back to float."""
    return (values.astype(np.float32) - info.zero_point) * np.float32(info.scale)


class Feed:
    """Pixels in, every output out as float: maps preprocessed floats onto the model's input dtype.

    ``preprocess`` turns uint8 RGB pixels into the float values the network was trained on; for
    an integer input the floats are then quantized with the input's own scale and zero point
    (for Google's uint8 models this gives back the pixels themselves). Quantized outputs are
    dequantized with their own parameters.
    """

    def __init__(self, runtime: Runtime, preprocess, layout: str | None = None):
        """``layout``: "nchw" or "nhwc" when known (a model whose spatial size is dynamic cannot tell from its
        shape); default: read from the input's shape."""
        self.runtime = runtime
        self.preprocess = preprocess
        self.input = runtime.inputs[0]
        self.output = runtime.outputs[0]
        self.layout = layout or ("nchw" if channels_first(self.input.shape) else "nhwc")

    def model_input(self, pixels: np.ndarray) -> np.ndarray:
        values = self.preprocess(pixels)
        if self.layout == "nchw":  # PyTorch exports
            values = np.ascontiguousarray(np.transpose(values, (0, 3, 1, 2)))
        if np.issubdtype(self.input.dtype, np.integer):
            if not self.input.quantized:
                raise EdgekitError(f"{self.input.name}: integer input without quantization parameters")
            return quantize(values, self.input)
        return values.astype(self.input.dtype)

    def outputs(self, pixels: np.ndarray) -> list[np.ndarray]:
        """Every output as float for a batch of uint8 pixels, run one image at a time (models have batch 1):
        one array per output, (images, *its shape without the batch)."""
        per_image = []
        for image in pixels:
            self.runtime.prepare(self.model_input(image[None]))
            self.runtime.invoke()
            per_image.append([dequantize(v, info) if info.quantized else v.astype(np.float32)
                              for v, info in zip(self.runtime.output_values(), self.runtime.outputs)])
        return [np.stack([values[i].reshape(values[i].shape[1:] if values[i].ndim > 1 else values[i].shape)
                          for values in per_image]) for i in range(len(self.runtime.outputs))]


class Classifier(Feed):
    """A Feed of a classifier: float scores (images, classes) of the first output."""

    def scores(self, pixels: np.ndarray) -> np.ndarray:
        """Float scores for a batch of uint8 pixels, one image at a time (models have batch 1)."""
        rows = []
        for image in pixels:
            out = self.runtime.run(self.model_input(image[None]))
            out = dequantize(out, self.output) if self.output.quantized else out.astype(np.float32)
            rows.append(out.reshape(-1))
        return np.stack(rows)
