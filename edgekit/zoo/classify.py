"""Classify images with a zoo model in Keras: the float reference every export is held to."""

from __future__ import annotations

import numpy as np

from edgekit.data.images import load_batch
from edgekit.vocab import DEFAULT_CROP
from edgekit.zoo.build import build
from edgekit.zoo.spec import ModelSpec
from edgekit.zoo.weights import resolve


def classify(spec: ModelSpec, weights: str, images: list[str], *, crop: float = DEFAULT_CROP,
             top: int = 5) -> list[dict]:
    """Top-``top`` classes (index into the 1000 ImageNet classes, and probability) per image."""
    from edgekit.errors import EdgekitError

    if not 1 <= top <= 1000:
        raise EdgekitError(f"--top is how many of the 1000 classes to show, from 1 to 1000, got {top}")
    resolve(spec, weights)  # cheap checks first: refuse impossible weights before decoding anything
    pixels = load_batch(images, spec.resolution, crop)
    model, _ = build(spec, weights, logits=True)
    logits = np.asarray(model.predict(spec.preprocessing.apply(pixels), verbose=0), dtype=np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    out = []
    for path, p in zip(images, probs):
        order = np.argsort(-p, kind="stable")[:top]
        out.append({"image": str(path), "top": [{"class_index": int(i), "prob": float(p[i])} for i in order]})
    return out
