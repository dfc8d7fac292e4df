"""Top-k accuracy of class scores against labels (models with 1001 outputs are shifted)."""

from __future__ import annotations

import numpy as np


def align_classes(scores: np.ndarray) -> np.ndarray:
    """Drop the leading "background" class of 1001-output models (output k+1 = class k)."""
    return scores[:, 1:] if scores.shape[1] == 1001 else scores


def topk(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    scores = align_classes(scores)
    best = np.argsort(-scores, axis=1)[:, :k]
    return float(np.mean([label in row for row, label in zip(best, labels)]))
