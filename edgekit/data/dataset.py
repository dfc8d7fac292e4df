"""Image folders: flat, one sub-folder per class, or with a labels.csv beside an images/ folder.

Shared by calibration (which ignores labels) and evaluation (which needs them).
"""

from __future__ import annotations

import csv
from pathlib import Path

from edgekit.errors import DataError
from edgekit.vocab import IMAGE_SUFFIXES

NUM_CLASSES = 1000


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
    """(image, class index 0..999) pairs: from a labels.csv (filename,class_index), or from class
    sub-folders named by WordNet id (n01440764/...) mapped through a class_index.csv found in the
    folder or its parent.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"labelled image folder not found: {folder}")
    labels = _labels_csv(folder)
    pairs = _from_labels_csv(folder, labels) if labels else _from_wordnet_folders(folder)
    if not pairs:
        raise DataError(f"{folder}: no labelled images")
    missing = [p for p, _ in pairs if not p.is_file()]
    if missing:
        raise DataError(f"{labels or folder}: {len(missing)} of {len(pairs)} labelled images do not exist "
                        f"(first: {missing[0]})")
    bad = [(p, c) for p, c in pairs if not 0 <= c < NUM_CLASSES]
    if bad:
        raise DataError(f"{labels or folder}: class index {bad[0][1]} of {bad[0][0].name} is outside 0..{NUM_CLASSES - 1}")
    return pairs


def _from_labels_csv(folder: Path, labels: Path) -> list[tuple[Path, int]]:
    pairs = []
    try:
        with open(labels, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                pairs.append((_resolve(folder, row["filename"]), int(row["class_index"])))
    except (KeyError, ValueError, TypeError):
        raise DataError(f"{labels}: every row needs filename and an integer class_index") from None
    except (OSError, csv.Error) as exc:
        raise DataError(f"cannot read {labels}: {exc}") from None
    return pairs


def _from_wordnet_folders(folder: Path) -> list[tuple[Path, int]]:
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith("n") and p.name[1:].isdigit())
    if not subdirs:
        raise DataError(f"{folder}: no labels.csv (filename,class_index) and no WordNet-id class folders")
    index_file = next((c for c in (folder / "class_index.csv", folder.parent / "class_index.csv") if c.is_file()), None)
    if index_file is None:
        raise DataError(f"{folder}: class folders need a class_index.csv (class_index,wnid) beside them or one level up")
    try:
        with open(index_file, newline="", encoding="utf-8") as handle:
            by_wnid = {row["wnid"]: int(row["class_index"]) for row in csv.DictReader(handle)}
    except (KeyError, ValueError, OSError, csv.Error):
        raise DataError(f"{index_file}: expected columns class_index,wnid") from None
    pairs = []
    for sub in subdirs:
        if sub.name not in by_wnid:
            raise DataError(f"{sub}: WordNet id {sub.name} is not in {index_file}")
        pairs += [(p, by_wnid[sub.name]) for p in sorted(sub.iterdir())
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return pairs
