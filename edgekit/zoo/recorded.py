"""Architectures recorded from their own Keras application, for networks too irregular to describe by hand.

NASNet-A mobile's cells (separable convolutions in five branches, factorized reductions, cropping) are not a
stage table: its layer table is read once from ``keras.applications.NASNetMobile`` and stored as data
(``recorded/<family>.json``), so the zoo counts and lists it without TensorFlow, as it does every other family;
``tests/test_arch_vs_keras.py`` holds the stored table to the live Keras model. Regenerate with
``python -m edgekit.zoo.recorded nasnet-a-mobile``.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from importlib import resources

RECORDED = {"nasnet-a-mobile": ("NASNetMobile", 224)}  # family -> (keras application, the input it is recorded at)
_KINDS = {"Conv2D": "conv", "SeparableConv2D": "sepconv", "DepthwiseConv2D": "dwconv", "Dense": "fc"}


def record(family: str) -> list[dict]:
    """The layer table of ``family``'s Keras application (weights=None): every layer with weights, a batch norm
    folded into the convolution it follows (or a row of its own after a concatenation)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    builder, size = RECORDED[family]
    model = getattr(keras.applications, builder)(input_shape=(size, size, 3), weights=None)
    rows: list[dict] = []
    by_name: dict[str, dict] = {}
    for layer in model.layers:
        kind = type(layer).__name__
        out = [int(d) for d in layer.output.shape[1:]]
        if kind in _KINDS:
            cin = int(layer.input.shape[-1])
            shape_in = [int(d) for d in layer.input.shape[1:]] if len(layer.input.shape) == 4 else [1, 1, cin]
            row = {"name": layer.name, "op": _KINDS[kind], "in": shape_in, "out": out if len(out) == 3 else [1, 1, out[0]],
                   "kernel": int(layer.kernel_size[0]) if kind != "Dense" else 1,
                   "stride": int(layer.strides[0]) if kind != "Dense" else 1,
                   "bias": bool(layer.use_bias), "bn": False}
            rows.append(row)
            by_name[layer.name] = row
        elif kind == "BatchNormalization":
            source = layer.input._keras_history[0].name  # noqa: SLF001 (Keras's own record of the producer)
            if source in by_name:
                by_name[source]["bn"] = True
            else:  # after a concatenation (NASNet's factorized reduction): its own row
                rows.append({"name": layer.name, "op": "bn", "in": out, "out": out, "kernel": 1, "stride": 1,
                             "bias": False, "bn": True})
    return rows


@lru_cache(maxsize=None)
def table(family: str) -> tuple[dict, ...]:
    """The stored layer table of a recorded family."""
    text = resources.files("edgekit.zoo").joinpath("recorded", f"{family}.json").read_text(encoding="utf-8")
    return tuple(json.loads(text)["layers"])


def main(argv: list[str]) -> None:
    from pathlib import Path

    for family in argv or list(RECORDED):
        path = Path(__file__).parent / "recorded" / f"{family}.json"
        builder, size = RECORDED[family]
        data = {"family": family, "recorded_from": f"keras.applications.{builder}(input_shape=({size}, {size}, 3), "
                                                   f"weights=None)", "layers": record(family)}
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=0) + "\n", encoding="utf-8")
        tmp.replace(path)
        print(f"wrote {path} ({len(data['layers'])} layers)")


if __name__ == "__main__":
    main(sys.argv[1:])
