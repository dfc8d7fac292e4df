"""Object detection: boxes, classes, scores and a count per image.

Two output forms, recorded as ``output_form``:
- ``raw``: the head's two outputs before post-processing, box encodings (1, anchors, 4) as [ty, tx, th, tw]
  for the faster-RCNN box coder (scales 10, 10, 5, 5) and class scores (1, anchors, classes [+ background
  first]), decoded here against the model's anchors (the OD API's SSD anchor generator, whose layout the
  zoo's sidecar records), then one class-agnostic non-maximum suppression as TFLite's
  ``TFLite_Detection_PostProcess`` runs it by default ("fast NMS": each anchor ranked by its best class).
- ``post-processed``: four outputs as ``TFLite_Detection_PostProcess`` gives them, boxes (1, M, 4)
  [ymin, xmin, ymax, xmax] normalised, classes (1, M), scores (1, M), count (1,).

Accuracy is COCO's: mAP@[.5:.95], mAP@.5, AP per class and recall computed by pycocotools' own COCOeval
(the reference implementation; no hand-written AP), with the image count. Parity of an artifact with its
source model: max |diff| and SQNR on the raw outputs, the matched-box IoU and score error of the decoded
detections, and with COCO-annotated check images the drop in mAP points.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from edgekit.errors import DataError, EdgekitError
from edgekit.tasks.base import EXACT, TOLERANCE, Metric, Task, register, shape_of, sqnr_db

BOX_SCALES = (10.0, 10.0, 5.0, 5.0)  # y, x, h, w: the OD API's faster_rcnn_box_coder in every SSDLite config
NMS_IOU = 0.6
MAX_DETECTIONS = 100
SCORE_THRESHOLD = 1e-8  # the OD API's batch_non_max_suppression
MATCH_SCORE = 0.3  # parity: reference detections at least this confident are matched to the artifact's
MATCH_TOP = 10  # ... or, when none is that confident, each image's best this many
# in-graph post-processing: the mean |score difference| of matched boxes allowed (scores are in 0..1)
IN_GRAPH_SCORE_TOLERANCE = {"float": 1e-4, "fp16": 1e-2}


# --- anchors and the box coder ------------------------------------------------------------------------

def ssd_anchors(feature_maps, per_cell=(3, 6, 6, 6, 6, 6), min_scale: float = 0.2, max_scale: float = 0.95,
                aspect_ratios=(1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)) -> np.ndarray:
    """(anchors, 4) [yc, xc, h, w] normalised, in the OD API's order (``ssd_anchor_generator`` with
    ``reduce_boxes_in_lowest_layer``: 3 boxes on the first map, the 5 ratios + one interpolated scale elsewhere;
    centres at ((i + 0.5) / H, (j + 0.5) / W); not clipped). 2034 anchors at 320 px."""
    layers = len(feature_maps)
    scales = [min_scale + (max_scale - min_scale) * i / (layers - 1) for i in range(layers)] + [1.0]
    out = []
    for index, ((gh, gw), count) in enumerate(zip(feature_maps, per_cell)):
        s, s_next = scales[index], scales[index + 1]
        specs = [(0.1, 1.0), (s, 2.0), (s, 0.5)] if index == 0 and count == 3 else \
            [(s, a) for a in aspect_ratios] + [(float(np.sqrt(s * s_next)), 1.0)]
        scale = np.array([p[0] for p in specs])
        root = np.sqrt([p[1] for p in specs])
        y, x, h = np.meshgrid((np.arange(gh) + 0.5) / gh, (np.arange(gw) + 0.5) / gw, scale / root, indexing="ij")
        w = np.meshgrid((np.arange(gh) + 0.5) / gh, (np.arange(gw) + 0.5) / gw, scale * root, indexing="ij")[2]
        out.append(np.stack([y, x, h, w], -1).reshape(-1, 4))
    return np.concatenate(out).astype(np.float32)


def decode(encodings: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """(..., anchors, 4) [ty, tx, th, tw] -> [ymin, xmin, ymax, xmax] (TFLite's detection_postprocess.cc)."""
    ty, tx, th, tw = (encodings[..., i] / BOX_SCALES[i] for i in range(4))
    ya, xa, ha, wa = anchors[:, 0], anchors[:, 1], anchors[:, 2], anchors[:, 3]
    yc, xc = ty * ha + ya, tx * wa + xa
    h, w = np.exp(th) * ha, np.exp(tw) * wa
    return np.stack([yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2], -1)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (n, 4) with every box of ``b`` (m, 4), [ymin, xmin, ymax, xmax]."""
    top = np.maximum(a[:, None, 0], b[None, :, 0])
    left = np.maximum(a[:, None, 1], b[None, :, 1])
    bottom = np.minimum(a[:, None, 2], b[None, :, 2])
    right = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(bottom - top, 0, None) * np.clip(right - left, 0, None)
    area = lambda x: np.clip(x[:, 2] - x[:, 0], 0, None) * np.clip(x[:, 3] - x[:, 1], 0, None)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU, limit: int = MAX_DETECTIONS) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while len(order) and len(keep) < limit:
        best = order[0]
        keep.append(int(best))
        if len(order) == 1:
            break
        overlap = iou_matrix(boxes[best][None], boxes[order[1:]])[0]
        order = order[1:][overlap <= iou]
    return np.array(keep, dtype=np.int64)


@dataclass(frozen=True)
class Detections:
    """One image's detections: boxes (n, 4) [ymin, xmin, ymax, xmax] normalised, class indices (the model's own,
    background excluded), scores."""

    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray


def postprocess(boxes: np.ndarray, scores: np.ndarray, background: bool) -> Detections:
    """One image's decoded boxes (anchors, 4) and class scores (anchors, K) -> detections (fast NMS)."""
    scores = scores[:, 1:] if background else scores
    best = scores.argmax(axis=1)
    top = scores[np.arange(len(scores)), best]
    chosen = np.flatnonzero(top > SCORE_THRESHOLD)
    kept = chosen[nms(boxes[chosen], top[chosen])] if len(chosen) else chosen
    return Detections(boxes[kept].astype(np.float32), best[kept], top[kept].astype(np.float32))


