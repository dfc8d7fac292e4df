"""The user's own model: a fine-tuned Keras file (``.keras``, full-model ``.h5``, SavedModel folder) or a
float ``.onnx`` file, standing where a zoo name stands.

``load(path, ...)`` checks it is one image classifier (one square RGB image in, one class vector out),
reads its input size and number of classes, settles its preprocessing (declared, or detected from a
leading ``Rescaling``/``Normalization`` layer, never guessed) and returns a ``UserModel``: the same face
as a zoo ``ModelSpec`` (name, resolution, preprocessing, ``to_dict`` for the sidecar) plus the file's
identity (name, sha256, class names). Keras files load in safe mode: no code from the file runs unless
``trust_code`` says so.

The transfer-learning pattern nests the backbone as one layer; ``flatten`` rewires such a model into
one flat graph over the very same layers (weights shared, function unchanged), so per-layer rounding,
the hard-swish rewrite and the per-layer debuggers see every convolution.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.files import sha256_file
from edgekit.zoo.families import Preprocessing

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
ONNX_SUFFIX = ".onnx"
LEADING_RESCALE = ("Rescaling", "Normalization")


class UserModelError(EdgekitError):
    """A model file that is not one image classifier edgekit can take (one line, exit 2)."""


def is_model_path(text: str) -> bool:
    """Whether ``--model TEXT`` names a file or folder (a user model) rather than a zoo name."""
    path = Path(text)
    return (path.suffix.lower() in (*KERAS_SUFFIXES, ONNX_SUFFIX) or "/" in text or path.exists())


@dataclass(frozen=True)
class UserModel:
    """A user's classifier file with what edgekit needs to know of it."""

    path: Path
    kind: str  # "keras" or "onnx"
    name: str  # the file's stem, cleaned: also the folder name of its artifacts
    sha256: str
    resolution: int
    classes: int
    preprocessing: Preprocessing
    preprocessing_source: str  # "declared (--preprocess NAME)" or "detected: ..."
    layout: str = "nhwc"  # ONNX from PyTorch: "nchw"
    class_names: tuple[str, ...] | None = None
    trust_code: bool = False
    notes: tuple[str, ...] = field(default=())

    family = "user"

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.resolution, self.resolution, 3)

    def to_dict(self) -> dict:
        return {"name": self.name, "family": "user", "file": self.path.name, "path": str(self.path),
                "sha256": self.sha256, "kind": self.kind, "resolution": self.resolution, "layout": self.layout,
                "classes": self.classes, "class_names": list(self.class_names) if self.class_names else None,
                "preprocessing": {**self.preprocessing.to_dict(), "source": self.preprocessing_source}}

    def __str__(self) -> str:
        return self.name

    def keras_model(self):
        """The model, loaded (safe mode unless ``trust_code``) and flattened; logits or scores as saved."""
        if self.kind != "keras":
            raise UserModelError(f"{self.path.name} is an ONNX model: it has no Keras graph")
        return flatten(_load_keras(self.path, self.trust_code))


def model_name(path: str | Path) -> str:
    """The name a user's model file goes by (its artifacts' folder name): the file's stem, cleaned."""
    return _clean_name(Path(path))


def _clean_name(path: Path) -> str:
    stem = path.name if path.is_dir() else path.stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-") or "model"


def load(path: str | Path, *, preprocess: str | None = None, mean=None, std=None, input_size: int | None = None,
         class_names: list[str] | None = None, trust_code: bool = False) -> UserModel:
    """Open and check the user's model file; settle its preprocessing. Raises UserModelError (one line)."""
    path = Path(path)
    if not path.exists():
        raise UserModelError(f"model file not found: {path}")
    if path.is_dir() and not (path / "saved_model.pb").is_file():
        raise UserModelError(f"{path} is a folder but not a SavedModel (no saved_model.pb)")
    if path.is_file() and path.suffix.lower() not in (*KERAS_SUFFIXES, ONNX_SUFFIX):
        raise UserModelError(f"{path.name}: not a model file edgekit reads (.keras, .h5, a SavedModel folder or .onnx)")
    if path.suffix.lower() == ONNX_SUFFIX:
        resolution, layout, classes = _onnx_shapes(path, input_size)
        detected = None
    else:
        if input_size is not None:
            raise UserModelError("--input-size is for ONNX models with a dynamic spatial size; a Keras model "
                                 "states its own")
        model = _load_keras(path, trust_code)
        resolution, layout, classes = _keras_shapes(path, model)
        detected = detect_preprocessing(model)
    declared = Preprocessing.named(preprocess, mean, std) if preprocess else None
    notes = []
    if declared and detected:
        notes.append(f"{detected[1]}, but --preprocess {preprocess} was declared: using the declaration "
                     f"(the model then rescales again inside)")
    if declared:
        chosen, how = declared, f"declared (--preprocess {preprocess})"
    elif detected:
        chosen, how = detected
    else:
        from edgekit.vocab import PREPROCESSING

        raise UserModelError(
            f"{path.name}: say how pixels become its input: --preprocess {'|'.join(PREPROCESSING)} (the model "
            f"has no leading Rescaling/Normalization layer to tell)")
    if class_names is not None and len(class_names) != classes:
        raise UserModelError(f"--labels names {len(class_names)} classes, but {path.name} outputs {classes} scores")
    return UserModel(path.resolve(), "onnx" if path.suffix.lower() == ONNX_SUFFIX else "keras", _clean_name(path),
                     _digest(path), resolution, classes, chosen, how, layout,
                     tuple(class_names) if class_names else None, trust_code, tuple(notes))


