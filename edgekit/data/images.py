"""Decode, centre-crop and resize images: the one place calibration, eval and demos share.

The conventional ImageNet evaluation preprocessing (TF-slim, Keras, Google's published
numbers) crops the central 87.5% of the image, then resizes to the model's resolution.
The crop fraction is a visible setting because on small images it moves top-1 by points.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from edgekit.errors import DataError
from edgekit.vocab import DEFAULT_CROP



def load_image(path: str | Path, size: int, crop: float = DEFAULT_CROP) -> np.ndarray:
    """Return an RGB ``uint8`` array of shape (size, size, 3).

    Grayscale, palette, CMYK and alpha images are converted to RGB (alpha is dropped).
    """
    if not 0.0 < crop <= 1.0:
        raise DataError(f"crop fraction must be in (0, 1], got {crop}")
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            img = img.convert("RGB")
            width, height = img.size
            if crop < 1.0:
                cw, ch = max(1, round(width * crop)), max(1, round(height * crop))
                left, top = (width - cw) // 2, (height - ch) // 2
                img = img.crop((left, top, left + cw, top + ch))
            img = img.resize((size, size), Image.BILINEAR)
            return np.asarray(img, dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"cannot decode image {path}: {exc}") from None


def load_batch(paths, size: int, crop: float = DEFAULT_CROP) -> np.ndarray:
    """Several images, each decoded, centre-cropped and resized like ``load_image``, as one uint8 batch."""
    return np.stack([load_image(p, size, crop) for p in paths])
