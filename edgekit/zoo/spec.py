"""Model names: one grammar, ``FAMILY[-ALPHA][-RESOLUTION][-dDEPTH][-min]``, parsed into a ModelSpec.

Examples: ``v1-0.25-128``, ``v1-conv-1.0-224`` (Conv MobileNet), ``v2-1.4``, ``v3-small``,
``v3-large-0.75-min``. Case-insensitive.
Segmenters (``deeplabv3-v2``, ``lraspp-v3-large``, ``lraspp-v3-small``) add ``-osN`` (output stride), ``-aspp``
(DeepLabv3's atrous pyramid; without it the v2 paper's no-ASPP head) and take HxW inputs:
``deeplabv3-v2-0.5``, ``deeplabv3-v2-1.0-513-os8-aspp``, ``lraspp-v3-large-1.0-1024x2048``.
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
DEFAULT_CLASSES = 1000
MAX_CLASSES = 100_000
SHUFFLENET_GROUPS = (1, 2, 3, 4, 8)
ABLATIONS = {"origlast": "original_last", "stem32": "stem32", "relu": "relu"}  # name token -> field (v3 only)
DEFAULT_RESOLUTION = 224
MIN_RESOLUTION = 32
_NAME = re.compile(r"^(v1-conv|v1|v2|v3-small|v3-large|efficientnet-b0|efficientnet-lite0|mnasnet-a1|shufflenet-v1|nasnet-a-mobile|deeplabv3-v2|"
                   r"lraspp-v3-large|lraspp-v3-small|ssdlite-v1|ssdlite-v2|ssdlite-v3-large|ssdlite-v3-small)((?:-[^-]+)*)$")


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
    width: int | None = None  # a segmenter's input width when it is not square (resolution is the height)
    output_stride: int | None = None  # a segmenter's (None: its family's)
    aspp: bool = False  # DeepLabv3's atrous spatial pyramid pooling (deeplabv3-v2)
    reduced: bool = False  # SSDLite on v3: the blocks between C4 and C5 with half their channels (v3 paper, Table 6)
    classes: int = DEFAULT_CLASSES  # a classifier's head (-cN): the v1 paper's Table 10 counts a 120-class one
    original_last: bool = False  # v3 ablation (-origlast): the last stage before the v3 paper's Sec. 5.1 redesign
    stem32: bool = False  # v3 ablation (-stem32): a 32-filter ReLU stem instead of 16 filters with h-swish (Sec. 5.1)
    groups: int | None = None  # ShuffleNet v1's group count (-gG: 1, 2, 3, 4 or 8; 3 when not given)
    relu: bool = False  # v3 ablation (-relu): ReLU wherever v3 has h-swish (Table 5's "ReLU" row; SE and kernels kept)

    @property
    def name(self) -> str:
        """Canonical, fully spelled name: also the folder name of its artifacts."""
        size = f"{self.resolution}x{self.width}" if self.width else f"{self.resolution}"
        groups = f"-g{self.groups}" if self.groups else ""
        base = f"{self.family}{groups}-{format_alpha(self.alpha)}-{size}"
        base += f"-d{self.depth:g}" if self.depth != 1.0 else ""
        if self.info.dense:
            base += f"-os{self.stride}" if self.stride != self.info.output_stride else ""
            base += "-aspp" if self.aspp else ""
        base += "-reduced" if self.reduced else ""
        base += "-origlast" if self.original_last else ""
        base += "-stem32" if self.stem32 else ""
        base += "-relu" if self.relu else ""
        base += f"-c{self.classes}" if self.classes != DEFAULT_CLASSES else ""
        return base + ("-min" if self.minimalistic else "")

    @property
    def ablations(self) -> tuple[str, ...]:
        """The v3 paper's Sec. 5.1 ablations this variant undoes (name tokens)."""
        return tuple(token for token, field in ABLATIONS.items() if getattr(self, field))

    @property
    def task(self) -> str:
        return self.info.task

    @property
    def stride(self) -> int | None:
        """A segmenter's output stride (its own or its family's)."""
        return self.output_stride or self.info.output_stride

    @property
    def anchors(self) -> dict | None:
        """A detector's anchors as the OD API's SSD anchor generator lays them out (what decoding needs)."""
        if self.task != "detection":
            return None
        from edgekit.zoo.arch import SSD_ANCHORS_PER_CELL, feature_maps

        return {"generator": "ssd_anchor_generator", "feature_maps": [list(s[:2]) for _, s in feature_maps(self)],
                "per_cell": list(SSD_ANCHORS_PER_CELL), "min_scale": 0.2, "max_scale": 0.95,
                "aspect_ratios": [1.0, 2.0, 0.5, 3.0, 0.3333], "box_coder": "faster_rcnn (10, 10, 5, 5)"}

    @property
    def class_names(self) -> tuple[str, ...] | None:
        return self.info.class_names or None

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
        return (self.resolution, self.width or self.resolution, 3)

    @property
    def geometry(self):
        """The input: an RGB image, stretched after the central crop (``data.images.Geometry``)."""
        from edgekit.data.images import Geometry

        return Geometry(self.resolution, self.width or self.resolution)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "family": self.family,
            "alpha": self.alpha,
            "resolution": self.resolution,
            "minimalistic": self.minimalistic,
            **({"depth": self.depth} if self.depth != 1.0 else {}),
            **({"classes": self.classes} if self.classes != DEFAULT_CLASSES else {}),
            **({"groups": self.groups} if self.groups else {}),
            **({"ablations": list(self.ablations)} if self.ablations else {}),
            **({"task": self.task, "input_size": f"{self.input_shape[0]}x{self.input_shape[1]}",
                "classes": len(self.info.class_names), "class_names": list(self.info.class_names),
                "reduced": self.reduced, "anchors": self.anchors} if self.task == "detection" else {}),
            **({"task": self.task, "input_size": f"{self.input_shape[0]}x{self.input_shape[1]}",
                "output_stride": self.stride, "aspp": self.aspp, "classes": len(self.info.class_names),
                "class_names": list(self.info.class_names)}
               if self.info.dense else {}),
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
                    yield ModelSpec(fam.name, alpha, res, minimalistic,
                                    groups=3 if fam.name == "shufflenet-v1" else None)


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
    width, output_stride, aspp, reduced = None, None, False, False
    classes, ablations, groups = DEFAULT_CLASSES, set(), None
    for i, token in enumerate(tokens):
        if family.dense and re.fullmatch(r"os\d+", token):
            if int(token[2:]) not in family.output_strides:
                raise UnknownModelError(f"'{raw}': {family.name} takes output stride "
                                        f"{' or '.join(map(str, family.output_strides))}, not {token[2:]}")
            output_stride = int(token[2:])
        elif family.task == "detection" and token == "reduced":
            if not family.backbone.startswith("v3"):
                raise UnknownModelError(f"'{raw}': -reduced is the v3 paper's (C4-C5 channels halved): ssdlite-v3-large "
                                        f"or ssdlite-v3-small")
            reduced = True
        elif family.dense and token == "aspp":
            if family.head != "deeplabv3":
                raise UnknownModelError(f"'{raw}': -aspp is DeepLabv3's (deeplabv3-v2); LR-ASPP is its own head")
            aspp = True
        elif re.fullmatch(r"\d+x\d+", token):
            if not family.dense:
                raise UnknownModelError(f"'{raw}': classifiers take a square input (one resolution); HxW is for "
                                        f"the segmenters")
            if resolution is not None:
                raise _unknown(raw, " (two resolutions)")
            resolution, width = (int(v) for v in token.split("x"))
        elif re.fullmatch(r"d\d+(\.\d+)?", token):
            if depth is not None:
                raise _unknown(raw, " (two depth multipliers)")
            depth = float(token[1:])
        elif re.fullmatch(r"c\d+", token):
            if family.task != "classification":
                raise UnknownModelError(f"'{raw}': -cN sets a classifier's class count; {family.name}'s classes are its "
                                        f"data set's")
            classes = int(token[1:])
            if not 1 <= classes <= MAX_CLASSES:
                raise UnknownModelError(f"'{raw}': a classifier needs 1 to {MAX_CLASSES:,} classes, got {classes}")
        elif re.fullmatch(r"g\d+", token) and family.name == "shufflenet-v1":
            if groups is not None or alpha is not None or resolution is not None:
                raise _unknown(raw, " (the order is shufflenet-v1-gG-ALPHA-RESOLUTION)")
            groups = int(token[1:])
            if groups not in SHUFFLENET_GROUPS:
                raise UnknownModelError(f"'{raw}': ShuffleNet v1 has group counts "
                                        f"{', '.join(map(str, SHUFFLENET_GROUPS))} (its Table 1), not {groups}")
        elif token in ABLATIONS:
            if family.name not in ("v3-small", "v3-large"):
                raise UnknownModelError(f"'{raw}': -{token} undoes a MobileNetV3 redesign (v3 paper, Sec. 5.1): "
                                        f"v3-small or v3-large only, not {family.name}")
            if token == "relu" and "min" in tokens:
                raise UnknownModelError(f"'{raw}': -min already has no h-swish; -relu is the full v3 with ReLU")
            ablations.add(token)
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
    resolution = family.default_resolution if resolution is None else resolution

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
    if family.task == "detection":
        if width is not None or resolution < MIN_RESOLUTION or resolution % 32:
            raise UnknownModelError(f"'{raw}': SSDLite takes a square input divisible by 32 (the papers' 320), got "
                                    f"{resolution if width is None else f'{resolution}x{width}'}")
        alpha = next((a for a in family.alphas if abs(alpha - a) < 1e-9), None)
        if alpha is None:
            raise UnknownModelError(f"'{raw}': {family.name} has no such width multiplier; its are "
                                    f"{', '.join(format_alpha(a) for a in family.alphas)}")
        return ModelSpec(family.name, alpha, resolution, reduced=reduced)
    if family.dense:
        for side in (resolution, width or resolution):
            if side < MIN_RESOLUTION or (side % 8 and side % 16 != 1):
                raise UnknownModelError(f"'{raw}': input side {side} is impossible for a segmenter; use a multiple of "
                                        f"8 (512) or one more than a multiple of 16 (DeepLab's 513)")
        if width == resolution:
            width = None
        alpha = next((a for a in family.alphas if abs(alpha - a) < 1e-9), None)
        if alpha is None:
            raise UnknownModelError(f"'{raw}': {family.name} has no width multiplier; its backbone's are "
                                    f"{', '.join(format_alpha(a) for a in family.alphas)}")
        return ModelSpec(family.name, alpha, resolution, False, 1.0, width,
                         None if output_stride == family.output_stride else output_stride, aspp)
    if resolution < MIN_RESOLUTION or resolution % 8:
        paper = ", ".join(map(str, family.resolutions))
        raise UnknownModelError(
            f"'{raw}': resolution {resolution} is impossible; use one of the paper's ({paper}) "
            f"or, with random or local weights, any size >= {MIN_RESOLUTION} divisible by 8"
        )
    alpha = next(a for a in widths if abs(alpha - a) < 1e-9)
    if family.name == "nasnet-a-mobile" and resolution != 224:
        raise UnknownModelError(f"'{raw}': nasnet-a-mobile's layer table is recorded at 224 px (its Keras "
                                f"application's), not {resolution}")
    if family.name == "shufflenet-v1":
        from edgekit.zoo.arch import shufflenet_channels

        groups = groups or 3
        shufflenet_channels(groups, alpha, raw)  # a group count that does not divide the channels: one line here
    return ModelSpec(family.name, alpha, resolution, minimalistic, depth, classes=classes, groups=groups,
                     original_last="origlast" in ablations, stem32="stem32" in ablations, relu="relu" in ablations)
