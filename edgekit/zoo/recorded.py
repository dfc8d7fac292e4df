"""Architectures recorded from their own Keras application, for networks too irregular to describe by hand.

NASNet-A mobile's cells (separable convolutions in five branches, factorized reductions, cropping) are not a
stage table: its layer table is read once from ``keras.applications.NASNetMobile`` and stored as data
(``recorded/<family>.json``), so the zoo counts and lists it without TensorFlow, as it does every other family;
``tests/test_arch_vs_keras.py`` holds the stored table to the live Keras model. The recording itself
(``zoo.build.record_layers``) needs Keras, which this module, on the device side, never imports; regenerate with
``python -m edgekit.zoo.build nasnet-a-mobile``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

RECORDED = {"nasnet-a-mobile": ("NASNetMobile", 224)}  # family -> (keras application, the input it is recorded at)
KINDS = {"Conv2D": "conv", "SeparableConv2D": "sepconv", "DepthwiseConv2D": "dwconv", "Dense": "fc"}  # Keras -> arch op


@lru_cache(maxsize=None)
def table(family: str) -> tuple[dict, ...]:
    """The stored layer table of a recorded family."""
    text = resources.files("edgekit.zoo").joinpath("recorded", f"{family}.json").read_text(encoding="utf-8")
    return tuple(json.loads(text)["layers"])
