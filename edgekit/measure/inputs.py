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
from edgekit.data.images import Geometry
from edgekit.export.artifact import read_sidecar
from edgekit.run.runtime import TensorInfo
from edgekit.vocab import PREPROCESSING as NAMED
from edgekit.vocab import preprocessing



@dataclass(frozen=True)
class InputRecipe:
    """Pixels (uint8, the model's channels and order) -> the float values the network was trained on, where
    that came from, and the image geometry (``resolution``: a ``data.images.Geometry``) and layout."""

    scale: float | tuple  # a 3-tuple: per channel
    offset: float | tuple
    source: str  # "sidecar", "quantization parameters", "assumed", "--preprocess NAME"
    resolution: Geometry
    layout: str = "nhwc"

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        return (np.asarray(pixels, dtype=np.float32) * np.asarray(self.scale, dtype=np.float32)
                + np.asarray(self.offset, dtype=np.float32))

    def to_dict(self) -> dict:
        out = {"scale": _plain(self.scale), "offset": _plain(self.offset), "source": self.source}
        if not self.resolution.square or self.resolution.channels != 3 or self.resolution.order != "rgb":
            out["input"] = {**self.resolution.to_dict(), "layout": self.layout}
        return out


def _plain(value):
    return [float(v) for v in value] if isinstance(value, (tuple, list)) else float(value)


def _number(value):
    return tuple(float(v) for v in value) if isinstance(value, (tuple, list)) else float(value)


def input_geometry(shape) -> tuple[Geometry, str]:
    """(geometry, layout) of an image input of any size, 1 or 3 channels, NHWC or NCHW; raises on anything else."""
    shape = tuple(int(d) for d in shape)
    if len(shape) == 4 and shape[3] in (1, 3):
        return Geometry(shape[1], shape[2], shape[3]), "nhwc"
    if len(shape) == 4 and shape[1] in (1, 3):
        return Geometry(shape[2], shape[3], shape[1]), "nchw"
    raise EdgekitError(f"input shape {shape} is not an image (N, H, W, 1 or 3 channels; or N, C, H, W)")


def recipe_for(artifact: str | Path, model_input: TensorInfo, preprocess: str | None = None,
               sidecar: dict | None = None) -> InputRecipe:
    """The preprocessing of ``artifact`` whose first input is ``model_input``: its geometry from the input's shape,
    its channel order and resize policy from our sidecar (RGB and stretch for a file of unknown origin).
    ``sidecar``: the part of ours that came with the request, for a file that has none beside it."""
    try:
        geometry, layout = input_geometry(model_input.shape)
    except EdgekitError as exc:
        raise EdgekitError(f"{Path(artifact).name}: {exc}") from None
    sent = sidecar is not None  # the part of it sent with the request (the device has the file, not its sidecar)
    if not sent:
        sidecar = read_sidecar(artifact)
    declared = ((sidecar or {}).get("model") or {}).get("input")
    if declared:
        geometry = Geometry(geometry.height, geometry.width, geometry.channels, declared.get("order", "rgb"),
                            declared.get("resize", "stretch"))
    resolution = geometry
    if preprocess:
        if preprocess not in NAMED:
            raise EdgekitError(f"unknown --preprocess '{preprocess}' (known: {', '.join(NAMED)})")
        return InputRecipe(*preprocessing(preprocess), f"--preprocess {preprocess}", resolution, layout)
    if sidecar and "model" in sidecar:
        pre = sidecar["model"]["preprocessing"]
        return InputRecipe(_number(pre["scale"]), _number(pre["offset"]),
                           "sidecar (sent with the model)" if sent else "sidecar", resolution, layout)
    if model_input.quantized:
        # The pixels go in as they are: the float value the input stands for is (q - zp) * scale.
        limits = np.iinfo(model_input.dtype)
        offset = (limits.min - model_input.zero_point) * model_input.scale
        return InputRecipe(float(model_input.scale), float(offset), "quantization parameters", resolution, layout)
    return InputRecipe(*NAMED["minus-one-to-one"], "assumed [-1, 1] (no sidecar; see --preprocess)", resolution,
                       layout)


def random_pixels(count: int, size, seed: int = 0) -> np.ndarray:
    """Realistic-range random images of ``size`` (a Geometry, or an int for square RGB), uint8, smooth enough to
    look like photos to a CNN."""
    g = Geometry.of(size)
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(count, g.height // 8 + 1, g.width // 8 + 1, g.channels)).astype(np.float32)
    fine = np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2)[:, :g.height, :g.width]
    noise = rng.normal(0.0, 12.0, size=fine.shape)
    return np.clip(fine + noise, 0, 255).astype(np.uint8)
