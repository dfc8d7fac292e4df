"""Model names: one grammar, ``FAMILY[-ALPHA][-RESOLUTION][-dDEPTH][-min]``, parsed into a ModelSpec.

Examples: ``v1-0.25-128``, ``v1-conv-1.0-224`` (Conv MobileNet), ``v2-1.4``, ``v3-small``,
``v3-large-0.75-min``. Case-insensitive.
ALPHA defaults to 1.0 and RESOLUTION to 224. ``-dDEPTH`` is EfficientNet's depth multiplier (each stage's
blocks repeated ceil(DEPTH x n) times, v1 and v2 only: ``v2-1.0-224-d4``, ``v1-1.2-288-d1.4``). Width
multipliers must be the papers' (or EfficientNet Table 3's scaling ones, 1.2 and 2.0, for v1 and v2); any
resolution >= 32 divisible by 8 parses (the papers' ones are flagged by ``paper_resolution``),
and whether weights exist for it is decided when weights are chosen (``weights.resolve``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterator

from edgekit.errors import UnknownModelError
from edgekit.zoo.families import FAMILIES, Family, Preprocessing

DEFAULT_ALPHA = 1.0
DEFAULT_RESOLUTION = 224
MIN_RESOLUTION = 32
_NAME = re.compile(r"^(v1-conv|v1|v2|v3-small|v3-large|efficientnet-b0|efficientnet-lite0|mnasnet-a1)((?:-[^-]+)*)$")


def format_alpha(alpha: float) -> str:
    """A width multiplier as the name grammar writes it (0.25, 1.0, 1.4)."""
    text = f"{alpha:g}"
    return text if "." in text else text + ".0"


@dataclass(frozen=True)
class ModelSpec:
    """One architecture variant: family, width multiplier, input resolution, minimalistic."""

    family: str
    alpha: float = DEFAULT_ALPHA
    resolution: int = DEFAULT_RESOLUTION
    minimalistic: bool = False
    depth: float = 1.0  # EfficientNet's depth multiplier: stage repeats ceil(depth * n)

    @property
    def name(self) -> str:
        """Canonical, fully spelled name: also the folder name of its artifacts."""
        base = f"{self.family}-{format_alpha(self.alpha)}-{self.resolution}"
        base += f"-d{self.depth:g}" if self.depth != 1.0 else ""
        return base + ("-min" if self.minimalistic else "")

    @property
    def info(self) -> Family:
        return FAMILIES[self.family]

    @property
    def preprocessing(self) -> Preprocessing:
        return self.info.preprocessing

    @property
    def paper_resolution(self) -> bool:
        return self.resolution in self.info.resolutions

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.resolution, self.resolution, 3)

    @property
    def geometry(self):
        """The input: a square RGB image, stretched after the central crop (``data.images.Geometry``)."""
        from edgekit.data.images import Geometry

        return Geometry(self.resolution, self.resolution)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "family": self.family,
            "alpha": self.alpha,
            "resolution": self.resolution,
            "minimalistic": self.minimalistic,
            **({"depth": self.depth} if self.depth != 1.0 else {}),
            "preprocessing": self.preprocessing.to_dict(),
        }

    def __str__(self) -> str:
        return self.name


def zoo_specs(family: str | None = None) -> Iterator[ModelSpec]:
    """Every variant the papers define (width x resolution, and v3's minimalistic twins)."""
    for fam in FAMILIES.values():
        if family is not None and fam.name != family:
            continue
        for minimalistic in (False, True) if fam.has_minimalistic else (False,):
            for alpha in fam.alphas:
                for res in fam.resolutions:
                    yield ModelSpec(fam.name, alpha, res, minimalistic)


def _candidates() -> list[str]:
    names = set(FAMILIES)
    for spec in zoo_specs():
        names.add(spec.name)
        suffix = "-min" if spec.minimalistic else ""
        names.add(f"{spec.family}-{format_alpha(spec.alpha)}{suffix}")
    return sorted(names)


def _unknown(text: str, why: str = "") -> UnknownModelError:
    close = difflib.get_close_matches(text, _candidates(), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else "; see `edgekit models` for the zoo"
    return UnknownModelError(f"unknown model '{text}'{why}{hint}")


def parse_model(text: str) -> ModelSpec:
    """Parse a model name; raise UnknownModelError with a suggestion when it does not fit."""
    raw = text
    text = text.strip().lower()
    match = _NAME.match(text)
    if not match:
        raise _unknown(raw)
    family = FAMILIES[match.group(1)]
    tokens = [t for t in match.group(2).split("-") if t]
    alpha, resolution, minimalistic, depth = None, None, False, None
    for i, token in enumerate(tokens):
        if re.fullmatch(r"d\d+(\.\d+)?", token):
            if depth is not None:
                raise _unknown(raw, " (two depth multipliers)")
            depth = float(token[1:])
        elif token == "min":
            if i != len(tokens) - 1:
                raise _unknown(raw, " ('-min' must come last)")
            minimalistic = True
        elif re.fullmatch(r"\d*\.\d+|\d+\.\d*", token):
            if alpha is not None or resolution is not None:
                raise _unknown(raw, " (the order is FAMILY-ALPHA-RESOLUTION)")
            alpha = float(token)
        elif token.isdigit():
            if resolution is not None:
                raise _unknown(raw, " (two resolutions)")
            resolution = int(token)
        else:
            raise _unknown(raw)
    alpha = DEFAULT_ALPHA if alpha is None else alpha
    resolution = DEFAULT_RESOLUTION if resolution is None else resolution

    if depth is not None and depth != 1.0:
        if not family.scaling_alphas:
            raise UnknownModelError(f"'{raw}': {family.name} has no depth multiplier (-dN is for v1 and v2, "
                                    f"EfficientNet's Table 3 scaling)")
        if not 0 < depth <= 8:
            raise UnknownModelError(f"'{raw}': depth multiplier {depth:g} is impossible; use 0 < d <= 8")
    depth = 1.0 if depth is None else depth
    if minimalistic and not family.has_minimalistic:
        raise UnknownModelError(f"'{raw}': only v3-small and v3-large have a minimalistic (-min) variant")
    widths = (*family.alphas, *family.scaling_alphas)
    if not any(abs(alpha - a) < 1e-9 for a in widths):
        allowed = ", ".join(format_alpha(a) for a in family.alphas)
        scaling = (f" (and EfficientNet Table 3's {', '.join(format_alpha(a) for a in family.scaling_alphas)})"
                   if family.scaling_alphas else "")
        raise UnknownModelError(
            f"'{raw}': {family.name} has no width multiplier {format_alpha(alpha)}; the paper's are {allowed}{scaling}"
        )
    if resolution < MIN_RESOLUTION or resolution % 8:
        paper = ", ".join(map(str, family.resolutions))
        raise UnknownModelError(
            f"'{raw}': resolution {resolution} is impossible; use one of the paper's ({paper}) "
            f"or, with random or local weights, any size >= {MIN_RESOLUTION} divisible by 8"
        )
    alpha = next(a for a in widths if abs(alpha - a) < 1e-9)
    return ModelSpec(family.name, alpha, resolution, minimalistic, depth)