def _digest(path: Path) -> str:
    if path.is_file():
        return sha256_file(path)
    import hashlib

    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(item.relative_to(path)).encode() + b"\0" + item.read_bytes())
    return digest.hexdigest()


def _keras():
    from edgekit.zoo.build import _keras as keras_module  # noqa: PLC2701 (same package)

    return keras_module()


def _load_keras(path: Path, trust_code: bool):
    """Load with Keras: safe mode (no code from the file) unless ``trust_code``."""
    import zipfile

    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise UserModelError(f"{path.name} is not a Keras model file (a .keras file is a zip archive)")
    if path.suffix.lower() in (".h5", ".hdf5") and path.read_bytes()[:8] != b"\x89HDF\r\n\x1a\n":
        raise UserModelError(f"{path.name} is not a Keras model file (not HDF5)")
    keras = _keras()
    try:
        if path.is_dir():
            return _wrap_saved_model(keras, path)
        return keras.models.load_model(path, compile=False, safe_mode=not trust_code)
    except (TypeError, ValueError) as exc:
        text = " ".join(str(exc).split())
        if "No model config found" in text:
            raise UserModelError(f"{path.name} holds weights only, not a model; save the whole model "
                                 f"(model.save('m.keras')), or for a zoo architecture use --model NAME --weights "
                                 f"{path.name}") from None
        custom = re.search(r"Could not locate (?:class|function) '([^']+)'", text)
        if custom or "safe_mode" in text or "Lambda" in text:
            what = f"the custom object '{custom.group(1)}'" if custom else "a Lambda layer (code stored in the file)"
            raise UserModelError(
                f"{path.name} needs {what}: loading it runs code from the file; if you trust it, pass "
                f"--trust-model-code{' and make the class importable (keras.saving.register_keras_serializable)' if custom else ''}"
            ) from None
        raise UserModelError(f"cannot load {path.name} with Keras: {text[:200]}") from None
    except OSError as exc:
        raise UserModelError(f"cannot load {path.name} with Keras: {' '.join(str(exc).split())[:200]}") from None
    except Exception as exc:  # zip/h5 readers raise many kinds on a file that is not a model
        raise UserModelError(f"cannot load {path.name} as a Keras model ({type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:160]})") from None


def _wrap_saved_model(keras, path: Path):
    """A SavedModel's serving signature as a Keras model (Input -> TFSMLayer): its layers stay hidden, so
    per-layer rounding cannot see them (the converter rounds; convert says so)."""
    import tensorflow as tf

    signature = tf.saved_model.load(str(path)).signatures.get("serving_default")
    if signature is None:
        raise UserModelError(f"{path}: the SavedModel has no serving_default signature")
    specs = list(signature.structured_input_signature[1].values())
    if len(specs) != 1:
        raise UserModelError(f"{path.name} takes {len(specs)} inputs; edgekit needs one image tensor")
    layer = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
    inputs = keras.Input(batch_shape=(1, *specs[0].shape[1:]), dtype="float32")
    outputs = layer(inputs)
    if isinstance(outputs, dict):
        if len(outputs) != 1:
            raise UserModelError(f"{path.name} has {len(outputs)} outputs; edgekit needs one class vector")
        outputs = next(iter(outputs.values()))
    return keras.Model(inputs, outputs, name=path.name)


def _keras_shapes(path: Path, model) -> tuple[int, str, int]:
    if len(model.inputs) != 1:
        raise UserModelError(f"{path.name} takes {len(model.inputs)} inputs; edgekit needs one image tensor")
    if len(model.outputs) != 1:
        raise UserModelError(f"{path.name} has {len(model.outputs)} outputs; edgekit needs one class vector")
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4 or shape[3] != 3 or not shape[1] or shape[1] != shape[2]:
        raise UserModelError(f"{path.name}: input shape {shape} is not one square RGB image (N, H, W, 3) of a "
                             f"fixed size")
    out = tuple(model.outputs[0].shape)
    if len(out) != 2 or not out[1] or out[1] < 2:
        raise UserModelError(f"{path.name}: output shape {out} is not a class vector (N, classes)")
    return int(shape[1]), "nhwc", int(out[1])


