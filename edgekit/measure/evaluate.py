"""Accuracy of an artifact on labelled data, with the artifact's own runtime: ``edgekit eval``.

``evaluate(path, data, ...)`` is the Python API behind it. Preprocessing comes from our sidecar or,
for a foreign file, from its input (``measure.inputs``). What "accuracy" means is the model's task
(``edgekit.tasks``): a classifier's top-1/top-k (and per class, for a model of its own N classes);
a model whose outputs no task with labelled data takes is refused in one line that says so.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Callable

import numpy as np

from edgekit.data.dataset import check_folder
from edgekit.data.images import load_image
from edgekit.errors import EdgekitError
from edgekit.measure.identity import describe_artifact
from edgekit.measure.inputs import recipe_for
from edgekit.run.runtime import Feed, ModelFileError, open_runtime
from edgekit.tasks import get_task, task_for
from edgekit.vocab import DEFAULT_CROP, RUNTIMES


def evaluate(path: str | Path, data: str | Path, *, limit: int | None = None, crop: float = DEFAULT_CROP,
             threads: int = 1, runtime: str | None = None, preprocess: str | None = None,
             progress: Callable | None = None, reference_kernels: bool = False,
             class_names: list[str] | None = None, allow_modified: bool = False, task: str | None = None,
             overlay: str | Path | None = None) -> dict:
    """Accuracy of ``path`` on ``data`` by its task; ``outputs_sha256`` fingerprints every output in order, so
    two machines that computed the very same outputs (e.g. with ``reference_kernels``) can show it.
    ``class_names``: an N-class model's classes in output order (default: its sidecar's, else the
    sorted class folders). ``task``: a task by name (default: the one the outputs imply). ``overlay``: a folder
    for one picture per image (image | reference mask | prediction), for a segmenter."""
    path = Path(path)
    if limit is not None and limit < 1:
        raise EdgekitError(f"--limit must be >= 1, got {limit}")
    if not (0 < crop <= 1):  # also NaN
        raise EdgekitError(f"--crop is a fraction in (0, 1], got {crop}")
    if overlay is not None and Path(overlay).exists() and not Path(overlay).is_dir():
        raise EdgekitError(f"--overlay {overlay} is a file: pictures go into a folder")
    if Path(data).suffix.lower() != ".json":  # a COCO annotations file is segmentation data
        check_folder(data, "--data")
    start = time.perf_counter()
    identity = describe_artifact(path, allow_modified)
    options = {"reference": True} if reference_kernels else {}
    if reference_kernels and (runtime or RUNTIMES.get(path.suffix.lower())) != "litert":
        raise EdgekitError("--reference-kernels applies to LiteRT (.tflite) only")
    with open_runtime(path, runtime=runtime, threads=threads, **options) as rt:
        chosen = _task(path, rt.outputs, task or _sidecar_task(path)).for_model(_sidecar_model(path))
        recipe = recipe_for(path, rt.inputs[0], preprocess)
        feed = Feed(rt, recipe.apply)
        names = class_names if class_names is not None else _sidecar_names(path)
        crop = chosen.crop or crop  # a segmenter sees the whole frame its mask covers
        pictures = Overlays(overlay, path) if overlay is not None else None
        if pictures is not None and not chosen.dense:
            raise EdgekitError(f"--overlay draws masks: {path.name} is a {chosen.name} model")
        metrics, outputs = chosen.evaluate(
            lambda pixels: [o[0] for o in feed.outputs(pixels[None])],
            lambda image: load_image(image, recipe.resolution, crop), data, outputs=rt.outputs, limit=limit,
            progress=progress, class_names=names, model_name=path.name, geometry=recipe.resolution,
            overlay=pictures)
        if metrics.get("output_form") == "post-processed":  # which op: the sidecar's record, else the runtime's own
            from edgekit.export.artifact import read_sidecar

            op = ((read_sidecar(path) or {}).get("post_processing") or {}).get("op") or (
                "TFLite_Detection_PostProcess" if rt.name == "litert" else "the model's own NMS")
            metrics["post_processing"] = f"in the graph ({op})"
        result = {
            **identity, "data": str(data), "task": chosen.name, **metrics,
            "runtime": rt.name, "runtime_version": rt.version, "threads": threads,
            "crop": crop, "preprocessing": recipe.to_dict(), "kernels": getattr(rt, "kernels", None),
            **({"overlays": pictures.flush()} if pictures is not None else {}),
            "outputs_sha256": hashlib.sha256(np.ascontiguousarray(outputs, dtype=np.float32).tobytes()).hexdigest(),
        }
    result["seconds"] = time.perf_counter() - start
    return result


class Overlays:
    """One PNG per evaluated image: the image | its reference mask | the prediction, the masks in PASCAL VOC's
    colours (ignore in cream). Kept in memory and written (each atomically) only once the whole evaluation has
    succeeded: a run refused halfway (a mask of the wrong size on image 7) leaves no pictures behind."""

    LIMIT = 200  # pictures per artifact at most (the scores count every image)

    def __init__(self, folder: str | Path, artifact: Path):
        self.folder, self.artifact, self.pending, self.written = Path(folder), artifact, [], []

    def __call__(self, image: Path, mask: np.ndarray, predicted: np.ndarray) -> None:
        if len(self.pending) >= self.LIMIT:
            return
        from edgekit.data.masks import side_by_side

        target = self.folder / f"{self.artifact.parent.name}-{self.artifact.stem}-{image.stem}.png"
        self.pending.append((target, side_by_side(image, mask, predicted)))

    def flush(self) -> list[str]:
        from edgekit.files import write_atomic

        for target, data in self.pending:
            write_atomic(target, data)
            self.written.append(str(target))
        self.pending = []
        return self.written


def _task(path: Path, outputs, name: str | None):
    """The task ``eval`` scores ``path`` by: ``name``, else the one its outputs imply, if it can be scored."""
    chosen = get_task(name) if name else task_for(outputs)
    if name and not chosen.accepts(outputs):
        raise ModelFileError(f"{path.name}: its outputs {[tuple(o.shape) for o in outputs]} are not what the "
                             f"{chosen.name} task reads ({chosen.description})")
    if not hasattr(chosen, "evaluate"):
        shapes = ", ".join(str(tuple(o.shape)) for o in outputs)
        raise ModelFileError(f"{path.name}: its output{'s' if len(outputs) > 1 else ''} {shapes} "
                             f"{'are' if len(outputs) > 1 else 'is'} not a class vector (task {chosen.name}), and eval "
                             f"scores tasks with labelled data ({', '.join(_scored_tasks())}): pass --task if one "
                             f"applies, else judge it by its parity (edgekit convert) and time it (edgekit bench)")
    return chosen


def _scored_tasks() -> list[str]:
    from edgekit.tasks import known

    return [name for name in known() if hasattr(get_task(name), "evaluate")]


def _sidecar_task(path: Path) -> str | None:
    from edgekit.export.artifact import read_sidecar

    return (read_sidecar(path) or {}).get("task")


def _sidecar_model(path: Path) -> dict | None:
    from edgekit.export.artifact import read_sidecar

    return (read_sidecar(path) or {}).get("model")


def _sidecar_names(path: Path):
    from edgekit.export.artifact import read_sidecar

    return ((read_sidecar(path) or {}).get("model") or {}).get("class_names")
