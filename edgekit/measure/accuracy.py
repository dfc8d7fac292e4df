"""Top-k accuracy of class scores against labels (models with 1001 outputs are shifted)."""

from __future__ import annotations

import numpy as np


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
