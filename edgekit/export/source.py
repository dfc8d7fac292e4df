"""Stage 1, the source: which model is exported, resolved and checked before anything is built.

A zoo name becomes its ``ModelSpec`` and weights source (none / imagenet / a .h5 file); the user's own
file (.keras, .h5, a SavedModel folder, a float .onnx) becomes a ``UserModel`` with its preprocessing
and class names. After this stage nothing cares where the model came from, except through ``kind``
(which exporters take it) and ``task`` (what its outputs mean).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.export.options import ConvertOptions, SourceOptions
from edgekit.tasks import Task, get_task, task_for
from edgekit.zoo import user as user_mod
from edgekit.zoo import weights as weights_mod
from edgekit.zoo.spec import parse_model


@dataclass(frozen=True)
class UserWeights:
    """A model file's own weights, as the sidecar records them."""
    model: user_mod.UserModel
    kind: str = "user"

    def to_dict(self) -> dict:
        return {"kind": "user", "file": self.model.path.name, "sha256": self.model.sha256}


@dataclass(frozen=True)
class Source:
    """The model to export: its spec (zoo ``ModelSpec`` or ``UserModel``), where its weights come from, the
    kind of graph it is (``keras`` or ``onnx``: which exporters take it) and its task."""

    spec: object
    weights: object  # zoo.weights.WeightsSource or UserWeights
    kind: str
    task: Task
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def resolution(self):
        return self.spec.resolution

    @property
    def geometry(self):
        """The input's ``data.images.Geometry`` (size, channels, order, resize policy)."""
        return self.spec.geometry

    @property
    def preprocessing(self):
        return self.spec.preprocessing

    @property
    def is_user(self) -> bool:
        return isinstance(self.spec, user_mod.UserModel)

    @property
    def real_weights(self) -> bool:
        return self.weights.kind != "none"

    def refuse(self, opts: ConvertOptions) -> None:
        """What this kind of source cannot do (a foreign ONNX or TFLite model has no Keras graph to round or
        rewrite)."""
        if self.kind == "keras":
            return
        quant, gate = opts.quantization, opts.gate
        for flag, on in (("--keep-float", quant.keep_float is not None), ("--max-drop", gate.max_drop is not None),
                         ("--min-agreement", gate.min_agreement is not None), ("--min-sqnr", gate.min_sqnr is not None),
                         ("--edgetpu", quant.edgetpu)):
            if on:
                raise EdgekitError(f"{flag} needs a Keras model; for {'an ONNX' if self.kind == 'onnx' else 'a TFLite'} "
                                   f"model edgekit makes plain int8 (ONNX Runtime QDQ"
                                   + (", AI Edge Quantizer" if self.kind == "tflite" else "") + ") and TFLite")
        from edgekit.vocab import DEFAULT_PTQ

        if quant.ptq not in (DEFAULT_PTQ, "minmax"):
            raise EdgekitError(f"--ptq rounds Keras weights; {'an ONNX' if self.kind == 'onnx' else 'a TFLite'} model "
                               f"is rounded by its own quantizer")

    def with_class_names(self, *folders) -> "Source":
        """A user model's class names: its --labels, else the class sub-folders of its calibration (or check)
        folder when they are as many as its outputs (the image_dataset_from_directory order)."""
        from edgekit.data.masks import is_segmentation_data

        if not self.is_user or self.spec.class_names or self.task.name != "classification":
            return self
        for folder in folders:
            if not folder or is_segmentation_data(folder):
                continue
            subdirs = sorted(p.name for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith("."))
            if len(subdirs) == self.spec.classes:
                return dataclasses.replace(self, spec=dataclasses.replace(self.spec, class_names=tuple(subdirs)))
        return self


def _task(name: str | None, model) -> Task:
    """The task a user's model is checked by: the one named (it must take the model's outputs), else the one its
    outputs imply (one (N, classes) output: classification; anything else: plain tensors)."""
    shapes = [(1, *shape) for shape in model.outputs]
    if name is None:
        return task_for(shapes)
    task = get_task(name)
    if not task.accepts(shapes):
        raise EdgekitError(f"--task {name}: {model.path.name}'s outputs {[list(s) for s in model.outputs]} are not "
                           f"what the {name} task reads ({task.description})")
    return task


def _anchors(path: str) -> dict:
    """A detector's anchors file: JSON with the SSD anchor generator's feature_maps (and optionally per_cell,
    min_scale, max_scale), as edgekit's zoo records them. One line for anything else."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EdgekitError(f"anchors file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EdgekitError(f"cannot read anchors file {path}: {exc}") from None
    maps = data.get("feature_maps") if isinstance(data, dict) else None
    if not maps or not all(isinstance(m, list) and len(m) == 2 and all(isinstance(v, int) and v > 0 for v in m)
                           for m in maps):
        raise EdgekitError(f"{path}: expected JSON with feature_maps, a list of [height, width] per feature map "
                           f"(as `edgekit summary ssdlite-v2 --json` records them)")
    return data


def resolve(opts: SourceOptions) -> Source:
    """The zoo model or the user's file that ``opts.model`` names, checked (nothing built)."""
    if user_mod.is_model_path(opts.model):
        if opts.weights not in (None, "none"):
            raise EdgekitError("a model file carries its own weights: drop --weights")
        names = None
        if opts.labels:
            from edgekit.data.labels import name_list

            names = name_list(opts.labels)
        model = user_mod.load(opts.model, preprocess=opts.preprocess, mean=opts.mean, std=opts.std,
                              input_size=opts.input_size, class_names=names, trust_code=opts.trust_model_code,
                              channel_order=opts.channel_order, resize=opts.resize)
        if opts.anchors:
            model = dataclasses.replace(model, anchors=_anchors(opts.anchors))
        task = _task(opts.task, model).for_model({"class_names": model.class_names, "anchors": model.anchors})
        if task.name == "detection":
            task.check_outputs(model.outputs, model.path.name)
        return Source(model, UserWeights(model), model.kind, task, model.notes)
    spec = parse_model(opts.model)
    if opts.anchors:
        raise EdgekitError("--anchors is for a detector file; zoo detectors know their own")
    if opts.task not in (None, spec.task):
        raise EdgekitError(f"--task {opts.task}: {spec.name} is a {spec.task} model")
    for flag, value in (("--preprocess", opts.preprocess), ("--input-size", opts.input_size),
                        ("--labels", opts.labels), ("--mean", opts.mean), ("--std", opts.std),
                        ("--channel-order", opts.channel_order), ("--resize", opts.resize)):
        if value is not None:
            raise EdgekitError(f"{flag} is for a model file; zoo models know their own (see `edgekit summary`)")
    return Source(spec, weights_mod.resolve(spec, opts.weights or "none"), "keras",
                  get_task(spec.task).for_model(spec.to_dict()))
