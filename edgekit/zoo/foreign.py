"""Recognise Google's published MobileNet files by name, so their results line up with ours.

``mobilenet_v1_0.25_128_quant.tflite`` (and its ``_edgetpu`` twin) is the QAT-trained int8 v1 0.25/128
of Google's hosted-models table; recording it under ``v1-0.25-128`` / int8 / origin ``google`` lets
``compare`` and ``report`` set it beside our exports of the same network.
"""

from __future__ import annotations

import re
from pathlib import Path

from edgekit.errors import UnknownModelError
from edgekit.zoo.spec import format_alpha, parse_model

_GOOGLE = re.compile(r"^mobilenet_v(?P<version>[12])_(?P<alpha>\d\.\d+)_(?P<res>\d+)"
                     r"(?P<quant>_quant)?(?P<edgetpu>_edgetpu)?\.tflite$")


def recognize(path: str | Path) -> dict | None:
    """{model, precision, origin, weights, edgetpu} for a Google hosted-model file name, else None."""
    match = _GOOGLE.match(Path(path).name)
    if not match:
        return None
    try:
        spec = parse_model(f"v{match['version']}-{format_alpha(float(match['alpha']))}-{match['res']}")
    except UnknownModelError:
        return None
    return {"model": spec.name, "precision": "int8" if match["quant"] else "float", "format": "tflite-edgetpu" if match["edgetpu"] else "tflite",
            "origin": "google", "weights": "google (hosted model)", "edgetpu": bool(match["edgetpu"])}
