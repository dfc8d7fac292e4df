"""Image folders: flat, one sub-folder per class, or with a labels.csv beside an images/ folder.

Shared by calibration (which ignores labels) and evaluation (which needs them).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import DataError
from edgekit.vocab import IMAGE_SUFFIXES

NUM_CLASSES = 1000


def check_folder(folder: str | Path, what: str = "image folder") -> Path:
    """``folder`` if it is a readable folder; one line naming what is wrong with it otherwise."""
    folder = Path(folder)
    try:
        if folder.is_symlink() and not folder.exists():
            raise DataError(f"{what} {folder} is a symbolic link to nothing (broken or looping)")
        if not folder.exists():
            raise DataError(f"{what} not found: {folder}")
        if not folder.is_dir():
            raise DataError(f"{what} {folder} is a file, not a folder")
        next(folder.iterdir(), None)
    except PermissionError:
        raise DataError(f"cannot read {what} {folder}: permission denied") from None
    except OSError as exc:  # ELOOP and friends
        raise DataError(f"cannot read {what} {folder}: {exc.strerror or exc}") from None
    return folder


def _labels_csv(folder: Path) -> Path | None:
    path = folder / "labels.csv"
    return path if path.is_file() else None


def read_rows(labels: Path, needs: tuple[str, ...] = ("filename",)) -> list[dict]:
    """The rows of a labels.csv: UTF-8 with or without a byte-order mark (as spreadsheets save it), every row
    with the ``needs`` columns, no file twice. One line of DataError naming the file and row otherwise."""
    try:
        with open(labels, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = [{(k or "").strip(): (v or "").strip() if isinstance(v, str) else v for k, v in row.items()}
                    for row in reader]
            header = [h.strip() for h in reader.fieldnames or []]
    except UnicodeDecodeError:
        raise DataError(f"{labels} is not a UTF-8 text file (a CSV of filename,class)") from None
    except (OSError, csv.Error) as exc:
        raise DataError(f"cannot read {labels}: {exc}") from None
    missing = [c for c in needs if c not in header]
    if missing:
        raise DataError(f"{labels}: expected the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                        f"(found {', '.join(header) or 'none'})")
    seen: dict[str, dict] = {}
    for number, row in enumerate(rows, start=2):
        name = row.get("filename") or ""
        if not name:
            raise DataError(f"{labels}, row {number}: no filename")
        if name in seen:
            same = {k: v for k, v in row.items() if k != "filename"} == \
                   {k: v for k, v in seen[name].items() if k != "filename"}
            raise DataError(f"{labels}, row {number}: {name} is listed twice" +
                            ("" if same else " with different labels") + ": one row per image")
        seen[name] = row
    return rows


def _resolve(folder: Path, filename: str) -> Path:
    for candidate in (folder / "images" / filename, folder / filename):
        if candidate.exists():
            return candidate
    return folder / "images" / filename


def list_images(folder: str | Path) -> list[Path]:
    """Every image file of a folder, in a stable (sorted) order. Segmentation data (a COCO JSON file, images/ +
    masks/, a VOC tree) gives its images only, never its masks."""
    from edgekit.data.masks import is_segmentation_data, list_segmentation_images

    if is_segmentation_data(folder):
        return list_segmentation_images(folder)
    folder = check_folder(folder)
    labels = _labels_csv(folder)
    try:
        if labels:
            paths = [_resolve(folder, row["filename"]) for row in read_rows(labels)]
        else:
            paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    except PermissionError as exc:
        raise DataError(f"cannot read image folder {folder}: {exc.strerror}") from None
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
    folder = check_folder(folder, "labelled image folder")
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
    for number, row in enumerate(read_rows(labels, ("filename", "class_index")), start=2):
        try:
            pairs.append((_resolve(folder, row["filename"]), int(row["class_index"])))
        except (ValueError, TypeError):
            raise DataError(f"{labels}, row {number}: class_index {row['class_index']!r} is not a whole number") from None
    return pairs


def _from_wordnet_folders(folder: Path) -> list[tuple[Path, int]]:
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith("n") and p.name[1:].isdigit())
    if not subdirs:
        raise DataError(f"{folder}: no labels.csv (filename,class_index) and no WordNet-id class folders")
    index_file = next((c for c in (folder / "class_index.csv", folder.parent / "class_index.csv") if c.is_file()), None)
    if index_file is None:
        raise DataError(f"{folder}: class folders need a class_index.csv (class_index,wnid) beside them or one level up")
    try:
        with open(index_file, newline="", encoding="utf-8-sig") as handle:
            by_wnid = {row["wnid"]: int(row["class_index"]) for row in csv.DictReader(handle)}
    except (KeyError, ValueError, OSError, csv.Error, UnicodeDecodeError):
        raise DataError(f"{index_file}: expected columns class_index,wnid") from None
    pairs = []
    for sub in subdirs:
        if sub.name not in by_wnid:
            raise DataError(f"{sub}: WordNet id {sub.name} is not in {index_file}")
        pairs += [(p, by_wnid[sub.name]) for p in sorted(sub.iterdir())
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return pairs


@dataclass(frozen=True)
class Dataset:
    """Labelled images of N classes: (image, class index) pairs and the class names by index."""
    pairs: list
    class_names: tuple[str, ...]
    layout: str  # "class folders" or "labels.csv"

    @property
    def counts(self) -> list[int]:
        out = [0] * len(self.class_names)
        for _, label in self.pairs:
            out[label] += 1
        return out


def class_dataset(folder: str | Path, class_names: list[str] | tuple[str, ...] | None = None) -> Dataset:
    """A folder of one sub-folder per class (sorted folder names are the class indices, the
    ``image_dataset_from_directory`` convention) or with a labels.csv (filename, and a class name or
    index). ``class_names`` (the model's order) names or reorders the classes: folders and names in
    labels.csv are looked up in it.
    """
    folder = check_folder(folder, "labelled image folder")
    labels = _labels_csv(folder)
    if labels:
        return _csv_dataset(folder, labels, class_names)
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subdirs:
        raise DataError(f"{folder}: no class sub-folders and no labels.csv (filename,class)")
    names = list(class_names) if class_names else [p.name for p in subdirs]
    index = {name: i for i, name in enumerate(names)}
    pairs = []
    for sub in subdirs:
        if sub.name not in index:
            raise DataError(f"{folder}: class folder '{sub.name}' is not one of the model's classes "
                            f"({', '.join(names[:8])}{', ...' if len(names) > 8 else ''})")
        images = sorted(p for p in sub.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise DataError(f"{sub}: empty class folder (no {', '.join(IMAGE_SUFFIXES[:3])}, ... images)")
        pairs += [(p, index[sub.name]) for p in images]
    return Dataset(pairs, tuple(names), "class folders")


def _csv_dataset(folder: Path, labels: Path, class_names) -> Dataset:
    rows = read_rows(labels)
    column = next((c for c in ("class", "class_name", "label", "class_index") if rows and c in rows[0]), None)
    if not rows or "filename" not in rows[0] or column is None:
        raise DataError(f"{labels}: expected columns filename and class (a class name or index)")
    values = [row[column].strip() for row in rows]
    if class_names:
        names = list(class_names)
    elif all(v.isdigit() for v in values):
        names = [str(i) for i in range(max(int(v) for v in values) + 1)]
    else:
        names = sorted(set(values))
    index = {name: i for i, name in enumerate(names)}
    pairs = []
    for row, value in zip(rows, values):
        if value in index:
            label = index[value]
        elif value.isdigit() and int(value) < len(names):
            label = int(value)
        else:
            raise DataError(f"{labels}: class '{value}' of {row['filename']} is not one of the "
                            f"{len(names)} classes")
        pairs.append((_resolve(folder, row["filename"]), label))
    missing = [p for p, _ in pairs if not p.is_file()]
    if missing:
        raise DataError(f"{labels}: {len(missing)} of {len(pairs)} labelled images do not exist (first: {missing[0]})")
    return Dataset(pairs, tuple(names), "labels.csv")


def is_imagenet(folder: str | Path, strict: bool = False) -> bool:
    """Whether a folder is labelled the ImageNet way (WordNet-id folders, or a labels.csv with class_index):
    then 1000/1001-class models evaluate on it as before. ``strict``: only when nothing else is possible
    (a wnid column, or WordNet-id folders), not a plain integer class_index."""
    folder = check_folder(folder, "labelled image folder")
    labels = _labels_csv(folder)
    if labels:
        try:
            with open(labels, newline="", encoding="utf-8-sig") as handle:
                header = [h.strip() for h in next(csv.reader(handle), [])]
        except (OSError, UnicodeDecodeError, csv.Error):
            raise DataError(f"{labels} is not a readable UTF-8 CSV (filename,class)") from None
        if strict:
            return "wnid" in header
        return "class_index" in header and ("wnid" in header or "class" not in header)
    return any(p.is_dir() and p.name.startswith("n") and p.name[1:].isdigit() for p in folder.iterdir())
