"""Stage 6, the check: does the artifact compute what its source model computes, on images held apart?

The artifact runs in its format's own runtime on the check images; its task (``edgekit.tasks``)
compares the outputs with the reference's. Float and fp16 must match (else nothing is written);
quantized artifacts are judged against floors (``export.parity``).
"""

from __future__ import annotations

from pathlib import Path

from edgekit.export import parity
from edgekit.export.quiet import quiet


def truth(source, check):
    """The check images' labels in the model's output order, when the folder is labelled and the weights
    mean something (random weights: top-1 means nothing); else None."""
    spec = source.spec
    if source.is_user:
        if spec.class_names:
            return source.task.truth(check, spec.class_names)
        if spec.classes in (1000, 1001):  # an ImageNet classifier of the user's: ImageNet-labelled images
            return source.task.truth(check, classes=spec.classes)
        return None
    return source.task.truth(check) if source.real_weights else None


def run_check(path: Path, runtime_name: str, source, reference, check, precision: str, labels) -> dict:
    """Parity of the artifact at ``path`` against ``reference`` (the task's metrics), with its runtime's I/O."""
    from edgekit.run.runtime import Feed, open_runtime

    with quiet():  # LiteRT announces its XNNPACK delegate on stderr
        runtime = open_runtime(path, runtime=runtime_name)
    with runtime:
        outputs = Feed(runtime, source.preprocessing.apply).outputs(check.pixels)
        result = source.task.parity(reference.outputs, outputs, precision, labels)
        result["io"] = runtime.describe()
    return result


def judged(result: dict, precision: str, source, required) -> dict:
    """``result`` judged against the floors of a quantized precision (exact ones are judged by the task). With
    the default floors and none of them measurable (a detector's post-processing in the graph leaves no raw
    outputs for SQNR), the task's fallback floor judges it instead of nothing."""
    if precision not in parity.EXACT:
        floors, how = parity.floors(precision, source.real_weights, required, source.task)
        fallback = getattr(source.task, "fallback_floor", None)
        if required is None and fallback and floors and all(result.get(r.key) is None for r in floors):
            text, how = fallback(source.real_weights)
            floors = parity.parse_require(text, source.task)
        parity.judge(result, floors, how)
    return result