# --- the output forms --------------------------------------------------------------------------------

def output_form(outputs: Sequence) -> tuple[str | None, tuple[int, ...]]:
    """("raw" | "post-processed" | None, the outputs' roles in order): raw = (boxes, scores); post-processed =
    (boxes, classes, scores, count), the classes told from the scores by their values later (see ``split``)."""
    shapes = [shape_of(o) for o in outputs]
    if len(shapes) == 2 and all(len(s) == 3 for s in shapes) and shapes[0][1] == shapes[1][1]:
        four = [i for i, s in enumerate(shapes) if s[2] == 4]
        if four and any(s[2] >= 2 for i, s in enumerate(shapes) if i != four[0]):
            other = 1 - four[0]
            return "raw", (four[0], other)
    if len(shapes) == 4:
        boxes = [i for i, s in enumerate(shapes) if len(s) == 3 and s[2] == 4]
        count = [i for i, s in enumerate(shapes) if int(np.prod(s[1:])) == 1 and len(s) <= 2]
        flat = [i for i, s in enumerate(shapes) if len(s) == 2 and s[1] > 1]
        if len(boxes) == 1 and len(count) == 1 and len(flat) == 2:
            return "post-processed", (boxes[0], flat[0], flat[1], count[0])
    return None, ()


def split(values: list[np.ndarray], form: str, roles: tuple[int, ...]):
    """The outputs of one batch in role order; for the post-processed form the classes are the pair's
    whole-number array (TFLite gives both as float32)."""
    if form == "raw":
        return values[roles[0]], values[roles[1]]
    boxes, a, b, count = (values[i] for i in roles)
    a_whole = np.all(a == np.round(a))
    b_whole = np.all(b == np.round(b))
    classes, scores = (a, b) if a_whole and not b_whole else (b, a) if b_whole and not a_whole else (a, b)
    return boxes, classes, scores, count


