"""Plain tensors: an embedding, a feature map, a dense mask, several outputs. No labels and no
accuracy: parity per output as SQNR, cosine similarity and max |diff| against the source model,
and the worst output decides (a model is as good as its worst head).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from edgekit.tasks.base import EXACT, Metric, Task, cosine, register, sqnr_db, tolerance


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
            result["tolerance"] = max(tolerance(precision, ref) for ref in reference)
            result["passed"] = bool(result["max_abs_diff"] <= result["tolerance"])
        else:
            result["passed"] = None
        return result

    def failure(self, result: dict) -> str:
        return f"max |output diff| {result['max_abs_diff']:.3g} > {result.get('tolerance', 0):.3g}"
