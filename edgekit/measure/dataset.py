"""Image folders: flat, one sub-folder per class, or with a labels.csv beside an images/ folder.

Shared by calibration (which ignores labels) and evaluation (which needs them).
"""

from __future__ import annotations

import csv
from pathlib import Path

from edgekit.errors import DataError
from edgekit.measure.images import IMAGE_SUFFIXES


def _labels_csv(folder: Path) -> Path | None:
    path = folder / "labels.csv"
    return path if path.is_file() else None


def _resolve(folder: Path, filename: str) -> Path:
    for candidate in (folder / "images" / filename, folder / filename):
        if candidate.exists():
            return candidate
    return folder / "images" / filename


def list_images(folder: str | Path) -> list[Path]:
    """Every image file of a folder, in a stable (sorted) order."""
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"image folder not found: {folder}")
    if not folder.is_dir():
        raise DataError(f"not a folder: {folder}")
    labels = _labels_csv(folder)
    try:
        if labels:
            with open(labels, newline="", encoding="utf-8") as handle:
                names = [row["filename"] for row in csv.DictReader(handle) if row.get("filename")]
            paths = [_resolve(folder, name) for name in names]
        else:
            paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    except PermissionError as exc:
        raise DataError(f"cannot read image folder {folder}: {exc.strerror}") from None
    except (KeyError, csv.Error) as exc:
        raise DataError(f"{labels}: expected a CSV with a filename column ({exc})") from None
    if not paths:
        raise DataError(f"no images in {folder} (looked for {', '.join(IMAGE_SUFFIXES)}, flat, in class folders, or via labels.csv)")
    return paths


def spread(paths: list[Path], count: int) -> list[Path]:
    """``count`` paths spread evenly over the list (so class sub-folders are all represented)."""
    if count >= len(paths):
        return list(paths)
    step = len(paths) / count
    return [paths[int(i * step)] for i in range(count)]


def labelled_images(folder: str | Path) -> list[tuple[Path, int]]:
    """(image, class index 0..999) pairs from a labels.csv (filename,class_index) or WordNet-id folders."""
    folder = Path(folder)
    labels = _labels_csv(folder)
    if labels is None:
        raise DataError(f"{folder}: no labels.csv (filename,class_index) found")
    pairs = []
    with open(labels, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                pairs.append((_resolve(folder, row["filename"]), int(row["class_index"])))
            except (KeyError, ValueError):
                raise DataError(f"{labels}: every row needs filename and an integer class_index") from None
    return pairs
