"""Calibration images: decoded, cropped and resized like evaluation images, then hashed.

The hash (of file names and bytes) goes into every artifact's sidecar, so two int8 models can be
told apart by what they were calibrated on. Without a folder, synthetic data is used only with a
loud warning and ``"calibration": "synthetic"`` recorded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekit.errors import DataError
from edgekit.data.dataset import list_images, spread
from edgekit.data.images import Geometry, load_image
from edgekit.vocab import DEFAULT_CALIB_COUNT, DEFAULT_CROP

SYNTHETIC = "synthetic"


@dataclass
class ImageSet:
    """Decoded images (uint8 RGB) with where they came from, for calibration or parity."""
    source: str  # a folder, or "synthetic"
    pixels: np.ndarray  # uint8, (N, H, W, C)
    files: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    crop: float = DEFAULT_CROP
    sha256: str = ""

    @property
    def synthetic(self) -> bool:
        return self.source == SYNTHETIC

    def to_dict(self) -> dict:
        return {"source": self.source, "count": int(len(self.pixels)), "sha256": self.sha256,
                "crop": self.crop, "skipped": len(self.skipped),
                "skipped_files": [f"{name}: {why}" for name, why in self.skipped[:20]]}


def load_folder(folder: str | Path, size, count: int | None = DEFAULT_CALIB_COUNT, *, crop: float = DEFAULT_CROP,
                exclude: set[Path] = frozenset(), progress=None) -> ImageSet:
    """Decode up to ``count`` images of ``folder`` (spread over it), skipping unreadable ones."""
    if not 0.0 < crop <= 1.0:  # also NaN: checked once here, not as a failure of every image
        raise DataError(f"--crop is a fraction in (0, 1], got {crop}")
    folder = Path(folder)
    paths = [p for p in list_images(folder) if p.resolve() not in exclude]
    if not paths:
        raise DataError(f"no images left in {folder} once the calibration images are held apart")
    chosen = spread(paths, count) if count else paths
    pixels, files, skipped = [], [], []
    for path in (progress(chosen) if progress else chosen):
        try:
            pixels.append(load_image(path, size, crop))
        except DataError as exc:
            skipped.append((path.name, str(exc).split(": ", 1)[-1][:120]))
            continue
        files.append(str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path))
    if not pixels:
        raise DataError(f"none of the {len(chosen)} images in {folder} could be decoded")
    source = str(folder.resolve())
    return ImageSet(source, np.stack(pixels), files, skipped, crop, files_sha256(source, files))


def files_sha256(folder: str | Path, files: list[str]) -> str:
    """Hash of the image files' names and bytes: identifies a calibration set exactly."""
    digest = hashlib.sha256()
    for rel in files:
        digest.update(rel.encode() + b"\0" + (Path(folder) / rel).read_bytes())
    return digest.hexdigest()


def split(images: ImageSet, keep: int) -> tuple[ImageSet, ImageSet]:
    """The first ``keep`` images, and the rest (held apart, e.g. for a parity check)."""
    def part(sl, skipped):
        files = images.files[sl]
        digest = files_sha256(images.source, files) if not images.synthetic else images.sha256
        return ImageSet(images.source, images.pixels[sl], files, skipped, images.crop, digest)
    return part(slice(0, keep), images.skipped), part(slice(keep, None), [])


def synthetic(size, count: int, seed: int = 0) -> ImageSet:
    """Smooth random images: a last resort that gives ranges but no real accuracy. ``size``: a Geometry, or an
    int for square RGB."""
    geometry = Geometry.of(size)
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(count, 8, 8, geometry.channels)).astype(np.float32)
    reps_h, reps_w = -(-geometry.height // 8), -(-geometry.width // 8)
    pixels = np.repeat(np.repeat(coarse, reps_h, axis=1), reps_w, axis=2)[:, :geometry.height, :geometry.width]
    noise = rng.normal(0, 20, pixels.shape)
    pixels = np.clip(pixels + noise, 0, 255).astype(np.uint8)
    return ImageSet(SYNTHETIC, pixels, crop=1.0, sha256=hashlib.sha256(pixels.tobytes()).hexdigest())


MIN_HELD_APART = 8  # parity images to hold apart from the calibration folder at least


def image_sets(opts, size: int, need_calibration: bool, warn, progress=None) -> tuple[ImageSet | None, ImageSet]:
    """Stage 3: calibration images, and parity images held apart from them. ``opts``: a
    ``CalibrationOptions`` (folders, counts, crop)."""
    calib = check = None
    if opts.calib:
        calib = load_folder(opts.calib, size, opts.calib_count, crop=opts.crop, progress=progress)
        _say_skipped(calib, opts.calib, opts.calib_count, warn)
        if "eval" in Path(opts.calib).name.lower():
            warn(f"calibrating on '{opts.calib}': never calibrate on the data you evaluate on")
    elif need_calibration:
        warn("no --calib folder: using SYNTHETIC images for calibration (and, with random weights, for "
             "batch-norm statistics). Ranges will be wrong for real data; do not trust this artifact's "
             "accuracy (recorded as source: synthetic)")
        calib = synthetic(size, min(opts.calib_count, 64))
    if opts.check:
        check = load_folder(opts.check, size, opts.check_count, crop=opts.crop)
        _say_skipped(check, opts.check, opts.check_count, warn)
    elif opts.calib:
        calib, check = _held_apart(opts, calib, size)
    else:
        check = synthetic(size, min(opts.check_count, 16), seed=1)
    return calib, check


def _say_skipped(images: ImageSet, folder, wanted: int, warn) -> None:
    """Images that could not be decoded are skipped, never silently: the count, the first one and why."""
    if images.skipped:
        name, why = images.skipped[0]
        total = len(images.pixels) + len(images.skipped)
        warn(f"skipped {len(images.skipped)} of {total} images in {folder} that could not be decoded "
             f"(first: {name}: {why}); {len(images.pixels)} used")
    if len(images.pixels) < min(wanted, MIN_HELD_APART):
        warn(f"only {len(images.pixels)} usable image{'s' if len(images.pixels) != 1 else ''} in {folder}: "
             f"ranges and parity from so few images say little")


def _held_apart(opts, calib: ImageSet, size: int) -> tuple[ImageSet, ImageSet]:
    """Check images from the calibration folder that calibration did not use; when it used them all, the
    last fifth of the calibration images is held apart instead."""
    used = {(Path(calib.source) / f).resolve() for f in calib.files}
    try:
        check = load_folder(opts.calib, size, opts.check_count, crop=opts.crop, exclude=used)
    except DataError:
        check = None
    if check is None or len(check.pixels) < MIN_HELD_APART:
        if len(calib.pixels) < 2:
            raise DataError(f"{opts.calib} has one usable image: too few to calibrate and check; pass --check DIR")
        keep = max(1, len(calib.pixels) - max(MIN_HELD_APART, len(calib.pixels) // 5))
        calib, check = split(calib, keep)
    return calib, check
