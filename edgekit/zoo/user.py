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

from edgekit.data.images import Geometry
from edgekit.errors import EdgekitError
from edgekit.files import sha256_file
from edgekit.zoo.families import Preprocessing

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
ONNX_SUFFIX = ".onnx"
TFLITE_SUFFIX = ".tflite"
LEADING_RESCALE = ("Rescaling", "Normalization")


class UserModelError(EdgekitError):
    """A model file edgekit cannot take (one line, exit 2)."""


def is_model_path(text: str) -> bool:
    """Whether ``--model TEXT`` names a file or folder (a user model) rather than a zoo name."""
    path = Path(text)
    return (path.suffix.lower() in (*KERAS_SUFFIXES, ONNX_SUFFIX, TFLITE_SUFFIX) or "/" in text or path.exists())


@dataclass(frozen=True)
class UserModel:
    """A user's model file with what edgekit needs to know of it: its input geometry and layout, its outputs
    (shapes without the batch), and for a classifier its classes."""

    path: Path
    kind: str  # "keras", "onnx" or "tflite"
    name: str  # the file's stem, cleaned: also the folder name of its artifacts
    sha256: str
    geometry: Geometry
    outputs: tuple[tuple[int, ...], ...]
    preprocessing: Preprocessing
    preprocessing_source: str  # "declared (--preprocess NAME)" or "detected: ..."
    layout: str = "nhwc"  # ONNX from PyTorch: "nchw"
    class_names: tuple[str, ...] | None = None
    trust_code: bool = False
    notes: tuple[str, ...] = field(default=())
    anchors: dict | None = None  # a detector with raw outputs: its anchors (what decoding its boxes needs)

    family = "user"

    @property
    def classes(self) -> int | None:
        """The number of classes of a classifier (one (N, classes) output) or a segmenter (one dense output of
        per-pixel scores, or a sigmoid mask: 2), else None."""
        if len(self.outputs) != 1:
            return None
        if len(self.outputs[0]) == 1:
            return self.outputs[0][0] if self.outputs[0][0] >= 2 else None
        from edgekit.data.masks import dense_classes

        return dense_classes(self.outputs[0])

    @property
    def resolution(self):
        """The input's size: an int when square (what the zoo's names say), else (height, width)."""
        g = self.geometry
        return g.height if g.square else (g.height, g.width)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.geometry.height, self.geometry.width, self.geometry.channels)

    def to_dict(self) -> dict:
        return {"name": self.name, "family": "user", "file": self.path.name, "path": str(self.path),
                "sha256": self.sha256, "kind": self.kind, "resolution": self.resolution, "layout": self.layout,
                "input": {**self.geometry.to_dict(), "layout": self.layout},
                "outputs": [list(o) for o in self.outputs],
                "classes": self.classes, "class_names": list(self.class_names) if self.class_names else None,
                **({"anchors": self.anchors} if self.anchors else {}),
                "preprocessing": {**self.preprocessing.to_dict(), "source": self.preprocessing_source}}

    def __str__(self) -> str:
        return self.name

    def keras_model(self):
        """The model, loaded (safe mode unless ``trust_code``) and flattened; logits or scores as saved."""
        if self.kind != "keras":
            raise UserModelError(f"{self.path.name} is a {self.kind} model: it has no Keras graph")
        return flatten(_load_keras(self.path, self.trust_code))


def model_name(path: str | Path) -> str:
    """The name a user's model file goes by (its artifacts' folder name): the file's stem, cleaned."""
    return _clean_name(Path(path))


def _clean_name(path: Path) -> str:
    stem = path.name if path.is_dir() else path.stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-") or "model"


def parse_size(text) -> tuple[int, int] | None:
    """``--input-size``: ``N`` (square) or ``HxW`` -> (height, width); one line of UserModelError otherwise."""
    if text is None:
        return None
    if isinstance(text, int):
        text = str(text)
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX*]\s*(\d+))?\s*", str(text))
    if not match:
        raise UserModelError(f"--input-size takes N or HxW (e.g. 224 or 48x192), got {text!r}")
    height, width = int(match.group(1)), int(match.group(2) or match.group(1))
    if not (8 <= height <= 8192 and 8 <= width <= 8192):
        raise UserModelError(f"--input-size {text}: each side must be 8 to 8192 pixels")
    return height, width


