"""Top-1 / top-k of an artifact over a labelled image folder, with the artifact's own runtime.

``evaluate(path, data, ...)`` is the Python API behind ``edgekit eval``. Preprocessing comes from
our sidecar or, for a foreign file, from its input (``measure.inputs``). ImageNet classifiers (1000
outputs, or 1001 with background first, shifted) read ImageNet-labelled folders. A model of any
other N classes reads class folders or a labels.csv naming its classes (``data.dataset.class_dataset``)
and gets per-class accuracy, the confusion matrix and balanced accuracy besides.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.measure.accuracy import tied_top1, topk
from edgekit.data.dataset import class_dataset, is_imagenet, labelled_images
from edgekit.measure.identity import describe_artifact
from edgekit.data.images import load_image
from edgekit.measure.inputs import recipe_for
from edgekit.run.runtime import Classifier, ModelFileError, open_runtime
from edgekit.vocab import DEFAULT_CROP, RUNTIMES

CLASSES = (1000, 1001)


def evaluate(path: str | Path, data: str | Path, *, limit: int | None = None, crop: float = DEFAULT_CROP,
             threads: int = 1, runtime: str | None = None, preprocess: str | None = None,
             progress: Callable | None = None, reference_kernels: bool = False,
             class_names: list[str] | None = None) -> dict:
    """Top-1/top-k of ``path`` on ``data``; ``outputs_sha256`` fingerprints every score in order, so two
    machines that computed the very same outputs (e.g. with ``reference_kernels``) can show it.
    ``class_names``: an N-class model's classes in output order (default: its sidecar's, else the
    sorted class folders)."""
    import hashlib

    path = Path(path)
    if limit is not None and limit < 1:
        raise EdgekitError(f"--limit must be >= 1, got {limit}")
    start = time.perf_counter()
    options = {"reference": True} if reference_kernels else {}
    if reference_kernels and (runtime or RUNTIMES.get(path.suffix.lower())) != "litert":
        raise EdgekitError("--reference-kernels applies to LiteRT (.tflite) only")
    with open_runtime(path, runtime=runtime, threads=threads, **options) as rt:
        classes = int(np.prod(rt.outputs[0].shape[1:]))
        if len(rt.outputs[0].shape) != 2 or classes < 2:
            raise ModelFileError(f"{path.name}: output shape {tuple(rt.outputs[0].shape)} is not a class vector")
        dataset = None
        imagenet_labels = is_imagenet(data)
        if classes in CLASSES and imagenet_labels:
            pairs = labelled_images(data)
        elif is_imagenet(data, strict=True) and class_names is None and not _sidecar_names(path):
            raise ModelFileError(f"{path.name} outputs {classes} scores: not an ImageNet classifier (1000 or 1001), and "
                                 f"{data} is labelled with ImageNet class indices; for a model of your own classes use "
                                 f"class folders or a labels.csv naming them (see --labels)")
        else:
            dataset = _dataset(path, data, classes, class_names)
            pairs = dataset.pairs
        if limit:
            pairs = pairs[:limit]
        recipe = recipe_for(path, rt.inputs[0], preprocess)
        classifier = Classifier(rt, recipe.apply)
        items = progress(pairs) if progress else pairs
        scores = np.stack([classifier.scores(load_image(image, recipe.resolution, crop)[None])[0]
                           for image, _ in items])
        labels = np.array([label for _, label in pairs])
        k = 5 if dataset is None else min(5, classes - 1)
        result = {
            **describe_artifact(path), "data": str(data), "count": len(pairs),
            "top1": topk(scores, labels, 1), "top5": topk(scores, labels, k) if k > 1 else None, "top_k": k,
            "tied_top1": tied_top1(scores),
            "runtime": rt.name, "runtime_version": rt.version, "threads": threads,
            "crop": crop, "classes": classes, "preprocessing": recipe.to_dict(),
            "kernels": getattr(rt, "kernels", None), "outputs_sha256": hashlib.sha256(
                np.ascontiguousarray(scores, dtype=np.float32).tobytes()).hexdigest(),
        }
    if dataset is not None:
        result.update(per_class(scores, labels, dataset.class_names), layout=dataset.layout)
    result["seconds"] = time.perf_counter() - start
    return result


def _sidecar_names(path: Path):
    from edgekit.export.artifact import read_sidecar

    return ((read_sidecar(path) or {}).get("model") or {}).get("class_names")


def _dataset(path: Path, data, classes: int, class_names):
    """An N-class model's labelled data, its classes named by ``class_names``, the sidecar or the folders."""
    if class_names is None:
        class_names = _sidecar_names(path)
    if class_names is not None and len(class_names) != classes:
        raise EdgekitError(f"--labels names {len(class_names)} classes, but {path.name} outputs {classes} scores")
    dataset = class_dataset(data, class_names)
    if class_names is not None and dataset.layout == "class folders":
        present = {names for names in (p.parent.name for p, _ in dataset.pairs)}
        missing = [n for n in class_names if n not in present]
        if missing:
            raise EdgekitError(f"{data} has {len(present)} class folders, but {path.name} has {classes} classes; "
                               f"no folder for: {', '.join(missing[:6])}{', ...' if len(missing) > 6 else ''}")
    if class_names is None and len(dataset.class_names) != classes:
        raise EdgekitError(f"{data} has {len(dataset.class_names)} classes ({dataset.layout}), but {path.name} "
                           f"outputs {classes} scores{' (an ImageNet classifier needs ImageNet labels: labels.csv with class_index and wnid, or WordNet-id folders)' if classes in CLASSES else ''}")
    return dataset


def per_class(scores: np.ndarray, labels: np.ndarray, names) -> dict:
    """Per-class accuracy (ties shared as in ``topk``), balanced accuracy and the confusion matrix (rows:
    true class, columns: predicted; a tie for the top goes to the lowest index, and is counted apart)."""
    n = len(names)
    predicted = np.argmax(scores, axis=1)
    confusion = np.zeros((n, n), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    rows = []
    for c, name in enumerate(names):
        mask = labels == c
        count = int(mask.sum())
        rows.append({"class": name, "images": count,
                     "top1": topk(scores[mask], labels[mask], 1) if count else None})
    seen = [r["top1"] for r in rows if r["top1"] is not None]
    counts = [r["images"] for r in rows if r["images"]]
    return {"class_names": list(names), "per_class": rows, "confusion": confusion.tolist(),
            "balanced_top1": float(np.mean(seen)) if seen else None,
            "imbalanced": bool(counts and max(counts) > 1.5 * min(counts))}
