"""Decode, centre-crop and resize images: the one place calibration, eval and demos share.

The conventional ImageNet evaluation preprocessing (TF-slim, Keras, Google's published
numbers) crops the central 87.5% of the image, then resizes to the model's resolution.
The crop fraction is a visible setting because on small images it moves top-1 by points.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from edgekit.errors import DataError
from edgekit.vocab import DEFAULT_CROP



@dataclass(frozen=True)
class Geometry:
    """What a model's image input looks like: height x width (any aspect ratio), 1 (grey) or 3 channels, their
    order (RGB, or BGR as OpenCV-trained models want), and how a photo of another shape is brought to it:
    ``stretch`` (the default: after the central crop, resized to H x W whatever its aspect), ``crop`` (cropped
    to the input's aspect ratio first, then resized) or ``letterbox`` (resized to fit, keeping its aspect,
    and centred on black)."""

    height: int
    width: int
    channels: int = 3
    order: str = "rgb"
    resize: str = "stretch"

    @classmethod
    def of(cls, size) -> "Geometry":
        """A Geometry from itself, an int (square RGB) or (height, width)."""
        if isinstance(size, Geometry):
            return size
        if isinstance(size, (tuple, list)):
            return cls(int(size[0]), int(size[1]))
        return cls(int(size), int(size))

    @property
    def square(self) -> bool:
        return self.height == self.width

    @property
    def size_text(self) -> str:
        return f"{self.height}" if self.square else f"{self.height}x{self.width}"

    def to_dict(self) -> dict:
        return {"height": self.height, "width": self.width, "channels": self.channels, "order": self.order,
                "resize": self.resize}

    @classmethod
    def from_dict(cls, data: dict) -> "Geometry":
        return cls(int(data["height"]), int(data["width"]), int(data.get("channels", 3)), data.get("order", "rgb"),
                   data.get("resize", "stretch"))


def load_image(path: str | Path, size, crop: float = DEFAULT_CROP) -> np.ndarray:
    """Return a ``uint8`` array of shape (H, W, C) for ``size`` (a Geometry, an int for a square RGB image, or
    (H, W)): decoded, the central ``crop`` fraction kept, brought to H x W by the geometry's resize policy, in
    its channel count and order.

    Grayscale, palette, CMYK and alpha images are converted (alpha is dropped).
    """
    geometry = Geometry.of(size)
    if not 0.0 < crop <= 1.0:
        raise DataError(f"crop fraction must be in (0, 1], got {crop}")
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            img = img.convert("L" if geometry.channels == 1 else "RGB")
            width, height = img.size
            if crop < 1.0:
                cw, ch = max(1, round(width * crop)), max(1, round(height * crop))
                left, top = (width - cw) // 2, (height - ch) // 2
                img = img.crop((left, top, left + cw, top + ch))
            array = np.asarray(_fit(img, geometry), dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"cannot decode image {path}: {exc}") from None
    if geometry.channels == 1:
        return array[..., None]
    return array[..., ::-1].copy() if geometry.order == "bgr" else array


def _fit(img, geometry: Geometry):
    """``img`` brought to the geometry's H x W by its resize policy."""
    w, h = geometry.width, geometry.height
    if geometry.resize == "crop":
        width, height = img.size
        target = w / h
        if width / height > target:  # too wide: keep the centre columns
            keep = max(1, round(height * target))
            img = img.crop(((width - keep) // 2, 0, (width - keep) // 2 + keep, height))
        else:
            keep = max(1, round(width / target))
            img = img.crop((0, (height - keep) // 2, width, (height - keep) // 2 + keep))
    elif geometry.resize == "letterbox":
        width, height = img.size
        scale = min(w / width, h / height)
        inner = img.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.BILINEAR)
        canvas = Image.new(img.mode, (w, h))
        canvas.paste(inner, ((w - inner.size[0]) // 2, (h - inner.size[1]) // 2))
        return canvas
    return img.resize((w, h), Image.BILINEAR)


def load_batch(paths, size, crop: float = DEFAULT_CROP) -> np.ndarray:
    """Several images, each decoded, centre-cropped and resized like ``load_image``, as one uint8 batch."""
    return np.stack([load_image(p, size, crop) for p in paths])
