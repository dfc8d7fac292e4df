"""Image classification: one class vector out. Parity by top-1 agreement and logit SQNR (and, with
labelled check images, the top-1 drop); accuracy as top-1/top-k with ties shared fairly, and for a
model of N classes of its own, per-class accuracy, balanced accuracy and the confusion matrix.

ImageNet classifiers (1000 outputs, or 1001 with background first, shifted) read ImageNet-labelled
folders (labels.csv with class_index, or WordNet-id folders); any other N-class model reads class
folders or a labels.csv naming its classes (``data.dataset.class_dataset``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from edgekit.data.dataset import class_dataset, is_imagenet, labelled_images
from edgekit.errors import DataError, EdgekitError
from edgekit.tasks.base import EXACT, Metric, Task, register, shape_of, sqnr_db, tolerance

IMAGENET_CLASSES = (1000, 1001)


@register
class Classification(Task):
    """One (batch, classes) output of class scores or logits."""

    name = "classification"
    description = "one class vector out"
    accuracy = "top-1"
    metrics = (Metric("agreement", "top1_agreement", ">=", fraction=True),
               Metric("sqnr", "sqnr_db", ">=", " dB"),
               Metric("drop", "drop_pts", "<=", " pts"))
    parity_columns = (("max |diff|", "max_abs_diff", ".1e"), ("agree", "top1_agreement", ".0%"),
                      ("SQNR", "sqnr_db", ".1f"))

    @classmethod
    def accepts(cls, outputs: Sequence) -> bool:
        if len(outputs) != 1:
            return False
        shape = shape_of(outputs[0])
        return len(shape) == 2 and shape[1] >= 2

    def parity(self, reference, candidate, precision: str, truth=None) -> dict:
        """``reference``/``candidate``: one (N, classes) array each (or a one-element list). With ``truth``
        (the check images' classes) also both top-1s and the drop in points. Exact precisions are judged
        here; quantized ones by ``export.parity.judge``."""
        reference, candidate = _one(reference), _one(candidate)
        diff = np.abs(reference.astype(np.float64) - candidate)
        result = {
            "images": int(len(reference)),
            "max_abs_diff": float(diff.max()),
            "mean_abs_diff": float(diff.mean()),
            "top1_agreement": float(np.mean(reference.argmax(1) == candidate.argmax(1))),
            "sqnr_db": round(sqnr_db(reference, candidate), 2),
        }
        if truth is not None and truth.max() < reference.shape[1]:
            reference_top1 = float(np.mean(reference.argmax(1) == truth))
            top1 = float(np.mean(candidate.argmax(1) == truth))
            result.update(reference_top1=reference_top1, top1=top1, drop_pts=round(100 * (reference_top1 - top1), 2))
        if precision in EXACT:
            result["tolerance"] = tolerance(precision, reference)
            result["passed"] = bool(result["max_abs_diff"] <= result["tolerance"] and
                                    (precision != "float" or result["top1_agreement"] == 1.0))
        else:
            result["passed"] = None  # judged by export.parity.judge
        return result

    def failure(self, result: dict) -> str:
        """Why an exact precision failed its parity, in a few words."""
        return (f"max |logit diff| {result['max_abs_diff']:.3g} > {result['tolerance']:.3g} or top-1 agreement "
                f"{result['top1_agreement']:.0%}")

    def truth(self, images, class_names=None, classes: int | None = None) -> np.ndarray | None:
        """The class index of every image of ``images`` (a ``data.imageset.ImageSet``) when its folder is
        labelled, else None (a flat folder, synthetic images, or files the labels do not name). Without
        ``class_names``: ImageNet labels, shifted by one for a 1001-output model; with them, the model's
        own classes (class folders or a labels.csv naming them)."""
        if images is None or images.synthetic:
            return None
        try:
            pairs = class_dataset(images.source, class_names).pairs if class_names else labelled_images(images.source)
        except DataError:
            return None
        known = {path.resolve(): label for path, label in pairs}
        found = [known.get((Path(images.source) / f).resolve()) for f in images.files]
        if not found or any(label is None for label in found):
            return None
        labels = np.array(found)
        return labels + 1 if (classes == 1001 and not class_names) else labels

    # --- evaluation ------------------------------------------------------------------------------

    def dataset(self, data, classes: int, class_names=None, model_name: str = "the model"):
        """The labelled images an artifact of ``classes`` outputs is scored on: ``(pairs, dataset or None)``
        (None: ImageNet labels)."""
        if classes in IMAGENET_CLASSES and is_imagenet(data):
            return labelled_images(data), None
        if is_imagenet(data, strict=True) and class_names is None:
            raise EdgekitError(f"{model_name} outputs {classes} scores: not an ImageNet classifier (1000 or 1001), "
                               f"and {data} is labelled with ImageNet class indices; for a model of your own classes "
                               f"use class folders or a labels.csv naming them (see --labels)")
        dataset = _class_dataset(data, classes, class_names, model_name)
        return dataset.pairs, dataset

    def evaluate(self, infer, load, data, *, outputs, limit=None, progress=None, class_names=None,
                 model_name: str = "the model", geometry=None, overlay=None) -> tuple[dict, np.ndarray]:
        """Score a classifier on ``data``: ``infer(pixels)`` gives one image's outputs, ``load(path)`` one image's
        pixels. Returns the metrics (with the image count) and the scores, for the outputs' fingerprint."""
        classes = int(np.prod(shape_of(outputs[0])[1:]))
        pairs, dataset = self.dataset(data, classes, class_names, model_name)
        pairs = pairs[:limit] if limit else pairs
        items = progress(pairs) if progress else pairs
        scores = np.stack([infer(load(image))[0].reshape(-1) for image, _ in items])
        labels = np.array([label for _, label in pairs])
        return {"count": len(pairs), **self.score(scores, labels, dataset)}, scores

    def score(self, scores: np.ndarray, labels: np.ndarray, dataset=None) -> dict:
        """Top-1 / top-k (k = 5, or fewer for a model of few classes) and, for an N-class dataset, per class."""
        classes = scores.shape[1]
        k = 5 if dataset is None else min(5, classes - 1)
        out = {"top1": topk(scores, labels, 1), "top5": topk(scores, labels, k) if k > 1 else None, "top_k": k,
               "tied_top1": tied_top1(scores), "classes": classes}
        if dataset is not None:
            out.update(per_class(scores, labels, dataset.class_names), layout=dataset.layout)
        return out


def _one(value) -> np.ndarray:
    return value[0] if isinstance(value, (list, tuple)) else value


def _class_dataset(data, classes: int, class_names, model_name: str):
    """An N-class model's labelled data, its classes named by ``class_names`` or the folders."""
    if class_names is not None and len(class_names) != classes:
        raise EdgekitError(f"--labels names {len(class_names)} classes, but {model_name} outputs {classes} scores")
    dataset = class_dataset(data, class_names)
    if class_names is not None and dataset.layout == "class folders":
        present = {p.parent.name for p, _ in dataset.pairs}
        missing = [n for n in class_names if n not in present]
        if missing:
            raise EdgekitError(f"{data} has {len(present)} class folders, but {model_name} has {classes} classes; "
                               f"no folder for: {', '.join(missing[:6])}{', ...' if len(missing) > 6 else ''}")
    if class_names is None and len(dataset.class_names) != classes:
        hint = (" (an ImageNet classifier needs ImageNet labels: labels.csv with class_index and wnid, or WordNet-id "
                "folders)" if classes in IMAGENET_CLASSES else "")
        raise EdgekitError(f"{data} has {len(dataset.class_names)} classes ({dataset.layout}), but {model_name} "
                           f"outputs {classes} scores{hint}")
    return dataset


def align_classes(scores: np.ndarray) -> np.ndarray:
    """Drop the leading "background" class of 1001-output models (output k+1 = class k)."""
    return scores[:, 1:] if scores.shape[1] == 1001 else scores


def topk(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Top-k accuracy with ties shared fairly: the expected accuracy if ties were broken at random.

    Ties are common with int8 outputs (19 of 300 eval300 images for our int8 v1-0.25-128, 17 for
    Google's). Breaking them by sort order made top-1 depend on the machine: numpy's x86 SIMD sort
    and its ARM sort gave 57.3% and 56.7% on bit-identical outputs. Here a label tied with m classes
    for the last s of the k places gets s/m credit: exact, and the same everywhere.
    """
    scores = align_classes(scores)
    labels = np.asarray(labels)
    kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1:k]  # the k-th largest score per row
    above = (scores > kth).sum(axis=1)
    tied = (scores == kth).sum(axis=1)
    mine = scores[np.arange(len(labels)), labels][:, None]
    credit = np.where(mine[:, 0] > kth[:, 0], 1.0,
                      np.where(mine[:, 0] == kth[:, 0], (k - above) / tied, 0.0))
    return float(np.mean(credit))


def tied_top1(scores: np.ndarray) -> int:
    """Images whose highest score is shared by two or more classes (top-1 then rests on the tie rule)."""
    scores = align_classes(scores)
    return int(np.sum((scores == scores.max(axis=1, keepdims=True)).sum(axis=1) > 1))


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
