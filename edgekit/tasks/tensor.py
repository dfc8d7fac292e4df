"""Plain tensors: an embedding, a feature map, a dense mask, several outputs. No labels and no
accuracy: parity per output as SQNR, cosine similarity and max |diff| against the source model,
and the worst output decides (a model is as good as its worst head).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from edgekit.tasks.base import EXACT, Metric, Task, cosine, register, sqnr_db

FEATURE_TOLERANCE = {"float": 1e-3, "fp16": 0.05}  # of max(1, the output's largest magnitude)
EXACT_SQNR_DB = {"float": 80.0, "fp16": 30.0}


@register
class Tensors(Task):
    """Any outputs, compared element by element."""

    name = "tensor"
    description = "any outputs (embeddings, feature maps, several heads), compared element by element"
    metrics = (Metric("sqnr", "sqnr_db", ">=", " dB"), Metric("cosine", "cosine", ">=", fraction=True))
    parity_columns = (("max |diff|", "max_abs_diff", ".1e"), ("cosine", "cosine", ".4f"), ("SQNR", "sqnr_db", ".1f"))

    @classmethod
    def accepts(cls, outputs: Sequence) -> bool:
        return True

    def parity(self, reference, candidate, precision: str, truth=None) -> dict:
        """Per output and overall (the worst output's SQNR and cosine, the largest |diff|)."""
        reference = reference if isinstance(reference, (list, tuple)) else [reference]
        candidate = candidate if isinstance(candidate, (list, tuple)) else [candidate]
        if len(reference) != len(candidate):
            return {"images": 0, "passed": False, "outputs": [],
                    "failed": [f"{len(candidate)} outputs where the source model has {len(reference)}"]}
        rows = []
        for i, (ref, got) in enumerate(zip(reference, candidate)):
            if ref.shape != got.shape:
                rows.append({"output": i, "shape": list(ref.shape), "candidate_shape": list(got.shape),
                             "max_abs_diff": float("inf"), "mean_abs_diff": float("inf"),
                             "sqnr_db": float("-inf"), "cosine": 0.0})
                continue
            diff = np.abs(ref.astype(np.float64) - got)
            rows.append({"output": i, "shape": list(ref.shape[1:]), "max_abs_diff": float(diff.max()),
                         "mean_abs_diff": float(diff.mean()), "sqnr_db": round(sqnr_db(ref, got), 2),
                         "cosine": round(cosine(ref, got), 6)})
        result = {"images": int(len(reference[0])), "outputs": rows,
                  "max_abs_diff": max(r["max_abs_diff"] for r in rows),
                  "mean_abs_diff": float(np.mean([r["mean_abs_diff"] for r in rows])),
                  "sqnr_db": min(r["sqnr_db"] for r in rows), "cosine": min(r["cosine"] for r in rows)}
        if precision in EXACT:
            # Feature maps hold thousands of values per image where a classifier has its logits: float32
            # reassociation leaves a larger largest error there (the real v1 backbone's conv_pw_13 map, 4x4x256
            # ReLU6: 1.1e-4 to 1e-3 against Keras over 8-32 images, at 102 dB). So a tensor is exact when its
            # error is at that level: max |diff| within 1e-3 of the output's range and an SQNR of 80 dB.
            result["tolerance"] = max(FEATURE_TOLERANCE[precision] * max(1.0, float(np.abs(ref).max()))
                                      for ref in reference)
            floor = EXACT_SQNR_DB[precision]
            result["passed"] = bool(result["max_abs_diff"] <= result["tolerance"] and result["sqnr_db"] >= floor)
        else:
            result["passed"] = None
        return result

    def failure(self, result: dict) -> str:
        return (f"max |output diff| {result['max_abs_diff']:.3g} (tolerance {result.get('tolerance', 0):.3g}), "
                f"SQNR {result['sqnr_db']:.1f} dB")
