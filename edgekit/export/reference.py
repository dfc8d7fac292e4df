"""Stage 2, the reference: the float model every artifact is held to, and its outputs on the check images.

A zoo model is built (``zoo.build.reference_model``: logits out, BatchNorm statistics warmed on the
calibration images for random weights); a user's Keras file is loaded and flattened; a foreign ONNX
model is its own reference, run by ONNX Runtime. The model's MACs and parameters are counted here
too, once, for every sidecar.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.export.quiet import quiet
from edgekit.zoo import count as count_mod


@dataclass(frozen=True)
class Reference:
    """The float model (None for a foreign ONNX model), its outputs on the check images, and what it counts."""

    model: object | None
    outputs: list[np.ndarray]  # one array per model output, (check images, ...)
    calib_x: np.ndarray | None  # calibration images, preprocessed as the model wants them
    check_x: np.ndarray  # check images, preprocessed
    macs: int
    params_folded: int
    bn_warmed: dict | None = None  # random weights: how many images set the BatchNorm statistics, from where


def make_reference(source, calib, check) -> Reference:
    """Build (or load) ``source``'s float model and run it on the check images."""
    warmed, model = None, None
    with quiet():
        if not source.is_user:
            from edgekit.zoo.build import reference_model

            # the label resolves to the same weights again (none:SEED keeps its seed, a file its path)
            model, _, warmed = reference_model(source.spec, source.weights.label,
                                               calib.pixels if calib is not None else None)
        elif source.kind == "keras":
            model = source.spec.keras_model()
    pre = source.preprocessing.apply
    calib_x = pre(calib.pixels) if calib is not None else None
    check_x = pre(check.pixels)
    if model is not None:
        predicted = model.predict(check_x, verbose=0)
        outputs = [np.asarray(o) for o in predicted] if isinstance(predicted, (list, tuple)) else [np.asarray(predicted)]
        counted = count_mod.keras_count(model) if source.is_user else count_mod.count(source.spec)
    else:  # a foreign ONNX or TFLite model: its own float outputs in its own runtime are the reference
        from edgekit.run.runtime import Feed, open_runtime

        with quiet(), open_runtime(source.spec.path) as runtime:
            outputs = Feed(runtime, pre, source.spec.layout).outputs(check.pixels)
        counted = count_mod.onnx_count(source.spec.path) if source.kind == "onnx" else tflite_count(source.spec.path)
    return Reference(model, outputs, calib_x, check_x, counted.macs, counted.params_folded,
                     {"images": warmed, "source": calib.source} if warmed else None)


def tflite_count(path) -> count_mod.Totals:
    """MACs and parameters of a .tflite graph, op by op the papers' way (``run.tflite_cut.op_cost``)."""
    from edgekit.run.tflite_cut import op_cost
    from edgekit.run.tflite_graph import read_graph

    graph = read_graph(path)
    costs = [op_cost(graph, op) for op in graph.ops]
    return count_mod.Totals(sum(m for m, _ in costs) or None, sum(p for _, p in costs), "TFLite graph")