def load(path: str | Path, *, preprocess: str | None = None, mean=None, std=None, input_size=None,
         class_names: list[str] | None = None, trust_code: bool = False, channel_order: str | None = None,
         resize: str | None = None) -> UserModel:
    """Open and check the user's model file; settle its geometry and preprocessing. Raises UserModelError (one line)."""
    path = Path(path)
    if not path.exists():
        raise UserModelError(f"model file not found: {path}")
    if path.is_dir() and not (path / "saved_model.pb").is_file():
        raise UserModelError(f"{path} is a folder but not a SavedModel (no saved_model.pb)")
    suffix = path.suffix.lower()
    if path.is_file() and suffix not in (*KERAS_SUFFIXES, ONNX_SUFFIX, TFLITE_SUFFIX):
        raise UserModelError(f"{path.name}: not a model file edgekit reads (.keras, .h5, a SavedModel folder, .onnx "
                             f"or .tflite)")
    size = parse_size(input_size)
    detected = None
    if suffix == ONNX_SUFFIX:
        kind = "onnx"
        (height, width, channels), layout, outputs = _onnx_shapes(path, size)
    elif suffix == TFLITE_SUFFIX:
        kind = "tflite"
        (height, width, channels), layout, outputs = _tflite_shapes(path, size)
    else:
        kind = "keras"
        model = _load_keras(path, trust_code)
        (height, width, channels), layout, outputs = _keras_shapes(path, model, size)
        detected = detect_preprocessing(model)
    geometry = _geometry(path, height, width, channels, channel_order, resize)
    chosen, how, notes = _preprocessing(path, preprocess, mean, std, detected, channels)
    model = UserModel(path.resolve(), kind, _clean_name(path), _digest(path), geometry, outputs, chosen, how,
                      layout, tuple(class_names) if class_names else None, trust_code, tuple(notes))
    scores = _detector_scores(outputs)
    if class_names is not None and scores and len(class_names) in (scores, scores - 1):
        pass  # a detector's classes, with or without the background score first
    elif class_names is not None and _post_processed(outputs):
        pass  # TFLite_Detection_PostProcess's outputs: class indices, as many classes as the labels name
    elif class_names is not None and len(class_names) != (model.classes or -1):
        raise UserModelError(f"--labels names {len(class_names)} classes, but {path.name} "
                             + (f"outputs {model.classes} scores" if model.classes else "has no classes (its "
                                f"outputs are {[list(o) for o in outputs]})"))
    return model


def _post_processed(outputs) -> bool:
    """Boxes (M, 4), classes (M,), scores (M,) and a count (shapes without the batch): a detector with its
    post-processing in the graph (``tasks.detection.output_form`` reads the same four)."""
    shapes = sorted(tuple(o) for o in outputs)
    return len(shapes) == 4 and shapes[0] in ((), (1,)) and len(shapes[1]) == len(shapes[2]) == 1 and \
        shapes[1] == shapes[2] and shapes[3] == (shapes[1][0], 4)


def _detector_scores(outputs) -> int | None:
    """A raw SSD-style detector's class-score width: outputs (anchors, 4) and (anchors, K), K >= 2."""
    if len(outputs) == 2 and all(len(o) == 2 for o in outputs) and outputs[0][0] == outputs[1][0]:
        widths = sorted((o[1] for o in outputs), key=lambda w: w == 4)
        if 4 in (outputs[0][1], outputs[1][1]) and widths[0] >= 2:
            return int(widths[0]) if widths[0] != 4 or widths[1] == 4 else int(widths[1])
    return None


def _geometry(path: Path, height: int, width: int, channels: int, order: str | None, resize: str | None) -> Geometry:
    from edgekit.vocab import CHANNEL_ORDERS, RESIZE_POLICIES

    if order is not None and channels == 1:
        raise UserModelError(f"{path.name} takes 1-channel (grey) images: --channel-order applies to RGB models only")
    if order is not None and order not in CHANNEL_ORDERS:
        raise UserModelError(f"unknown --channel-order '{order}' (known: {', '.join(CHANNEL_ORDERS)})")
    if resize is not None and resize not in RESIZE_POLICIES:
        raise UserModelError(f"unknown --resize '{resize}' (known: {', '.join(RESIZE_POLICIES)})")
    return Geometry(height, width, channels, order or "rgb", resize or "stretch")


