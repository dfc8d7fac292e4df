"""What an artifact expects as input: preprocessing from our sidecar, or guessed for a foreign file.

Our artifacts record ``x * scale + offset`` in their sidecar. A file someone else made (Google's
hosted int8 MobileNets, say) has no sidecar: an integer input takes raw pixels mapped through its
own quantization (Google's uint8 models: scale 1/128, zero point 128, so the pixels themselves),
and a float input is assumed to want [-1, 1], the MobileNet convention, unless told otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.export.artifact import read_sidecar
from edgekit.run.runtime import TensorInfo
from edgekit.vocab import PREPROCESSING as NAMED
from edgekit.vocab import preprocessing



@dataclass(frozen=True)
class InputRecipe:
    """Pixels (uint8 RGB) -> the float values the network was trained on, and where that came from."""

    scale: float | tuple  # a 3-tuple: per channel
    offset: float | tuple
    source: str  # "sidecar", "quantization parameters", "assumed", "--preprocess NAME"
    resolution: int

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        return (np.asarray(pixels, dtype=np.float32) * np.asarray(self.scale, dtype=np.float32)
                + np.asarray(self.offset, dtype=np.float32))

    def to_dict(self) -> dict:
        return {"scale": _plain(self.scale), "offset": _plain(self.offset), "source": self.source}


def _plain(value):
    return [float(v) for v in value] if isinstance(value, (tuple, list)) else float(value)


def _number(value):
    return tuple(float(v) for v in value) if isinstance(value, (tuple, list)) else float(value)


def image_size(shape) -> tuple[int, str]:
    """(resolution, layout) of a square RGB image input, NHWC or NCHW; raises on anything else."""
    shape = tuple(shape)
    if len(shape) == 4 and shape[3] == 3 and shape[1] == shape[2]:
        return int(shape[1]), "nhwc"
    if len(shape) == 4 and shape[1] == 3 and shape[2] == shape[3]:
        return int(shape[2]), "nchw"
    raise EdgekitError(f"input shape {shape} is not a square RGB image (NHWC or NCHW)")


def recipe_for(artifact: str | Path, model_input: TensorInfo, preprocess: str | None = None) -> InputRecipe:
    """The preprocessing of ``artifact`` whose first input is ``model_input``."""
    try:
        resolution, _ = image_size(model_input.shape)
    except EdgekitError as exc:
        raise EdgekitError(f"{Path(artifact).name}: {exc}") from None
    if preprocess:
        if preprocess not in NAMED:
            raise EdgekitError(f"unknown --preprocess '{preprocess}' (known: {', '.join(NAMED)})")
        return InputRecipe(*preprocessing(preprocess), f"--preprocess {preprocess}", resolution)
    sidecar = read_sidecar(artifact)
    if sidecar and "model" in sidecar:
        pre = sidecar["model"]["preprocessing"]
        return InputRecipe(_number(pre["scale"]), _number(pre["offset"]), "sidecar", resolution)
    if model_input.quantized:
        # The pixels go in as they are: the float value the input stands for is (q - zp) * scale.
        limits = np.iinfo(model_input.dtype)
        offset = (limits.min - model_input.zero_point) * model_input.scale
        return InputRecipe(float(model_input.scale), float(offset), "quantization parameters", resolution)
    return InputRecipe(*NAMED["minus-one-to-one"], "assumed [-1, 1] (no sidecar; see --preprocess)", resolution)


def random_pixels(count: int, resolution: int, seed: int = 0) -> np.ndarray:
    """Realistic-range random images: uint8 RGB, smooth enough to look like photos to a CNN."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(count, resolution // 8 + 1, resolution // 8 + 1, 3)).astype(np.float32)
    fine = np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2)[:, :resolution, :resolution]
    noise = rng.normal(0.0, 12.0, size=fine.shape)
    return np.clip(fine + noise, 0, 255).astype(np.uint8)
