"""Semantic segmentation: a class for every pixel.

Outputs come in three forms, and the task records which (``output_form``):
- ``logits``: (H, W, C) scores (or (C, H, W) from PyTorch), arg-maxed here on the host;
- ``sigmoid``: (H, W, 1) one foreground probability (a portrait or selfie mask): two classes, threshold 0.5
  (0 for logits outside [0, 1]);
- ``class map``: (H, W) class ids, the arg-max already inside the graph (Google's int8 DeepLab models).

Accuracy from one confusion matrix over every scored pixel (255 = ignore): mIoU over the classes present in
the ground truth or the prediction, per-class IoU, pixel accuracy, with the image count. The prediction is
brought back to each mask's own size (nearest neighbour on the class map, the region the model saw only)
rather than the mask shrunk to the model's: scores are of the user's pixels.

Parity of an artifact with its source model: pixel agreement of the two class maps, mIoU of the artifact's
classes taken against the float model's as truth (and which classes moved most), SQNR and max |diff| on
logits; with masked check images also the drop in mIoU points against the ground truth.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from edgekit.errors import DataError, EdgekitError
from edgekit.tasks.base import EXACT, TOLERANCE, Metric, Task, register, shape_of, sqnr_db

from edgekit.data.masks import IGNORE, layout_of, output_form  # noqa: F401  (what a dense output looks like)


def form_of(output) -> tuple[str | None, str | None]:
    """(form, layout) of a ``run.runtime.TensorInfo`` (or a shape)."""
    shape = shape_of(output)
    return (output_form(shape, getattr(output, "dtype", None), bool(getattr(output, "quantized", False))),
            layout_of(shape))


def class_map(values: np.ndarray, form: str, layout: str = "nhwc") -> np.ndarray:
    """(N, H, W) class ids from a batch of outputs in ``form``."""
    if form == "class map":
        return np.rint(values.reshape(values.shape[:3])).astype(np.int64)
    if values.ndim == 4 and layout == "nchw":
        values = np.transpose(values, (0, 2, 3, 1))
    if form == "sigmoid":
        threshold = 0.5 if values.min() >= 0 and values.max() <= 1 else 0.0
        return (values[..., 0] > threshold).astype(np.int64)
    return np.argmax(values, axis=-1)


def _near_ties(values: np.ndarray, form: str, layout: str, margin: float) -> np.ndarray:
    """(N, H, W) True where the two largest logits differ by at most ``margin`` (an arg-max there is a coin toss)."""
    if values.ndim == 4 and layout == "nchw":
        values = np.transpose(values, (0, 2, 3, 1))
    if form == "sigmoid":
        return np.abs(values[..., 0] - (0.5 if values.min() >= 0 and values.max() <= 1 else 0.0)) <= margin
    top2 = -np.partition(-values, 1, axis=-1)[..., :2]
    return (top2[..., 0] - top2[..., 1]) <= margin


def classes_of(shape, form: str, layout: str) -> int | None:
    """How many classes an output distinguishes (None: a class map does not say)."""
    if form == "sigmoid":
        return 2
    if form == "logits":
        return int(shape[3] if layout == "nhwc" else shape[1])
    return None


def confusion(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """(classes x classes) pixel counts, rows = truth, columns = prediction; 255 in ``truth`` is skipped."""
    truth, predicted = truth.reshape(-1).astype(np.int64), predicted.reshape(-1).astype(np.int64)
    keep = truth != IGNORE
    truth, predicted = truth[keep], predicted[keep]
    predicted = np.clip(predicted, 0, classes - 1) if len(predicted) else predicted
    return np.bincount(truth * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def scores(matrix: np.ndarray, names=None) -> dict:
    """mIoU (over classes in the truth or the prediction), per-class IoU and pixel accuracy of a confusion matrix."""
    matrix = matrix.astype(np.float64)
    tp = np.diag(matrix)
    truth, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    union = truth + predicted - tp
    rows, ious = [], []
    for c in range(len(matrix)):
        if union[c] == 0:
            continue
        iou = float(tp[c] / union[c])
        ious.append(iou)
        rows.append({"class": c, "name": names[c] if names is not None and c < len(names) else str(c),
                     "iou": round(iou, 6), "pixels": int(truth[c]), "predicted": int(predicted[c])})
    total = float(matrix.sum())
    return {"miou": float(np.mean(ious)) if ious else None, "pixel_accuracy": float(tp.sum() / total) if total else None,
            "pixels": int(total), "per_class_iou": rows}


def resize_nearest(labels: np.ndarray, height: int, width: int) -> np.ndarray:
    """A class map brought to height x width by nearest neighbour (pixel centres, as PIL's NEAREST)."""
    h, w = labels.shape
    if (h, w) == (height, width):
        return labels
    rows = np.minimum((np.arange(height) + 0.5) * h / height, h - 1).astype(np.int64)
    cols = np.minimum((np.arange(width) + 0.5) * w / width, w - 1).astype(np.int64)
    return labels[rows][:, cols]


def regions(image_hw: tuple[int, int], output_hw: tuple[int, int], geometry) -> tuple[tuple, tuple]:
    """Which part of the image the model saw and where it lies in the output: ((top, left, bottom, right) in the
    image, the same in the output), for the geometry's resize policy (stretch, crop, letterbox)."""
    height, width = image_hw
    oh, ow = output_hw
    policy = getattr(geometry, "resize", "stretch")
    target = geometry.width / geometry.height
    if policy == "crop":
        if width / height > target:
            keep = max(1, round(height * target))
            return (0, (width - keep) // 2, height, (width - keep) // 2 + keep), (0, 0, oh, ow)
        keep = max(1, round(width / target))
        return ((height - keep) // 2, 0, (height - keep) // 2 + keep, width), (0, 0, oh, ow)
    if policy == "letterbox":
        scale = min(geometry.width / width, geometry.height / height)
        iw, ih = max(1, round(width * scale)), max(1, round(height * scale))
        left, top = (geometry.width - iw) // 2, (geometry.height - ih) // 2
        sy, sx = oh / geometry.height, ow / geometry.width
        return (0, 0, height, width), (round(top * sy), round(left * sx), round((top + ih) * sy), round((left + iw) * sx))
    return (0, 0, height, width), (0, 0, oh, ow)


def to_image(labels: np.ndarray, image_hw: tuple[int, int], geometry) -> tuple[np.ndarray, tuple]:
    """One output class map in the image's own pixels: (the map over the region the model saw, that region)."""
    inside, out = regions(image_hw, labels.shape, geometry)
    part = labels[out[0]:out[2], out[1]:out[3]]
    return resize_nearest(part, inside[2] - inside[0], inside[3] - inside[1]), inside


@register
class Segmentation(Task):
    """One dense output: per-pixel logits, a sigmoid mask, or an arg-maxed class map."""

    name = "segmentation"
    description = "a class for every pixel: (H, W, classes) logits, an (H, W, 1) sigmoid mask or an (H, W) class map"
    accuracy = "mIoU"
    metrics = (Metric("miou", "miou_vs_float", ">=", fraction=True),
               Metric("pixels", "pixel_agreement", ">=", fraction=True),
               Metric("sqnr", "sqnr_db", ">=", " dB"),
               Metric("drop", "drop_pts", "<=", " pts"))
    parity_columns = (("max |diff|", "max_abs_diff", ".1e"), ("pixels", "pixel_agreement", ".2%"),
                      ("mIoU/float", "miou_vs_float", ".3f"), ("SQNR", "sqnr_db", ".1f"))
    crop = 1.0  # masks cover the whole frame: no central crop
    dense = True

    @classmethod
    def accepts(cls, outputs: Sequence) -> bool:
        return len(outputs) == 1 and form_of(outputs[0])[0] is not None

    # --- parity ------------------------------------------------------------------------------------

    def parity(self, reference, candidate, precision: str, truth=None) -> dict:
        reference = reference[0] if isinstance(reference, (list, tuple)) else reference
        candidate = candidate[0] if isinstance(candidate, (list, tuple)) else candidate
        shape = (1, *reference.shape[1:])
        form, layout = output_form(shape), layout_of(shape)
        if candidate.shape != reference.shape:
            return {"images": int(len(reference)), "passed": False, "max_abs_diff": float("inf"),
                    "failed": [f"output {list(candidate.shape[1:])} where the source model has {list(reference.shape[1:])}"]}
        ref_map, got_map = class_map(reference, form, layout), class_map(candidate, form, layout)
        classes = classes_of(shape, form, layout) or int(max(ref_map.max(), got_map.max()) + 1)
        agreement = scores(confusion(ref_map, got_map, classes))
        diff = np.abs(reference.astype(np.float64) - candidate)
        result = {"images": int(len(reference)), "output_form": form, "layout": layout, "classes": classes,
                  "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
                  "pixel_agreement": float(np.mean(ref_map == got_map)),
                  "miou_vs_float": round(agreement["miou"], 6) if agreement["miou"] is not None else None,
                  "sqnr_db": round(sqnr_db(reference, candidate), 2) if form != "class map" else None,
                  "moved_classes": sorted(agreement["per_class_iou"], key=lambda r: r["iou"])[:5]}
        if truth is not None:
            masks = [resize_nearest(m, *ref_map.shape[1:]) for m in truth]
            ref_truth = scores(sum(confusion(m, p, classes) for m, p in zip(masks, ref_map)))
            got_truth = scores(sum(confusion(m, p, classes) for m, p in zip(masks, got_map)))
            if ref_truth["miou"] is not None:
                result.update(reference_miou=round(ref_truth["miou"], 6), miou=round(got_truth["miou"], 6),
                              drop_pts=round(100 * (ref_truth["miou"] - got_truth["miou"]), 2))
        if precision in EXACT:
            # A dense output holds H x W x C values per image where a classifier has C: float32 reassociation
            # leaves a larger largest error. deeplabv3-v2 (513x513x21, random weights, logits within +-4.7): max
            # |diff| 1.7e-4 against Keras over 4 images, 2.3e-4 over 8, mean 1.6e-5, the same with oneDNN off;
            # lraspp-v3-small (512x512x19): 2.2e-5. So the tolerance is 1e-4 of the logits' range (at least 1e-4).
            result["tolerance"] = TOLERANCE[precision] * max(1.0, float(np.abs(reference).max()))
            # A pixel whose two best logits lie within the tolerance is a tie: float reassociation may flip it
            # (lraspp-v3-small, random weights, 22 check images of 512x512: 4 of 5.8 M pixels at 2e-5 max |diff|).
            # Float parity is every other pixel agreeing.
            ties = _near_ties(reference, form, layout, 2 * result["tolerance"]) if form == "logits" else None
            differ = ref_map != got_map
            result["disagreeing_pixels"] = int(differ.sum())
            result["disagreeing_beyond_ties"] = int((differ & ~ties).sum()) if ties is not None else int(differ.sum())
            result["passed"] = bool(result["max_abs_diff"] <= result["tolerance"] and
                                    (precision != "float" or result["disagreeing_beyond_ties"] == 0))
        else:
            result["passed"] = None
        return result

    def failure(self, result: dict) -> str:
        return (f"max |output diff| {result['max_abs_diff']:.3g} (tolerance {result.get('tolerance', 0):.3g}), "
                f"{result.get('disagreeing_beyond_ties', 0)} pixels of another class beyond near-ties")

    def truth(self, images, class_names=None, classes: int | None = None):
        """The check images' masks (in their own size) when they come from segmentation data, else None."""
        if images is None or images.synthetic:
            return None
        from pathlib import Path

        from edgekit.data.masks import is_segmentation_data, segmentation_dataset

        if not is_segmentation_data(images.source):
            return None
        try:
            dataset = segmentation_dataset(images.source, class_names)
        except DataError:
            return None
        index = {image.resolve(): i for i, image in enumerate(dataset.images)}
        base = Path(images.source)
        found = [index.get((base.parent if base.is_file() else base).joinpath(f).resolve()) for f in images.files]
        if not found or any(i is None for i in found):
            return None
        return [dataset.mask(i, classes) for i in found]

    # --- evaluation ------------------------------------------------------------------------------

    def evaluate(self, infer, load, data, *, outputs, limit=None, progress=None, class_names=None,
                 model_name: str = "the model", geometry=None, overlay=None) -> tuple[dict, np.ndarray]:
        """Score a segmenter on ``data`` (``data.masks`` layouts): ``infer(pixels)`` gives one image's outputs,
        ``load(path)`` one image's pixels for the model. ``overlay(image path, mask, prediction)`` is called per
        image when pictures are wanted. Returns the metrics and a digest array of every prediction."""
        from edgekit.data.masks import image_size, is_segmentation_data, segmentation_dataset

        if not is_segmentation_data(data):
            raise EdgekitError(f"{data}: segmentation data is a folder with images/ and masks/ (the same stems), a "
                               f"COCO JSON file, or a PASCAL VOC tree (JPEGImages/ + SegmentationClass/)")
        shape = shape_of(outputs[0])
        form, layout = form_of(outputs[0])
        classes = classes_of(shape, form, layout)
        if class_names is not None and classes is not None and len(class_names) != classes:
            raise EdgekitError(f"--labels names {len(class_names)} classes, but {model_name} outputs {classes}")
        dataset = segmentation_dataset(data, class_names)
        samples = range(len(dataset.samples))
        samples = list(samples)[:limit] if limit else list(samples)
        counted = classes or (len(class_names) if class_names else None)
        matrices, digests = {}, []
        for i in (progress(samples) if progress else samples):
            image = dataset.samples[i][0]
            mask = dataset.mask(i, counted)
            predicted = class_map(np.asarray(infer(load(image))[0])[None], form, layout)[0]
            if counted is not None and predicted.max(initial=0) >= counted:
                raise EdgekitError(f"{model_name} predicts class id {int(predicted.max())} on {image.name}, but "
                                   f"{'--labels names' if class_names else 'it has'} {counted} classes")
            mapped, (top, left, bottom, right) = to_image(predicted, image_size(image), geometry)
            seen = mask[top:bottom, left:right]
            width = counted or int(max(mapped.max(initial=0), seen[seen != IGNORE].max(initial=0)) + 1)
            matrices[i] = (seen, mapped, width)
            digests.append(np.frombuffer(hashlib.sha256(np.ascontiguousarray(mapped, np.int64).tobytes()).digest(),
                                         np.uint8).astype(np.float32))
            if overlay is not None:
                full = np.full(mask.shape, IGNORE, np.uint8)
                full[top:bottom, left:right] = np.clip(mapped, 0, 254)
                overlay(image, mask, full)
        width = counted or max(w for _, _, w in matrices.values())
        total = sum(confusion(seen, mapped, width) for seen, mapped, _ in matrices.values())
        names = list(class_names) if class_names else None
        metrics = {"count": len(samples), **scores(total, names), "classes": width, "output_form": form,
                   "layout": dataset.layout, "class_names": names, "data_notes": dataset.notes,
                   "arg_max": "in the graph" if form == "class map" else "on the host",
                   "resize": "prediction to each mask's size, nearest neighbour, on the host",
                   "confusion_pixels": total.tolist() if width <= 40 else None}
        if counted is None:
            metrics["data_notes"] = [*dataset.notes, f"classes: {width}, the largest id in the masks or predictions "
                                                      f"(a class map does not say; --labels names them)"]
        return metrics, np.concatenate(digests) if digests else np.zeros(0, np.float32)
