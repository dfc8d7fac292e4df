"""Which weights a model gets: ``none`` (random, ``none:SEED`` for another draw), ``imagenet``
(Keras download), or a file.

Decided before anything is built, so an impossible request fails fast with one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import WeightsError
from edgekit.files import sha256_file
from edgekit.zoo.spec import ModelSpec, format_alpha

WEIGHT_SUFFIXES = (".h5", ".hdf5", ".weights.h5")
RANDOM_SEED = 0  # "none" weights are reproducible: a flaky conversion is worse than a fixed draw


@dataclass(frozen=True)
class WeightsSource:
    """Where a model's weights came from: none (with its seed), imagenet, or a file with its sha256."""
    kind: str  # "none" | "imagenet" | "file"
    path: str | None = None
    sha256: str | None = None
    seed: int | None = None  # random weights are drawn from this seed: same model every run

    @property
    def label(self) -> str:
        if self.kind == "none" and self.seed not in (None, RANDOM_SEED):
            return f"none:{self.seed}"
        return self.path if self.kind == "file" else self.kind

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "path": self.path, "sha256": self.sha256}
        if self.seed is not None:
            out["seed"] = self.seed
        return out


def imagenet_available(spec: ModelSpec) -> bool:
    """Whether Keras publishes ImageNet weights for this variant."""
    fam = spec.info
    alphas = fam.imagenet_min_alphas if spec.minimalistic else fam.imagenet_alphas
    return spec.alpha in alphas and spec.resolution in fam.imagenet_resolutions and spec.depth == 1.0


def resolve(spec: ModelSpec, weights: str | None) -> WeightsSource:
    """Validate a weights request for ``spec`` without importing TensorFlow."""
    choice = (weights or "none").strip()
    if choice.lower() in ("none", "random"):
        return WeightsSource("none", seed=RANDOM_SEED)
    kind, _, seed = choice.partition(":")
    if kind.lower() in ("none", "random") and seed:
        if not seed.isdigit():
            raise WeightsError(f"random weights take a whole-number seed: {choice} (e.g. none:7)")
        return WeightsSource("none", seed=int(seed))
    if choice.lower() == "imagenet":
        if spec.classes != 1000 or spec.ablations:
            what = f"a {spec.classes}-class head" if spec.classes != 1000 else f"the -{'/-'.join(spec.ablations)} ablation"
            raise WeightsError(f"no published ImageNet weights exist for {spec.name} ({what}): use --weights none or "
                               f"a .h5 file of your own (fine-tuned)")
        if spec.depth != 1.0:
            raise WeightsError(f"no published ImageNet weights exist for {spec.name} (a depth-scaled network of "
                               f"EfficientNet's Table 3): use --weights none or a .h5 file of your own")
        if not imagenet_available(spec) and not spec.info.imagenet_alphas:
            raise WeightsError(f"no published ImageNet weights exist for {spec.family} ({spec.info.paper}); use "
                               f"--weights none (seeded random) or a .h5 file of your own")
        if not imagenet_available(spec):
            fam = spec.info
            alphas = fam.imagenet_min_alphas if spec.minimalistic else fam.imagenet_alphas
            raise WeightsError(
                f"no ImageNet weights for {spec.name}: Keras publishes {spec.family}"
                f"{'-min' if spec.minimalistic else ''} weights for alpha "
                f"{', '.join(format_alpha(a) for a in alphas)} at "
                f"{', '.join(map(str, fam.imagenet_resolutions))} px; use --weights none or a file"
            )
        return WeightsSource("imagenet")
    path = Path(choice).expanduser()
    if not path.exists():
        raise WeightsError(f"weights file not found: {choice} (expected none, imagenet or a .h5 path)")
    if not path.is_file():
        raise WeightsError(f"weights path is not a file: {choice}")
    if not path.name.lower().endswith(WEIGHT_SUFFIXES):
        raise WeightsError(f"weights file must be a Keras .h5 or .weights.h5 file: {choice}")
    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise WeightsError(f"cannot read weights file {choice}: {exc.strerror or exc}") from None
    return WeightsSource("file", str(path.resolve()), digest)
