"""The export runner: source -> reference -> calibration -> quantization plan -> exporter -> check -> publish.

``convert(ConvertOptions.build(model, ...))`` is the Python API behind ``edgekit convert``: it returns
the typed sidecars of the artifacts it wrote. Each stage is its own module with typed hand-offs:

    source       export.source       which model, its weights, its kind and task (nothing built)
    plan         export.plan         what every (format, precision) means, validated before heavy work
    calibration  export.calibration  calibration images, and check images held apart from them
    reference    export.reference    the float model and its outputs on the check images
    exporter     export.exporters    one registered exporter per format and kind of source
    check        export.check        parity judged by the model's task
    publish      export.publish      the sidecar, then the atomic move into place

With an accuracy target (``--max-drop`` and friends) the int8 artifacts then go through the
mixed-precision search (``export.mixed``).
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from pathlib import Path

from edgekit import files
from edgekit.errors import EdgekitError
from edgekit.export import artifact as art
from edgekit.export import calibration as cal
from edgekit.export import check as checking
from edgekit.export import mixed, parity
from edgekit.export import source as sources
from edgekit.export.exporters import exporter_class
from edgekit.export.forms import FORMS
from edgekit.export.options import ConvertOptions
from edgekit.export.plan import Item, Plan, make_plan
from edgekit.export.publish import edgetpu_twin, sidecar
from edgekit.export.quiet import quiet
from edgekit.export.reference import make_reference

__all__ = ["ConvertOptions", "convert"]


def convert(opts: ConvertOptions) -> list[art.Artifact]:
    """Export ``opts.source.model`` at every (format, precision) of the plan, check each artifact against the
    source model and publish the ones that pass; returns their typed sidecars."""
    source = sources.resolve(opts.source)
    plan = make_plan(opts, source)
    for note in source.notes:
        opts.warn(note)
    out_root = Path(opts.output.out)
    folder = out_root / source.name
    made_folder = not folder.exists()
    files.ensure_writable(folder)
    try:
        return _convert(opts, source, plan, out_root)
    finally:
        if made_folder:  # a conversion that wrote nothing leaves no empty folder behind
            with contextlib.suppress(OSError):
                folder.rmdir()


def _convert(opts: ConvertOptions, source, plan: Plan, out_root: Path) -> list[art.Artifact]:
    calib, check = cal.image_sets(opts.calibration, source.geometry, plan.needs_calibration, opts.warn, opts.progress)
    source = source.with_class_names(opts.calibration.calib, opts.calibration.check)
    labels = checking.truth(source, check)
    _labels_for_drop(plan, labels, source, check)
    reference = make_reference(source, calib, check)
    run = _Run(opts, source, plan, reference, (calib, check), labels, out_root)
    with files.scratch_dir(out_root, "edgekit-savedmodel-") as scratch:
        forms = FORMS[source.kind](reference.model, source, opts, reference.calib_x, reference.check_x, scratch)
        exporters = {fmt: exporter_class(fmt, source.kind)(forms) for fmt in dict.fromkeys(i.format for i in plan.items)}
        plain: dict[str, art.Artifact] = {}
        for item in plan.items:
            start = time.perf_counter()
            with quiet():
                data, extra = exporters[item.format].export(item)
            for note in forms.notes:
                opts.warn(note)
            forms.notes.clear()
            made = run.emit(exporters[item.format], item, data, extra, time.perf_counter() - start)
            if made is not None and item.precision == "int8":
                plain[item.format] = made
        if plan.target.active:
            for fmt, made in plain.items():
                run.refine(exporters[fmt], made)
    if run.failures:
        raise parity.ParityError("parity check failed, artifact not written: " + "; ".join(run.failures))
    return run.results


def _labels_for_drop(plan: Plan, labels, source, check) -> None:
    """A drop (a floor or a target) needs labelled check images: class labels, masks, or COCO boxes."""
    wants_drop = plan.target.max_drop is not None or any(r.metric.name == "drop" for r in plan.required or ())
    if labels is None and source.real_weights and wants_drop:
        task = source.task
        what = {"classification": "labels (labels.csv or class folders): pass --check DIR with labels, or use "
                                  "--min-agreement / agreement>= instead",
                "detection": "COCO boxes: pass --check instances_*.json with the model's classes among its categories",
                "segmentation": "masks: pass --check DIR with images/ and masks/ (or a COCO JSON)"}.get(
            task.name, "labels")
        raise EdgekitError(f"a {task.accuracy} drop needs labelled check images, and {check.source} has no {what}")


class _Run:
    """One conversion's checking and publishing: what was written, and what failed exact parity."""

    def __init__(self, opts: ConvertOptions, source, plan: Plan, reference, images, labels, out_root: Path):
        self.opts, self.source, self.plan, self.reference = opts, source, plan, reference
        self.images, self.labels, self.out_root = images, labels, out_root
        self.tools = art.tool_versions()
        self.results: list[art.Artifact] = []
        self.failures: list[str] = []

    def check(self, path: Path, exporter, precision: str) -> dict:
        return checking.run_check(path, exporter.runtime, self.source, self.reference, self.images[1], precision,
                                  self.labels)

    def emit(self, exporter, item: Item, data: bytes, extra: dict, seconds: float) -> art.Artifact | None:
        """Check one artifact's parity, judge it, publish it with its sidecar (None: failed exact parity)."""
        target = art.artifact_path(self.out_root, self.source.name, item.format, item.label)
        tmp = files.write_temp(target.parent, target.name, data)
        try:
            result = checking.judged(self.check(tmp, exporter, item.precision), item.precision, self.source,
                                     self.plan.required)
            if item.edgetpu:
                extra = {**extra, "edgetpu": edgetpu_twin(tmp, target, self.opts.warn, self.out_root)}
            made = sidecar(target, item, data, self.source, self.reference, self.images, result, extra, seconds,
                           self.labels is not None, self.opts.quantization.ptq, self.tools)
            if result["passed"] is False and item.precision in parity.EXACT:
                self.failures.append(f"{item.format}-{item.precision}: {self.source.task.failure(result)}")
                return None
            art.publish(tmp, target, made)
            self.results.append(made)
            return made
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def refine(self, exporter, made: art.Artifact) -> None:
        """The accuracy-controlled search from the plain int8 artifact ``made``: keep the fewest layers float
        that meet the plan's target, and publish that model as ``<format>-int8-mixed``."""
        target, fmt = self.plan.target, exporter.format
        start = time.perf_counter()
        with quiet(), warnings.catch_warnings(), files.scratch_dir(self.out_root, "edgekit-mixed-") as where:
            # the debuggers' statistics over tensors with no finite values warn (nan means): the ranking skips them
            warnings.simplefilter("ignore", RuntimeWarning)
            chosen, log = mixed.search(exporter, exporter.ranking, exporter.mixed,
                                       lambda path: self.check(path, exporter, "int8"), made["parity"], target, where)
        if chosen is None:
            self.opts.warn(f"{fmt} int8: {log['note']} ({target})")
            return
        if not log["met"]:
            self.opts.warn(f"{fmt} int8: {target} {log['note']}")
        extra = {"quantization": {**(made.get("quantization") or {}), "scheme": (
            "int8 with the fewest layers kept float that meet the target (accuracy-controlled; "
            + exporter.mixed_scheme + ")"), "accuracy_control": log}, "graph_rewrites": made.get("graph_rewrites", []),
                 **({"post_processing": made["post_processing"]} if made.get("post_processing") else {})}
        self.emit(exporter, Item(fmt, "int8", mixed=True), chosen, extra,
                  time.perf_counter() - start)
