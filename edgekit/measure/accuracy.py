"""Top-k accuracy of class scores against labels (models with 1001 outputs are shifted)."""

from __future__ import annotations

import numpy as np


def align_classes(scores: np.ndarray) -> np.ndarray:
    """Drop the leading "background" class of 1001-output models (output k+1 = class k)."""
    return scores[:, 1:] if scores.shape[1] == 1001 else scores


def topk(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Ties (frequent with uint8 outputs) go to the lower class index, the same on every machine.

    An unstable sort breaks ties by the sort's implementation: numpy's x86 SIMD sort and its ARM
    sort ordered them differently, so bit-identical outputs gave top-1 57.3% on x86 and 56.7% on
    aarch64 for Google's int8 v1-0.25-128 on eval300.
    """
    scores = align_classes(scores)
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean([label in row for row, label in zip(best, labels)]))


def tied_top1(scores: np.ndarray) -> int:
    """Images whose highest score is shared by two or more classes (top-1 then rests on the tie rule)."""
    scores = align_classes(scores)
    return int(np.sum((scores == scores.max(axis=1, keepdims=True)).sum(axis=1) > 1))