def _preprocessing(path: Path, preprocess, mean, std, detected, channels: int):
    """The declared (or detected) preprocessing, with what it says about itself, and notes for the user."""
    if preprocess and (mean is not None or std is not None) and channels == 1:
        mean = tuple(mean or ())[:1] * 3 if mean else None
        std = tuple(std or ())[:1] * 3 if std else None
    declared = Preprocessing.named(preprocess, mean, std) if preprocess else None
    if declared is not None and channels == 1 and isinstance(declared.scale, tuple):
        declared = Preprocessing(declared.scale[0], declared.offset[0], declared.note + " (grey: the first value)",
                                 declared.name)
    notes = []
    if declared and detected:
        notes.append(f"{detected[1]}, but --preprocess {preprocess} was declared: using the declaration "
                     f"(the model then rescales again inside)")
    if declared:
        return declared, f"declared (--preprocess {preprocess})", notes
    if detected:
        return detected[0], detected[1], notes
    from edgekit.vocab import PREPROCESSING

    raise UserModelError(
        f"{path.name}: say how pixels become its input: --preprocess {'|'.join(PREPROCESSING)} (the model "
        f"has no leading Rescaling/Normalization layer to tell)")


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


def _image_input(path: Path, shape, size: tuple[int, int] | None, what: str) -> tuple[tuple[int, int, int], str]:
    """(height, width, channels) and layout of an image input ``shape`` (NHWC or NCHW, 1 or 3 channels, the
    batch free), its dynamic spatial dimensions fixed by ``size`` (``--input-size``)."""
    shape = [d if (d is None or d > 0) else None for d in shape]
    if len(shape) != 4 or not ({shape[1], shape[3]} & {1, 3}):
        raise UserModelError(f"{path.name}: input shape {shape} is not one image (N, H, W, C) or (N, C, H, W) with "
                             f"1 or 3 channels")
    layout = "nhwc" if shape[3] in (1, 3) else "nchw"
    channels = shape[3] if layout == "nhwc" else shape[1]
    spatial = shape[1:3] if layout == "nhwc" else shape[2:4]
    if None in spatial:
        if size is None:
            raise UserModelError(f"{path.name}: its input size is dynamic ({shape}); pass --input-size N or HxW")
        spatial = [spatial[0] or size[0], spatial[1] or size[1]]
        if tuple(spatial) != size:
            raise UserModelError(f"{path.name} fixes its input at {'x'.join(map(str, spatial))} where "
                                 f"--input-size says {size[0]}x{size[1]}")
    elif size is not None and tuple(spatial) != size:
        raise UserModelError(f"{path.name} takes {spatial[0]}x{spatial[1]} images; --input-size {size[0]}x{size[1]} "
                             f"disagrees")
    return (int(spatial[0]), int(spatial[1]), int(channels)), layout


def _outputs(path: Path, shapes: list) -> tuple[tuple[int, ...], ...]:
    """Output shapes without the batch; every dimension must be known."""
    if not shapes:
        raise UserModelError(f"{path.name} has no outputs")
    out = []
    for shape in shapes:
        rest = tuple(shape[1:])
        if list(shape) == [1]:  # one value per image (TFLite_Detection_PostProcess's count)
            out.append(())
            continue
        if not rest or any(d is None or d <= 0 for d in rest):
            raise UserModelError(f"{path.name}: output shape {list(shape)} has dimensions edgekit cannot know ahead "
                                 f"(only the batch may be dynamic)")
        out.append(tuple(int(d) for d in rest))
    return tuple(out)


