"""Parity: does the artifact compute what the Keras model computes, on the same images?

Float and fp16 artifacts must match the Keras logits (max abs difference within tolerance, every
top-1 the same); a broken conversion fails loudly. Quantized artifacts cannot match exactly, so
they report top-1 agreement and the signal-to-quantization-noise ratio (SQNR) of their logits.
"""

from __future__ import annotations

import numpy as np

from edgekit.errors import EdgekitError

# Absolute logit tolerance by precision: float conversions are exact up to reassociation.
TOLERANCE = {"float": 1e-4, "fp16": 0.5}
EXACT = ("float", "fp16")


class ParityError(EdgekitError):
    """A conversion that changed the function it was supposed to preserve."""


def sqnr_db(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio of ``candidate`` against ``reference``, in dB."""
    noise = float(np.sum((reference.astype(np.float64) - candidate) ** 2))
    signal = float(np.sum(reference.astype(np.float64) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(signal / noise)


def compare(reference: np.ndarray, candidate: np.ndarray, precision: str) -> dict:
    """Metrics of ``candidate`` logits against the Keras ``reference`` (both (N, classes))."""
    diff = np.abs(reference.astype(np.float64) - candidate)
    # float tolerance scales with the logits' magnitude (1e-4 at |logits| ~ 1..20)
    scale = max(1.0, float(np.abs(reference).max()) / 20)
    result = {
        "images": int(len(reference)),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "top1_agreement": float(np.mean(reference.argmax(1) == candidate.argmax(1))),
        "sqnr_db": round(sqnr_db(reference, candidate), 2),
    }
    if precision in EXACT:
        tolerance = TOLERANCE[precision] * scale
        result["tolerance"] = tolerance
        result["passed"] = bool(result["max_abs_diff"] <= tolerance and
                                (precision != "float" or result["top1_agreement"] == 1.0))
    else:
        result["passed"] = None  # reported, not judged: see top1_agreement and sqnr_db
    return result
