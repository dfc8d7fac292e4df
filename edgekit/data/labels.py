"""ImageNet class names, from a labels file the user points at (nothing is downloaded).

Accepts a ``class_index.csv`` (class_index,wnid,class_name; the Keras/PyTorch order) or a
text file with one name per line, where 1001 lines mean "background" first (Google's TFLite
label files).
"""

from __future__ import annotations

import csv
from pathlib import Path

from edgekit.errors import DataError


def _text(path: Path) -> str:
    """A labels file's text (UTF-8, a byte-order mark allowed); one line of DataError for anything else."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a UTF-8 text file of class names") from None
    except IsADirectoryError:
        raise DataError(f"labels file {path} is a folder") from None
    except OSError as exc:
        raise DataError(f"cannot read labels file {path}: {exc.strerror or exc}") from None


def class_names(path: str | Path, expected: int | None = None) -> list[str]:
    """Class names by index from class_index.csv or a labels .txt (one name per line; a 1001-line file drops
    background). ``expected``: the model's number of classes (default: ImageNet's 1000)."""
    text = _text(Path(path))
    path = Path(path)
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        if not rows or "class_index" not in rows[0]:
            raise DataError(f"{path}: expected a CSV with a class_index column")
        names: dict[int, str] = {}
        for row in rows:
            try:
                names[int(row["class_index"])] = row.get("class_name") or row.get("wnid") or row["class_index"]
            except (TypeError, ValueError):
                raise DataError(f"{path}: class_index {row['class_index']!r} is not a whole number") from None
        return [names.get(i, str(i)) for i in range(max(names) + 1)]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if expected is not None and expected not in (1000, 1001):
        if len(lines) != expected:
            raise DataError(f"{path}: names {len(lines)} classes, but the model has {expected}")
        if len(set(lines)) != len(lines):
            raise DataError(f"{path}: a class name appears twice")
        return lines
    if len(lines) == 1001:
        lines = lines[1:]  # background first
    if len(lines) != 1000:
        raise DataError(f"{path}: expected 1000 (or 1001 with background) class names, found {len(lines)}")
    return lines


def name_list(path: str | Path) -> list[str]:
    """Class names, one per line, in the model's output order (a user model's ``--labels``)."""
    path = Path(path)
    lines = [line.strip() for line in _text(path).splitlines() if line.strip()]
    if len(lines) < 2:
        raise DataError(f"{path}: expected one class name per line, found {len(lines)}")
    if len(set(lines)) != len(lines):
        raise DataError(f"{path}: a class name appears twice")
    return lines