def _keras_shapes(path: Path, model, size) -> tuple[tuple[int, int, int], str, tuple]:
    if len(model.inputs) != 1:
        raise UserModelError(f"{path.name} takes {len(model.inputs)} inputs; edgekit needs one image tensor")
    shape = tuple(model.inputs[0].shape)
    if len(shape) == 4 and (shape[1] is None or shape[2] is None):
        raise UserModelError(f"{path.name}: input shape {shape} has no fixed size; save the model with its input "
                             f"size (keras.Input(shape=(H, W, C)))")
    dims, layout = _image_input(path, shape, size, "input")
    if layout != "nhwc":
        raise UserModelError(f"{path.name}: a Keras model takes NHWC images; its input is {shape}")
    return dims, layout, _outputs(path, [tuple(o.shape) for o in model.outputs])


def _onnx_shapes(path: Path, size) -> tuple[tuple[int, int, int], str, tuple]:
    try:
        import onnx
    except ImportError:
        raise UserModelError("reading .onnx models needs onnx: pip install 'edgekit[convert]'") from None
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError and friends
        raise UserModelError(f"{path.name} is not a readable ONNX model ({type(exc).__name__})") from None
    _check_external_data(path, model)
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise UserModelError(f"{path.name} takes {len(inputs)} inputs; edgekit needs one image tensor")

    def dims(value):
        return [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]

    if inputs[0].type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        raise UserModelError(f"{path.name}: the input is not float32; edgekit quantizes float ONNX models")
    image, layout = _image_input(path, dims(inputs[0]), size, "input")
    return image, layout, _outputs(path, [dims(o) for o in model.graph.output])


def _check_external_data(path: Path, model) -> None:
    """An ONNX model whose weights live in another file (torch.onnx's default): that file must be beside it."""
    from onnx.external_data_helper import uses_external_data

    for tensor in model.graph.initializer:
        if uses_external_data(tensor):
            location = next((e.value for e in tensor.external_data if e.key == "location"), None)
            if location and not (path.parent / location).is_file():
                raise UserModelError(f"{path.name} keeps its weights in {location}, which is not beside it in "
                                     f"{path.parent}: copy the .onnx and its data file together")
            return


def _tflite_shapes(path: Path, size) -> tuple[tuple[int, int, int], str, tuple]:
    """A float .tflite source: one float image input, outputs of known shape, and no quantized weights (an int8
    file cannot be quantized again: its float original can)."""
    from edgekit.run.tflite_graph import parse_graph

    try:
        graph = parse_graph(path.read_bytes(), path.name)
    except Exception as exc:  # a flatbuffer that does not parse
        raise UserModelError(f"{path.name} is not a readable TFLite model ({type(exc).__name__})") from None
    if graph.edgetpu_compiled:
        raise UserModelError(f"{path.name} is Edge TPU compiler output: convert its CPU twin (the file before compiling)")
    if len(graph.inputs) != 1:
        raise UserModelError(f"{path.name} takes {len(graph.inputs)} inputs; edgekit needs one image tensor")
    first = graph.tensors[graph.inputs[0]]
    quantized = [t for t in graph.tensors if t.quantized and t.dtype in ("INT8", "UINT8", "INT16")]
    if first.dtype != "FLOAT32" or quantized:
        raise UserModelError(f"{path.name} is already quantized ({first.dtype} input, {len(quantized)} quantized "
                             f"tensors): edgekit quantizes float models; give it the float original, or measure this "
                             f"file as it is with 'edgekit bench' / 'edgekit eval'")
    image, layout = _image_input(path, list(first.shape), size, "input")
    shapes = [list(graph.tensors[i].shape) for i in graph.outputs]
    if any(not shape for shape in shapes):  # a custom op's outputs (TFLite_Detection_PostProcess): sized when prepared
        shapes = _prepared_output_shapes(path, graph.outputs) or shapes
    return image, layout, _outputs(path, shapes)


def _prepared_output_shapes(path: Path, outputs) -> list | None:
    """The output shapes LiteRT gives once the graph is prepared (a custom op sizes its outputs then)."""
    try:
        from ai_edge_litert import interpreter as litert

        interp = litert.Interpreter(model_path=str(path))
        interp.allocate_tensors()
    except (ImportError, ValueError, RuntimeError):
        return None
    by_index = {d["index"]: [int(v) for v in d["shape"]] for d in interp.get_output_details()}
    return [by_index.get(i, []) for i in outputs]


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