def _onnx_shapes(path: Path, input_size: int | None) -> tuple[int, str, int]:
    try:
        import onnx
    except ImportError:
        raise UserModelError("reading .onnx models needs onnx: pip install 'edgekit[convert]'") from None
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError and friends
        raise UserModelError(f"{path.name} is not a readable ONNX model ({type(exc).__name__})") from None
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise UserModelError(f"{path.name} takes {len(inputs)} inputs; edgekit needs one image tensor")
    if len(model.graph.output) != 1:
        raise UserModelError(f"{path.name} has {len(model.graph.output)} outputs; edgekit needs one class vector")

    def dims(value):
        return [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]

    shape, out = dims(inputs[0]), dims(model.graph.output[0])
    if inputs[0].type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        raise UserModelError(f"{path.name}: the input is not float32; edgekit quantizes float ONNX models")
    if len(shape) != 4 or 3 not in (shape[1], shape[3]):
        raise UserModelError(f"{path.name}: input shape {shape} is not one RGB image (NCHW or NHWC)")
    layout = "nchw" if shape[1] == 3 else "nhwc"
    spatial = shape[2:4] if layout == "nchw" else shape[1:3]
    if None in spatial:
        if input_size is None:
            raise UserModelError(f"{path.name}: its input size is dynamic ({shape}); pass --input-size N")
        spatial = [input_size, input_size]
    elif input_size is not None and input_size != spatial[0]:
        raise UserModelError(f"{path.name} takes {spatial[0]} px images; --input-size {input_size} disagrees")
    if spatial[0] != spatial[1]:
        raise UserModelError(f"{path.name}: input {spatial[0]}x{spatial[1]} is not square")
    if len(out) != 2 or not out[1] or out[1] < 2:
        raise UserModelError(f"{path.name}: output shape {out} is not a class vector (N, classes)")
    return int(spatial[0]), layout, int(out[1])


def detect_preprocessing(model) -> tuple[Preprocessing, str] | None:
    """Raw pixels when the model's first layer after its input is a Rescaling/Normalization (nested
    sub-models looked into); None when nothing in the model says."""
    layer = _first_layer(model)
    if layer is None or type(layer).__name__ not in LEADING_RESCALE:
        return None
    config = layer.get_config()
    if type(layer).__name__ == "Rescaling":
        what = f"Rescaling(scale={config.get('scale')}, offset={config.get('offset')})"
    else:
        what = "Normalization"
    return (Preprocessing(1.0, 0.0, f"raw 0..255 pixels; the model's leading {what} maps them", "raw-pixels"),
            f"detected: a leading {what} layer, so raw 0..255 pixels go in")


def _first_layer(model):
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        if hasattr(layer, "layers") and layer.layers:  # a nested model: look inside
            return _first_layer(layer)
        return layer
    return None


def flatten(model):
    """``model`` with every nested functional/Sequential sub-model inlined: one flat graph over the same
    layer objects (weights shared, the function unchanged). Returned as is when nothing is nested."""
    keras = _keras()
    if not any(isinstance(layer, keras.Model) for layer in model.layers):
        return model
    names: set[str] = set()

    def inline(sub, args):
        if isinstance(sub, keras.Sequential):
            x = args[0]
            for layer in sub.layers:
                x = call(layer, (x,), {})
            return x
        values = {id(t): v for t, v in zip(sub.inputs, args)}
        for node in graph_nodes(sub):
            a, k = node.arguments.fill_in(values)
            outputs = call(node.operation, a, k)
            outs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            for tensor, value in zip(node.outputs, outs):
                values[id(tensor)] = value
        outs = [values[id(t)] for t in sub.outputs]
        return outs[0] if len(outs) == 1 else outs

    def call(layer, args, kwargs):
        if isinstance(layer, keras.Model):
            return inline(layer, list(args) if len(args) > 1 else [args[0]])
        if layer.name in names:
            raise UserModelError(f"layer name '{layer.name}' appears both in a nested model and around it; "
                                 f"rename one (layer names must be unique once the model is flattened)")
        names.add(layer.name)
        return layer(*args, **kwargs)

    inputs = [keras.Input(batch_shape=tuple(t.shape), dtype=t.dtype, name=t.name.split(":")[0])
              for t in model.inputs]
    outputs = inline(model, inputs)
    return keras.Model(inputs, outputs, name=model.name)


def graph_nodes(model) -> list:
    """A functional model's call nodes in execution order (deepest first, as Keras runs them)."""
    ordered = []
    for depth in sorted(model._nodes_by_depth, reverse=True):
        ordered.extend(node for node in model._nodes_by_depth[depth] if node.operation and not node.is_input)
    return ordered