# --- COCO evaluation, by pycocotools ---------------------------------------------------------------------

def coco_ground_truth(path):
    """pycocotools' COCO index of an annotations file, quietly (it prints), with one line for a broken file."""
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        try:
            return COCO(str(path))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"cannot read COCO annotations {path}: {exc}") from None


def voc_ground_truth(folder):
    """A Pascal VOC detection folder (``Annotations/*.xml`` with ``JPEGImages/``, or the images beside the XML) as
    pycocotools' COCO index, so the same COCOeval scores it: VOC's 1-based inclusive pixel boxes become COCO's
    [x, y, w, h]; ``difficult`` objects are marked crowd, which COCOeval ignores as VOC's own evaluation does.
    Returns (index, image paths by id)."""
    import xml.etree.ElementTree as ET
    from pathlib import Path

    from pycocotools.coco import COCO

    folder = Path(folder)
    notes = folder / "Annotations"
    files = sorted(notes.glob("*.xml")) if notes.is_dir() else sorted(folder.glob("*.xml"))
    if not files:
        raise DataError(f"{folder}: no Pascal VOC annotations (Annotations/*.xml)")
    split = folder / "ImageSets" / "Main" / "val.txt"
    if split.is_file():  # the val split when the folder names one
        wanted = {line.strip() for line in split.read_text().splitlines() if line.strip()}
        files = [f for f in files if f.stem in wanted]
    images, annotations, names, by_id = [], [], {}, {}
    for image_id, xml in enumerate(files, start=1):
        try:
            root = ET.parse(xml).getroot()
            name = root.findtext("filename") or f"{xml.stem}.jpg"
            width, height = int(root.findtext("size/width")), int(root.findtext("size/height"))
        except (ET.ParseError, TypeError, ValueError) as exc:
            raise DataError(f"{xml}: not a Pascal VOC annotation ({exc})") from None
        image = next((c for c in (folder / "JPEGImages" / name, xml.parent / name, folder / name) if c.is_file()), None)
        if image is None:
            raise DataError(f"{xml.name}: its image {name} is not in {folder / 'JPEGImages'}")
        images.append({"id": image_id, "file_name": name, "width": width, "height": height})
        by_id[image_id] = image
        for obj in root.findall("object"):
            label = (obj.findtext("name") or "").strip()
            try:
                x1, y1, x2, y2 = (float(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax"))
            except (TypeError, ValueError):
                raise DataError(f"{xml.name}: object '{label}' has no numeric bndbox") from None
            category = names.setdefault(label, len(names) + 1)
            box = [x1 - 1, y1 - 1, x2 - x1 + 1, y2 - y1 + 1]
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category,
                                "bbox": box, "area": box[2] * box[3],
                                "iscrowd": int((obj.findtext("difficult") or "0").strip() == "1")})
    index = COCO()
    index.dataset = {"images": images, "annotations": annotations,
                     "categories": [{"id": i, "name": n} for n, i in names.items()]}
    with contextlib.redirect_stdout(io.StringIO()):
        index.createIndex()
    return index, by_id


