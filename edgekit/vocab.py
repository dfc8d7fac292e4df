"""The one vocabulary: formats, precisions, runtimes, PTQ names, preprocessing and defaults.

Every module, the CLI's choices and the grid files read their names from here, so a new format or
algorithm is added in one place. Plain data: importing this costs nothing (``edgekit --help`` reads it).
"""

from __future__ import annotations

# Export formats and the file extension of each.
FORMATS = ("tflite", "onnx")
EXTENSIONS = {"tflite": ".tflite", "onnx": ".onnx"}

# Precisions, and which format can write which.
PRECISIONS = ("float", "fp16", "dynamic", "int8", "int16x8")
FORMAT_PRECISIONS = {
    "tflite": PRECISIONS,
    # No "dynamic": ORT's quantize_dynamic turns these convolutions into ConvInteger and, measured on
    # v1-0.25-128, its logits keep 0-20% of the float top-1 (SQNR ~2.5 dB). Static int8 is the CNN path.
    "onnx": ("float", "int8"),
}
QUANTIZED = ("int8", "int16x8")  # precisions that need calibration images

# Runtimes: the one that reads each format, and each file suffix.
FORMAT_RUNTIME = {"tflite": "litert", "onnx": "onnxruntime"}
RUNTIMES = {EXTENSIONS[fmt]: runtime for fmt, runtime in FORMAT_RUNTIME.items()}  # ".tflite" -> "litert"
RUNTIME_NAMES = tuple(FORMAT_RUNTIME.values())
ORT_OPTIMIZATION = ("disable", "basic", "extended", "all")
DEFAULT_ORT_OPTIMIZATION = "all"

# Full-integer TFLite model I/O.
IO_TYPES = ("float", "int8", "uint8")

# Weight rounding before int8 conversion (``edgekit.quant.ALGORITHMS`` implements exactly these; a test
# keeps the two equal). minmax = the converters' own round-to-nearest.
PTQ_ALGORITHMS = ("gptq", "gptq-seq", "bias-correction", "gptq+bias-correction", "minmax")
DEFAULT_PTQ = "gptq-seq"
ONNX_CALIBRATION = ("minmax", "entropy", "percentile")
DEFAULT_ONNX_CALIBRATION = "minmax"
# uint8 activations with pre-processing ran ~1.8x faster than ORT's default int8 activations on v2 here
# (its x86 kernels pair u8 activations with s8 weights): the default, recorded per artifact.
ONNX_ACTIVATIONS = ("uint8", "int8")
DEFAULT_ONNX_ACTIVATIONS = "uint8"
DEFAULT_OPSET = 17
HSWISH_MODES = ("split", "stock")  # MobileNetV3 int8 TFLite: hard-swish split into delegable ops, or stock
DEFAULT_HSWISH = "split"
# a raw detector's post-processing (box decoding + NMS): done by edgekit on the host, or written into the graph
# (TFLite_Detection_PostProcess in TFLite, float decoding + NonMaxSuppression in ONNX)
POSTPROCESS_MODES = ("host", "graph")
DEFAULT_POSTPROCESS = "host"

# Preprocessing: 0..255 RGB pixels -> model input as x * scale + offset (per channel for mean/std).
PREPROCESSING = {
    "minus-one-to-one": (1 / 127.5, -1.0),
    "zero-to-one": (1 / 255.0, 0.0),
    "raw-pixels": (1.0, 0.0),
    "imagenet-mean-std": None,  # (x / 255 - mean) / std, per channel: the torchvision convention
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def preprocessing(name: str, mean=None, std=None) -> tuple:
    """``(scale, offset)`` of a named recipe; each a float, or a 3-tuple for per-channel mean/std."""
    if name not in PREPROCESSING:
        from edgekit.errors import EdgekitError

        raise EdgekitError(f"unknown preprocessing '{name}' (known: {', '.join(PREPROCESSING)})")
    if (mean is not None or std is not None) and name != "imagenet-mean-std":
        from edgekit.errors import EdgekitError

        raise EdgekitError("--mean/--std apply to --preprocess imagenet-mean-std only")
    if name != "imagenet-mean-std":
        return PREPROCESSING[name]
    mean, std = tuple(mean or IMAGENET_MEAN), tuple(std or IMAGENET_STD)
    if len(mean) != 3 or len(std) != 3 or any(s <= 0 for s in std):
        from edgekit.errors import EdgekitError

        raise EdgekitError(f"--mean and --std take three numbers each (R,G,B), std > 0; got {mean} and {std}")
    return (tuple(1 / (255.0 * s) for s in std), tuple(-m / s for m, s in zip(mean, std)))

# How a photo becomes a model's input: its size (data.images.Geometry), channel order and resize policy.
RESIZE_POLICIES = ("stretch", "crop", "letterbox")
CHANNEL_ORDERS = ("rgb", "bgr")

# Default counts and the image pipeline.
DEFAULT_CROP = 0.875  # central crop before resizing: the ImageNet evaluation convention
DEFAULT_CALIB_COUNT = 100
DEFAULT_CHECK_COUNT = 32
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")

# Latency: the plain ``bench`` defaults, and the paired (suite / reference / baseline) ones.
BENCH_DEFAULTS = {"warmup": 10, "runs": 50, "min_time": 1.0, "rounds": 3}
# Paired runs for regress: many short rounds, so each round's reference is timed close by; each
# session is a fresh pair of worker processes (see compare.stats for why several).
# Measured here: the spread between sessions (fresh worker processes) dominates, 4-5% for a 12 ms model, so
# a session is short (4 rounds of at least 0.4 s) and there are many of them.
REGRESS_DEFAULTS = {"runs": 20, "min_time": 0.4, "rounds": 4, "warmup": 10}
REGRESS_SESSIONS = 20  # sessions of a baseline (timed once; the candidate adds sessions until it decides)
MIN_BASELINE_SESSIONS = 4  # fewer is warned: Yuen's interval then rests on 1-2 degrees of freedom
REGRESS_MAX_SESSIONS = 16  # sessions per entry the gate may add before it calls an entry inconclusive
REGRESS_TIME_BUDGET = 900.0  # seconds the gate may spend on a candidate run
LATENCY_HOLD_OUT = (160, 192)  # estimate --fit: the resolutions held out of the fit, to validate it on
LATENCY_WORK = "models/latency-fit"  # estimate --fit and pick --verify: where zoo variants are converted (and kept)
REGRESS_THRESHOLD = 0.05  # the smallest slowdown that fails the gate
CREEP_THRESHOLD = 0.05  # the drift from the oldest kept (or a pinned) baseline that fails it: no looser than one step

# Tasks: what a model's outputs mean (edgekit.tasks registers exactly these; a test keeps the two equal).
TASKS = ("classification", "detection", "segmentation", "tensor")
SCORED_TASKS = ("classification", "detection", "segmentation")  # tasks eval can score on labelled data
