"""Top-1 / top-5 of an artifact over a labelled image folder, with the artifact's own runtime.

``evaluate(path, data, ...)`` is the Python API behind ``edgekit eval``. Preprocessing comes from
our sidecar or, for a foreign file, from its input (``measure.inputs``); 1001-output models
(background first) are shifted onto the 1000 ImageNet classes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.measure.accuracy import tied_top1, topk
from edgekit.data.dataset import labelled_images
from edgekit.measure.identity import describe_artifact
from edgekit.data.images import load_image
from edgekit.measure.inputs import recipe_for
from edgekit.run.runtime import Classifier, ModelFileError, open_runtime
from edgekit.vocab import DEFAULT_CROP, RUNTIMES

CLASSES = (1000, 1001)


def evaluate(path: str | Path, data: str | Path, *, limit: int | None = None, crop: float = DEFAULT_CROP,
             threads: int = 1, runtime: str | None = None, preprocess: str | None = None,
             progress: Callable | None = None, reference_kernels: bool = False) -> dict:
    """Top-1/top-5 of ``path`` on ``data``; ``outputs_sha256`` fingerprints every score in order, so two
    machines that computed the very same outputs (e.g. with ``reference_kernels``) can show it."""
    import hashlib

    path = Path(path)
    if limit is not None and limit < 1:
        raise EdgekitError(f"--limit must be >= 1, got {limit}")
    pairs = labelled_images(data)
    if limit:
        pairs = pairs[:limit]
    start = time.perf_counter()
    options = {"reference": True} if reference_kernels else {}
    if reference_kernels and (runtime or RUNTIMES.get(path.suffix.lower())) != "litert":
        raise EdgekitError("--reference-kernels applies to LiteRT (.tflite) only")
    with open_runtime(path, runtime=runtime, threads=threads, **options) as rt:
        classes = int(np.prod(rt.outputs[0].shape[1:]))
        if classes not in CLASSES or len(rt.outputs[0].shape) != 2:
            raise ModelFileError(f"{path.name}: output shape {tuple(rt.outputs[0].shape)} is not an ImageNet "
                                 f"classifier's (expected 1000 or 1001 scores)")
        recipe = recipe_for(path, rt.inputs[0], preprocess)
        classifier = Classifier(rt, recipe.apply)
        items = progress(pairs) if progress else pairs
        scores = np.stack([classifier.scores(load_image(image, recipe.resolution, crop)[None])[0]
                           for image, _ in items])
        labels = np.array([label for _, label in pairs])
        result = {
            **describe_artifact(path), "data": str(data), "count": len(pairs),
            "top1": topk(scores, labels, 1), "top5": topk(scores, labels, 5), "tied_top1": tied_top1(scores),
            "runtime": rt.name, "runtime_version": rt.version, "threads": threads,
            "crop": crop, "classes": classes, "preprocessing": recipe.to_dict(),
            "kernels": getattr(rt, "kernels", None), "outputs_sha256": hashlib.sha256(
                np.ascontiguousarray(scores, dtype=np.float32).tobytes()).hexdigest(),
        }
    result["seconds"] = time.perf_counter() - start
    return result