def coco_scores(ground_truth, results: list[dict], image_ids: list[int], categories: list[int] | None = None) -> dict:
    """mAP@[.5:.95], mAP@.5, mAP@.75, AR@100 and per-category AP and recall, by pycocotools' COCOeval."""
    from pycocotools.cocoeval import COCOeval

    categories = categories or sorted(ground_truth.getCatIds())
    with contextlib.redirect_stdout(io.StringIO()):
        if results:
            found = ground_truth.loadRes(results)
        else:  # pycocotools cannot load an empty result list: score nothing found as 0
            return {"map": 0.0, "map50": 0.0, "map75": 0.0, "recall": 0.0, "detections": 0,
                    "per_class_ap": [{"category_id": c, "name": ground_truth.cats[c]["name"], "ap": 0.0,
                                      "ap50": 0.0, "recall": 0.0} for c in categories]}
        evaluator = COCOeval(ground_truth, found, "bbox")
        evaluator.params.imgIds = list(image_ids)
        evaluator.params.catIds = list(categories)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    precision = evaluator.eval["precision"]  # (T iou thresholds, R recall points, K categories, A areas, M maxDets)
    recall = evaluator.eval["recall"]  # (T, K, A, M)
    rows = []
    for k, category in enumerate(categories):
        p = precision[:, :, k, 0, -1]
        p50 = precision[0, :, k, 0, -1]
        r = recall[:, k, 0, -1]
        rows.append({"category_id": int(category), "name": ground_truth.cats[category]["name"],
                     "ap": float(np.mean(p[p > -1])) if (p > -1).any() else None,
                     "ap50": float(np.mean(p50[p50 > -1])) if (p50 > -1).any() else None,
                     "recall": float(np.mean(r[r > -1])) if (r > -1).any() else None})
    stats = evaluator.stats
    return {"map": float(max(stats[0], 0)), "map50": float(max(stats[1], 0)), "map75": float(max(stats[2], 0)),
            "recall": float(max(stats[8], 0)), "detections": len(results), "per_class_ap": rows}


from edgekit.data.masks import SYNONYMS as _COCO_TO_VOC  # noqa: E402  (one table of the six spellings)

SYNONYMS = {voc: coco for coco, voc in _COCO_TO_VOC.items()}  # PASCAL's spelling -> COCO's


def category_map(class_names, ground_truth) -> tuple[dict, list[str]]:
    """{model class index: COCO category id} by name (PASCAL's spellings of six classes too), and the data's
    categories the model has no class for."""
    by_name = {str(c["name"]).strip().lower(): c["id"] for c in ground_truth.dataset["categories"]}
    mapping = {}
    for index, name in enumerate(class_names):
        key = str(name).strip().lower()
        key = key if key in by_name else SYNONYMS.get(key, key)
        if key in by_name:
            mapping[index] = by_name[key]
    missing = [c["name"] for c in ground_truth.dataset["categories"] if c["id"] not in mapping.values()]
    return mapping, missing


def check_annotations(ground_truth, images_by_id: dict) -> None:
    """One line of DataError for annotations that cannot be scored: an unknown category id, a box outside its
    image, an image whose size disagrees with its file."""
    from edgekit.data.masks import image_size

    known = set(ground_truth.getCatIds())
    for ann in ground_truth.dataset.get("annotations", []):
        if ann.get("category_id") not in known:
            raise DataError(f"annotation {ann.get('id')} has category id {ann.get('category_id')}, which the file's "
                            f"categories do not list ({', '.join(map(str, sorted(known)))})")
        info = ground_truth.imgs.get(ann.get("image_id"))
        if info is None:
            raise DataError(f"annotation {ann.get('id')} is of image id {ann.get('image_id')}, which the file's images "
                            f"do not list")
        x, y, w, h = ann["bbox"]
        slack = 1.0  # COCO's own boxes reach a pixel past the border now and then
        if x < -slack or y < -slack or x + w > info["width"] + slack or y + h > info["height"] + slack or w < 0 or h < 0:
            raise DataError(f"annotation {ann.get('id')}: box {[round(v, 1) for v in ann['bbox']]} lies outside its "
                            f"image {info['file_name']} ({info['width']}x{info['height']})")
    for image_id, path in images_by_id.items():
        info = ground_truth.imgs[image_id]
        height, width = image_size(path)
        if (height, width) != (info["height"], info["width"]):
            raise DataError(f"{path.name} is {width}x{height} but the annotations say {info['width']}x{info['height']}: "
                            f"they are not of this image")


