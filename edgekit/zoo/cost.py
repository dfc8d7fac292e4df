"""The cost calculator of the MobileNet v1 paper (Sec. 3.1-3.3): one layer, standard against depthwise
separable, then thinned by the width multiplier alpha and the resolution multiplier rho.

For an input D_F x D_F x M, N output channels and a D_K x D_K kernel (``same`` padding, so the output
is ceil(D_F / stride) on a side, written D_G):

    standard            D_K^2 * M * N * D_G^2                      params D_K^2 * M * N
    depthwise separable D_K^2 * M * D_G^2 + M * N * D_G^2          params D_K^2 * M + M * N
    with alpha          D_K^2 * aM * D_G^2 + aM * aN * D_G^2       params D_K^2 * aM + aM * aN
    with alpha and rho  the same with D_G replaced by rho * D_G

and separable / standard = 1 / N + 1 / D_K^2 = (D_K^2 + N) / (D_K^2 * N). Arithmetic is exact
(fractions), so the paper's worked example comes out to the digit: 462,422,016, 52,283,392,
29,578,752 and 15,079,129.45 mult-adds for 14 x 14 x 512 -> 512, 3 x 3, alpha 0.75, rho 0.714.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from edgekit.errors import EdgekitError

SOURCE = "Howard et al. 2017, MobileNets, arXiv:1704.04861, Sec. 3.1-3.3 (Eqs. 1-7)"


class CostError(EdgekitError):
    """A layer shape or multiplier that cannot exist."""


@dataclass(frozen=True)
class Row:
    """One way to build the layer: its mult-adds and parameters, exact."""
    name: str
    macs: Fraction
    params: Fraction
    formula: str

    def to_dict(self, standard: "Row") -> dict:
        return {"name": self.name, "macs": float(self.macs), "macs_exact": str(self.macs),
                "params": float(self.params), "ratio_to_standard": float(self.macs / standard.macs),
                "formula": self.formula}


def parse_shape(text: str) -> tuple[int, int, int]:
    """``14x14x512`` -> (14, 14, 512)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX*,]\s*(\d+)\s*[xX*,]\s*(\d+)\s*", text or "")
    if not match:
        raise CostError(f"--in takes HxWxC (e.g. 14x14x512), got {text!r}")
    shape = tuple(int(g) for g in match.groups())
    if min(shape) < 1:
        raise CostError(f"--in {text}: every dimension must be at least 1")
    return shape  # type: ignore[return-value]


def _fraction(value, flag: str) -> Fraction | None:
    """An exact multiplier from ``value`` (a number or its text); NaN, infinity and words are one line."""
    if value is None:
        return None
    try:
        return Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        raise CostError(f"{flag} must be a finite number, got {value}") from None


def layer_cost(in_shape: tuple[int, int, int], out_channels: int, kernel: int, alpha: float | str | None = None,
               rho: float | str | None = None, stride: int = 1) -> dict:
    """Every row of the calculator for one layer, with the ratio formula and the source."""
    h, w, m = in_shape
    if out_channels < 1 or kernel < 1 or stride < 1:
        raise CostError("--out, --kernel and --stride must be at least 1")
    if kernel > max(h, w) and kernel > 1:
        raise CostError(f"a {kernel}x{kernel} kernel is larger than the {h}x{w} input")
    a, r = _fraction(alpha, "--alpha"), _fraction(rho, "--rho")
    if a is not None and not 0 < a <= 4:
        raise CostError(f"--alpha is a width multiplier in (0, 4], got {alpha}")
    if r is not None and not 0 < r <= 1:
        raise CostError(f"--rho is a resolution multiplier in (0, 1] (the paper's: it shrinks the input), got {rho}")
    gh, gw = -(-h // stride), -(-w // stride)
    k2, n = kernel * kernel, out_channels
    area = Fraction(gh * gw)
    rows = [
        Row("standard convolution", k2 * m * n * area, Fraction(k2 * m * n), "D_K^2 * M * N * D_F^2"),
        Row("depthwise separable", k2 * m * area + m * n * area, Fraction(k2 * m + m * n),
            "D_K^2 * M * D_F^2 + M * N * D_F^2"),
    ]
    if a is not None:
        rows.append(Row(f"separable, alpha {alpha}", a * m * area * (k2 + a * n), k2 * a * m + a * m * a * n,
                        "alpha*M * D_F^2 * (D_K^2 + alpha*N)"))
    if r is not None:
        aa = a if a is not None else Fraction(1)
        label = f"separable, alpha {alpha}, rho {rho}" if a is not None else f"separable, rho {rho}"
        rows.append(Row(label, aa * m * (r * r * area) * (k2 + aa * n), k2 * aa * m + aa * m * aa * n,
                        "alpha*M * (rho*D_F)^2 * (D_K^2 + alpha*N)"))
    standard = rows[0]
    return {"in": list(in_shape), "out_channels": n, "kernel": kernel, "stride": stride, "out_spatial": [gh, gw],
            "alpha": alpha, "rho": rho, "rows": [row.to_dict(standard) for row in rows],
            "ratio": {"value": float(Fraction(k2 + n, k2 * n)), "formula": "(D_K^2 + N) / (D_K^2 * N) = 1/N + 1/D_K^2",
                      "exact": f"({k2} + {n}) / ({k2} * {n})"},
            "source": SOURCE}
