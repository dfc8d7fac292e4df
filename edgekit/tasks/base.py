"""The task interface: what a model's outputs mean, and everything that follows from it.

A task owns how an artifact is checked against its source model (parity), which metrics a quality
gate may name (``--require``), how labelled data is read and scored, and the columns its results
are shown in. Export, eval and the tables ask the task; they never test for "a class vector"
themselves, so a new kind of model (detection, segmentation) is a new task, not a branch.

Tasks register by decorator, as runtimes and exporters do:

    @register
    class Classification(Task):
        name = "classification"
        ...

``task_for(outputs)`` picks the first registered task whose ``accepts`` takes the model's outputs
(most specific first); the plain-tensor task takes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np

from edgekit.errors import EdgekitError


@dataclass(frozen=True)
class Metric:
    """A parity metric a quality gate can name: ``sqnr>=15``."""

    name: str  # as written in --require
    key: str  # its key in a parity result
    op: str  # ">=" (a floor) or "<=" (a ceiling)
    unit: str = ""
    fraction: bool = False  # shown and given as a fraction (0.9) or a percentage (90%)


class Task:
    """Base class: subclasses set ``name``, ``metrics`` and implement the methods they support."""

    name: ClassVar[str] = "task"
    description: ClassVar[str] = ""
    metrics: ClassVar[tuple[Metric, ...]] = ()
    #: parity keys a table shows, in order (header, key, format)
    parity_columns: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    #: a fraction of the image to crop centrally before resizing, when the task fixes it (None: the option's)
    accuracy: ClassVar[str] = "accuracy"  # what a drop (--max-drop, drop<=) is a drop of: "top-1", "mAP", "mIoU"
    crop: ClassVar[float | None] = None
    #: whether outputs are per pixel (masks can be drawn: eval --overlay)
    dense: ClassVar[bool] = False

    @classmethod
    def accepts(cls, outputs: Sequence) -> bool:
        """Whether a model with these outputs (``run.runtime.TensorInfo`` or shapes) is this task's."""
        return False

    def parity(self, reference: list[np.ndarray], candidate: list[np.ndarray], precision: str,
               truth=None) -> dict:
        """Metrics of ``candidate`` outputs against the source model's ``reference`` on the same images."""
        raise NotImplementedError

    def truth(self, images, class_names=None, classes: int | None = None):
        """What the check images should give (labels), when their folder says; None for a task without labels."""
        return None

    def failure(self, result: dict) -> str:
        """Why an exact precision failed its parity, in a few words."""
        return f"max |diff| {result.get('max_abs_diff', float('nan')):.3g} > {result.get('tolerance', 0):.3g}"

    def for_model(self, model: dict | None) -> "Task":
        """This task for one model (its sidecar's or zoo spec's ``model`` record): a detector's anchors, say."""
        return self

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)

    def describe(self) -> dict:
        return {"task": self.name}


_TASKS: dict[str, type[Task]] = {}


def register(cls: type[Task]) -> type[Task]:
    """Class decorator: make ``cls`` a known task (the order of registration is the order of ``task_for``)."""
    _TASKS[cls.name] = cls
    return cls


def known() -> tuple[str, ...]:
    _load()
    return tuple(_TASKS)


def get_task(name: str) -> Task:
    """The task called ``name``; one line naming the known ones otherwise."""
    _load()
    if name not in _TASKS:
        raise EdgekitError(f"unknown task '{name}' (known: {', '.join(_TASKS)})")
    return _TASKS[name]()


def task_for(outputs: Sequence) -> Task:
    """The most specific task whose ``accepts`` takes these outputs (the tensor task takes anything)."""
    _load()
    for cls in _TASKS.values():
        if cls.accepts(outputs):
            return cls()
    raise EdgekitError("no task takes these outputs")  # pragma: no cover - the tensor task takes all


def _load() -> None:
    """Import the built-in tasks (each registers itself); cheap, numpy only."""
    from edgekit.tasks import classification, detection, segmentation, tensor  # noqa: F401


def shape_of(output) -> tuple:
    """The shape of an output description: a TensorInfo, an array or a plain shape."""
    shape = getattr(output, "shape", output)
    return tuple(int(d) if d is not None else -1 for d in shape)


def sqnr_db(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio of ``candidate`` against ``reference``, in dB."""
    noise = float(np.sum((reference.astype(np.float64) - candidate) ** 2))
    signal = float(np.sum(reference.astype(np.float64) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(signal / noise)


def cosine(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Mean cosine similarity of ``candidate`` rows against ``reference`` rows (one row per image)."""
    a = reference.reshape(len(reference), -1).astype(np.float64)
    b = candidate.reshape(len(candidate), -1).astype(np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    same = np.all(a == b, axis=1)
    values = np.where(norms > 0, np.sum(a * b, axis=1) / np.where(norms > 0, norms, 1), same.astype(float))
    return float(np.mean(values))


# Absolute output tolerance by precision: float conversions are exact up to reassociation.
TOLERANCE = {"float": 1e-4, "fp16": 0.5}
EXACT = ("float", "fp16")


def tolerance(precision: str, reference: np.ndarray) -> float:
    """The absolute tolerance of an exact precision, scaled with the outputs' magnitude (1e-4 at |x| ~ 1..20)."""
    return TOLERANCE[precision] * max(1.0, float(np.abs(reference).max()) / 20)