def to_coco(found: Detections, size: tuple[int, int], image_id: int, mapping: dict) -> list[dict]:
    """One image's detections as COCO results (pixel [x, y, w, h], clipped to the image), mapped classes only."""
    height, width = size
    out = []
    for box, cls, score in zip(found.boxes, found.classes, found.scores):
        if int(cls) not in mapping:
            continue
        y0, x0, y1, x1 = np.clip(box, 0, 1) * [height, width, height, width]
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            continue
        out.append({"image_id": int(image_id), "category_id": int(mapping[int(cls)]),
                    "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)], "score": float(score)})
    return out


@register
class Detection(Task):
    """Boxes out: the raw head (box encodings + class scores) or a post-processed (boxes, classes, scores, count)."""

    name = "detection"
    description = ("boxes out: raw box encodings (1, anchors, 4) with class scores (1, anchors, classes), or "
                   "TFLite_Detection_PostProcess's boxes, classes, scores and count")
    accuracy = "mAP"
    metrics = (Metric("iou", "box_iou", ">=", fraction=True), Metric("sqnr", "sqnr_db", ">=", " dB"),
               Metric("drop", "drop_pts", "<=", " pts"))
    parity_columns = (("max |diff|", "max_abs_diff", ".1e"), ("box IoU", "box_iou", ".3f"),
                      ("score err", "score_error", ".3f"), ("SQNR", "sqnr_db", ".1f"))
    crop = 1.0  # boxes are of the whole frame

    def __init__(self, anchors: dict | None = None, class_names=None):
        self.anchor_spec = anchors
        self.class_names = tuple(class_names) if class_names else None

    @classmethod
    def accepts(cls, outputs: Sequence) -> bool:
        return output_form(outputs)[0] is not None

    def for_model(self, model: dict | None) -> "Detection":
        """This task with a model's anchors and class names (a sidecar's or a zoo spec's ``model`` record)."""
        model = model or {}
        return Detection(model.get("anchors") or self.anchor_spec, model.get("class_names") or self.class_names)

    def describe(self) -> dict:
        return {"task": self.name, "anchors": self.anchor_spec}

    def check_outputs(self, outputs, name: str) -> None:
        """Refuse a detector whose post-processing cannot run: raw outputs without anchors (shapes without the
        batch, as a user model lists them)."""
        form, roles = output_form([(1, *o) for o in outputs])
        if form == "raw" and not self.anchor_spec:
            raise EdgekitError(f"{name} outputs raw box encodings {list(outputs[roles[0]])} and scores "
                               f"{list(outputs[roles[1]])}: decoding them needs the model's anchors: pass --anchors "
                               f"FILE (JSON feature_maps), or put TFLite_Detection_PostProcess in the graph")
        if form == "raw":
            self.anchors(outputs[roles[0]][0])

    def in_graph(self, shapes) -> dict:
        """What writing the post-processing into the graph needs (``--postprocess graph``): the anchors (N, 4)
        [yc, xc, h, w], which outputs are the encodings and the scores, the class count and whether a background
        column comes first, and the NMS settings edgekit decodes with on the host (so both forms agree)."""
        form, roles = output_form(shapes)
        if form != "raw":
            raise EdgekitError("--postprocess graph: the model's outputs are already post-processed "
                               f"({[list(s[1:]) for s in shapes]})")
        encodings, scores = shapes[roles[0]], shapes[roles[1]]
        background = self.class_names is not None and scores[2] == len(self.class_names) + 1
        return {"anchors": self.anchors(encodings[1]), "roles": roles, "background": background,
                "num_classes": int(scores[2]) - int(background), "max_detections": MAX_DETECTIONS, "iou": NMS_IOU,
                "score": SCORE_THRESHOLD, "scales": BOX_SCALES}

    # --- detections from outputs ---------------------------------------------------------------------

    def anchors(self, count: int) -> np.ndarray:
        if not self.anchor_spec:
            raise EdgekitError("raw detector outputs (box encodings and class scores) need their anchors, and this "
                               "model does not record them: export the post-processing into the graph "
                               "(TFLite_Detection_PostProcess) or convert it with edgekit, whose zoo detectors "
                               "record theirs")
        spec = self.anchor_spec
        anchors = ssd_anchors([tuple(m) for m in spec["feature_maps"]], tuple(spec.get("per_cell", (3, 6, 6, 6, 6, 6))),
                              spec.get("min_scale", 0.2), spec.get("max_scale", 0.95))
        if len(anchors) != count:
            raise EdgekitError(f"the recorded anchors number {len(anchors)}, but the model outputs {count} boxes")
        return anchors

    def detections(self, outputs: list[np.ndarray], shapes) -> list[Detections]:
        """Every image's detections from a batch of outputs (one array per output, images first)."""
        form, roles = output_form(shapes)
        if form == "raw":
            encodings, scores = split(outputs, form, roles)
            anchors = self.anchors(encodings.shape[1])
            background = self.class_names is not None and scores.shape[2] == len(self.class_names) + 1
            boxes = decode(encodings.astype(np.float64), anchors.astype(np.float64))
            return [postprocess(b, s, background) for b, s in zip(boxes, scores)]
        boxes, classes, scores, count = split(outputs, form, roles)
        out = []
        for b, c, s, n in zip(boxes, classes, scores, count.reshape(len(boxes), -1)):
            n = int(round(float(n[0])))
            out.append(Detections(b[:n].astype(np.float32), np.rint(c[:n]).astype(np.int64), s[:n].astype(np.float32)))
        return out

    # --- parity -------------------------------------------------------------------------------------

    def parity(self, reference, candidate, precision: str, truth=None) -> dict:
        reference = list(reference) if isinstance(reference, (list, tuple)) else [reference]
        candidate = list(candidate) if isinstance(candidate, (list, tuple)) else [candidate]
        shapes = [(1, *r.shape[1:]) for r in reference]
        got_shapes = [(1, *c.shape[1:]) for c in candidate]
        in_graph = output_form(shapes)[0] == "raw" and output_form(got_shapes)[0] == "post-processed"
        if not in_graph and (len(candidate) != len(reference) or
                             any(c.shape != r.shape for c, r in zip(candidate, reference))):
            return {"images": int(len(reference[0])), "passed": False, "max_abs_diff": float("inf"),
                    "failed": [f"outputs {[list(c.shape[1:]) for c in candidate]} where the source model has "
                               f"{[list(r.shape[1:]) for r in reference]}"]}
        form, _ = output_form(got_shapes)
        # post-processing in the artifact's graph: its detections are held to the source's raw outputs decoded here
        diff = None if in_graph else max(float(np.abs(r.astype(np.float64) - c).max())
                                         for r, c in zip(reference, candidate))
        ref, got = self.detections(reference, shapes), self.detections(candidate, got_shapes)
        ious, errors, matched, considered = [], [], 0, 0
        # a weak (briefly trained) detector may score nothing >= MATCH_SCORE: then each image's best MATCH_TOP
        # detections are matched, and the result says so
        floor = MATCH_SCORE if any((a.scores >= MATCH_SCORE).any() for a in ref) else None
        for a, b in zip(ref, got):
            confident = a.scores >= floor if floor is not None else np.isin(
                np.arange(len(a.scores)), np.argsort(-a.scores, kind="stable")[:MATCH_TOP])
            considered += int(confident.sum())
            for box, cls, score in zip(a.boxes[confident], a.classes[confident], a.scores[confident]):
                same = b.classes == cls
                if not same.any():
                    ious.append(0.0)
                    continue
                overlap = iou_matrix(box[None], b.boxes[same])[0]
                best = int(np.argmax(overlap))
                ious.append(float(overlap[best]))
                errors.append(abs(float(score) - float(b.scores[same][best])))
                matched += overlap[best] >= 0.5
        result = {"images": int(len(reference[0])), "output_form": form, "max_abs_diff": diff,
                  "sqnr_db": round(min(sqnr_db(r, c) for r, c in zip(reference, candidate)), 2)
                  if form == "raw" and not in_graph else None,
                  **({"compared": "the artifact's in-graph post-processing against the source's raw outputs decoded "
                                  "by edgekit (boxes matched by IoU, same class)"} if in_graph else {}),
                  "box_iou": round(float(np.mean(ious)), 6) if ious else None,
                  "score_error": round(float(np.mean(errors)), 6) if errors else None,
                  "matched": f"{matched}/{considered} " + (f"detections of score >= {MATCH_SCORE}" if floor is not None
                                                             else f"best {MATCH_TOP} detections per image (none scored "
                                                                  f">= {MATCH_SCORE})") + " (IoU >= 0.5, same class)",
                  "detections": int(sum(len(d.scores) for d in ref))}
        if truth is not None:
            ref_map = self._map(ref, truth)
            got_map = self._map(got, truth)
            result.update(reference_map=round(ref_map, 6), map=round(got_map, 6),
                          drop_pts=round(100 * (ref_map - got_map), 2))
        if precision in EXACT:
            # Box encodings and scores of thousands of anchors: float32 reassociation leaves up to 6.4e-4 at a range
            # of 6.25 (ssdlite-v2-0.35-160, random weights), so 1e-3 of the range, as the tensor task allows, with
            # the decoded boxes (IoU >= 0.99) the decisive check.
            scale = max(1.0, max(float(np.abs(r).max()) for r in reference))
            result["tolerance"] = 10 * TOLERANCE[precision] * scale
            boxes_agree = result["box_iou"] is None or result["box_iou"] >= 0.99
            if in_graph:  # no raw outputs to hold to a tolerance: the matched boxes and their scores decide
                result["tolerance"] = IN_GRAPH_SCORE_TOLERANCE[precision]
                result["passed"] = bool(boxes_agree and (result["score_error"] is None or
                                                         result["score_error"] <= result["tolerance"]))
            else:
                result["passed"] = bool(diff <= result["tolerance"] and boxes_agree)
        else:
            result["passed"] = None
        return result

    def fallback_floor(self, real_weights: bool):
        """With post-processing in the graph no raw output is left to take SQNR of: the matched boxes are judged
        (IoU floors measured here: int8 of random-weight heads 0.32-0.55, of the trained demo head 0.94). Returns
        the floor as --require spells it, and why."""
        floor = 0.8 if real_weights else 0.2
        return (f"iou>={floor}",
                f"post-processing in the graph leaves no raw outputs for SQNR: judged on matched-box IoU >= {floor} "
                f"({'real' if real_weights else 'random'} weights)")

    def failure(self, result: dict) -> str:
        if result.get("max_abs_diff") is None:
            return (f"in-graph post-processing: matched-box IoU {result.get('box_iou')}, score error "
                    f"{result.get('score_error')} (tolerance {result.get('tolerance', 0):.3g})")
        return (f"max |output diff| {result['max_abs_diff']:.3g} (tolerance {result.get('tolerance', 0):.3g}), "
                f"matched-box IoU {result.get('box_iou')}")

    def truth(self, images, class_names=None, classes: int | None = None):
        """The check images' COCO annotations (when they come from a COCO JSON file): what mAP is scored on."""
        from pathlib import Path

        if images is None or images.synthetic or Path(images.source).suffix.lower() != ".json":
            return None
        names = class_names or self.class_names
        if not names:
            return None
        ground_truth = coco_ground_truth(images.source)
        mapping, _ = category_map(names, ground_truth)
        by_file = {Path(info["file_name"]).name: image_id for image_id, info in ground_truth.imgs.items()}
        ids = [by_file.get(Path(f).name) for f in images.files]
        if not mapping or any(i is None for i in ids):
            return None
        return {"ground_truth": ground_truth, "image_ids": ids, "mapping": mapping}

    def _map(self, found: list[Detections], truth: dict) -> float:
        gt = truth["ground_truth"]
        results = []
        for detections, image_id in zip(found, truth["image_ids"]):
            info = gt.imgs[image_id]
            results += to_coco(detections, (info["height"], info["width"]), image_id, truth["mapping"])
        return coco_scores(gt, results, truth["image_ids"], sorted(set(truth["mapping"].values())))["map"]

    # --- evaluation ----------------------------------------------------------------------------------

    def evaluate(self, infer, load, data, *, outputs, limit=None, progress=None, class_names=None,
                 model_name: str = "the model", geometry=None, overlay=None) -> tuple[dict, np.ndarray]:
        """Score a detector on a COCO JSON file (images beside it or in images/ beside it) or a Pascal VOC folder
        (Annotations/*.xml, JPEGImages/) with pycocotools."""
        from pathlib import Path

        from edgekit.data.masks import coco_images  # the one COCO image resolver

        voc = Path(data).is_dir()
        if not voc and Path(data).suffix.lower() != ".json":
            raise EdgekitError(f"{data}: detection data is a COCO JSON file (instances_*.json, the images beside it or "
                               f"in images/ beside it) or a Pascal VOC folder (Annotations/*.xml, JPEGImages/)")
        names = list(class_names) if class_names else (list(self.class_names) if self.class_names else None)
        if not names:
            raise EdgekitError(f"{model_name}: its classes must be named to match COCO's categories: pass --labels FILE "
                               f"(one class name per line, in output order, background not included)")
        if getattr(geometry, "resize", "stretch") not in ("stretch", None):
            raise EdgekitError(f"{model_name}: detection is scored on stretched inputs; its geometry asks for "
                               f"'{geometry.resize}'")
        if voc:
            ground_truth, by_id = voc_ground_truth(data)
            paths = list(by_id.values())
            sizes = {by_id[i]: (info["height"], info["width"]) for i, info in ground_truth.imgs.items()}
        else:
            paths, sizes, extra = coco_images(Path(data))
            ground_truth, by_id = coco_ground_truth(data), extra["by_id"]
        ids_by_path = {path: image_id for image_id, path in by_id.items()}
        check_annotations(ground_truth, by_id)
        mapping, missing = category_map(names, ground_truth)
        if not mapping:
            raise EdgekitError(f"none of {Path(data).name}'s categories "
                               f"({', '.join(str(c['name']) for c in ground_truth.dataset['categories'])}) is a class "
                               f"of {model_name}")
        shapes = [shape_of(o) for o in outputs]
        paths = paths[:limit] if limit else paths
        results, digests = [], []
        for path in (progress(paths) if progress else paths):
            values = [np.asarray(v)[None] for v in infer(load(path))]
            (found,) = self.detections(values, shapes)
            results += to_coco(found, sizes[path], ids_by_path[path], mapping)
            digests.append(np.concatenate([found.boxes.reshape(-1), found.scores, found.classes.astype(np.float32)]))
        image_ids = [ids_by_path[p] for p in paths]
        categories = sorted(set(mapping.values()))
        metrics = coco_scores(ground_truth, results, image_ids, categories)
        form, _ = output_form(shapes)
        notes = [f"categories matched by name: " + ", ".join(f"{names[i]}->{c}" for i, c in sorted(mapping.items())
                                                              if c in categories)]
        if missing:
            notes.append(f"categories the model has no class for (not scored): {', '.join(map(str, missing))}")
        if voc:
            notes.append("Pascal VOC XML read as COCO boxes (1-based inclusive pixels; difficult objects ignored, as "
                         "crowd); scored by COCOeval: mAP@.5 is VOC's metric but with COCO's 101-point interpolation")
        metrics.update(count=len(paths), output_form=form, layout="Pascal VOC XML" if voc else "COCO JSON",
                       data_notes=notes,
                       post_processing=("in the graph (TFLite_Detection_PostProcess)" if form == "post-processed"
                                        else f"on the host: SSD box decoding, class-agnostic NMS at IoU {NMS_IOU}, "
                                             f"{MAX_DETECTIONS} detections at most"),
                       evaluator="pycocotools COCOeval (bbox)")
        return metrics, (np.concatenate(digests) if digests else np.zeros(0, np.float32))
