"""Per-layer quantization error, one row shape for every backend, worst first.

``rmse_per_scale`` is the RMS error of a tensor divided by its quantization step: Google's
debugger guide treats about 0.29 (the error of rounding alone, 1/sqrt(12)) as healthy and more
than 0.7 as a layer to look at. SQNR (dB) compares the float tensor with its dequantized twin.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

SUSPECT = 0.7  # rmse / scale above this is flagged
HEALTHY = 1 / np.sqrt(12)  # rounding error alone, ~0.29


@dataclass
class LayerError:
    """The int8 error of one quantized tensor: RMSE, its scale, RMSE/scale, SQNR, whether flagged."""
    layer: str  # the Keras layer the tensor belongs to (what --keep-float takes)
    tensor: str
    op: str
    scale: float | None
    zero_point: int | None
    float_min: float | None
    float_max: float | None
    rmse: float
    rmse_per_scale: float | None
    sqnr_db: float | None
    flagged: bool = False

    def to_dict(self) -> dict:
        """Plain JSON: an exact (lossless) tensor's infinite SQNR becomes null."""
        def clean(v):
            if isinstance(v, float):
                return None if not np.isfinite(v) else round(v, 6)
            return v
        return {k: clean(v) for k, v in asdict(self).items()}


def sqnr_db(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio in dB."""
    signal = float(np.mean(np.square(reference, dtype=np.float64)))
    noise = float(np.mean(np.square(reference.astype(np.float64) - candidate)))
    if noise == 0:
        return float("inf")
    return 10 * np.log10(max(signal, 1e-30) / noise)


def own_names(rows: list[LayerError], model) -> list[LayerError]:
    """Rows named after ``model``'s own layers: the clone used for rounding suffixes names ("conv1_relu_1")."""
    known = {layer.name for layer in model.layers}
    for row in rows:
        if row.layer not in known and row.layer.rsplit("_", 1)[0] in known:
            row.layer = row.layer.rsplit("_", 1)[0]
    return rows


def finish(rows: list[LayerError], threshold: float = SUSPECT) -> list[LayerError]:
    """Flag and sort: worst rmse/scale first (rows without a scale sort by SQNR, lowest first)."""
    for row in rows:
        row.flagged = row.rmse_per_scale is not None and row.rmse_per_scale > threshold
    return sorted(rows, key=lambda r: (-(r.rmse_per_scale or 0), r.sqnr_db if r.sqnr_db is not None else 1e9))


def worst_layers(rows: list[LayerError], n: int) -> list[str]:
    """The N worst distinct Keras layers (for --keep-float auto:N)."""
    out: list[str] = []
    for row in rows:
        if row.layer and row.layer not in out:
            out.append(row.layer)
        if len(out) == n:
            break
    return out
