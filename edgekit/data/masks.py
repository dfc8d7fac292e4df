"""Segmentation data: images with class masks, read from three layouts.

- ``DIR/images/`` + ``DIR/masks/``: one mask per image with the same stem (``x.jpg`` + ``x.png``); a mask is a
  class-index image (a palette or greyscale PNG or BMP: the pixel value is the class id, 255 = ignore).
- A COCO JSON file (``instances_val.json``): polygons and RLE rasterised with pycocotools; categories are
  matched to the model's classes by name (``--labels``), unannotated pixels are class 0 (background), crowd
  regions and pixels where objects of different classes overlap are ignored (255). COCO's evaluation treats
  crowd ground truth as ignore too; torchvision's VOC-from-COCO reader discards overlapping instances.
- A PASCAL VOC tree (``VOCdevkit/VOC2012`` or the folder holding ``JPEGImages/`` and ``SegmentationClass/``):
  the ``ImageSets/Segmentation/val.txt`` split when present (the split the papers report), else every mask.

Everything that would make a score quietly wrong is one line of DataError: an image without a mask, a mask
of another size than its image, a class id the model does not have, a colour (RGB) mask.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from edgekit.data.dataset import check_folder
from edgekit.errors import DataError
from edgekit.vocab import IMAGE_SUFFIXES

IGNORE = 255
MIN_SIDE = 32  # a dense output this size or more per side is a segmentation map, not a feature vector
MAX_CLASSES = 256
MASK_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".gif")
BACKGROUND_NAMES = ("background", "bg", "__background__", "_background_", "unlabeled", "void", "none")
# COCO and PASCAL VOC spell six shared classes differently (torchvision's CAT_LIST pairs them by id).
SYNONYMS = {"airplane": "aeroplane", "motorcycle": "motorbike", "couch": "sofa", "tv": "tvmonitor",
            "dining table": "diningtable", "potted plant": "pottedplant"}


@dataclass
class SegDataset:
    """Labelled images for segmentation: ``samples`` (image path, mask source) and how masks are made."""

    samples: list  # (image Path, mask Path) or (image Path, COCO annotations list)
    layout: str  # "images/ + masks/", "COCO JSON", "PASCAL VOC"
    source: str
    coco: dict | None = None  # COCO: {"to_class": {category id: class index}, "sizes": {path: (h, w)}}
    notes: list[str] = field(default_factory=list)

    @property
    def images(self) -> list[Path]:
        return [image for image, _ in self.samples]

    def mask(self, index: int, classes: int | None = None) -> np.ndarray:
        """The class mask (H, W) uint8 of sample ``index``, checked against its image and the class count."""
        image, source = self.samples[index]
        if self.coco is None:
            mask = read_mask(source)
        else:
            mask = coco_mask(source, self.coco["sizes"][image], self.coco["to_class"])
        _check_size(image, mask, source if self.coco is None else None)
        if classes is not None:
            check_ids(mask, classes, source if self.coco is None else image)
        return mask


def is_segmentation_data(data: str | Path) -> bool:
    """Whether ``data`` is one of the segmentation layouts (a COCO JSON file, images/ + masks/, a VOC tree)."""
    data = Path(data)
    if data.suffix.lower() == ".json" or data.is_file():
        return data.suffix.lower() == ".json"
    return data.is_dir() and ((data / "images").is_dir() and (data / "masks").is_dir() or _voc_root(data) is not None)


def segmentation_dataset(data: str | Path, class_names=None) -> SegDataset:
    """The segmentation data at ``data``; ``class_names`` (the model's, in output order) map COCO categories."""
    data = Path(data)
    if data.is_file() or data.suffix.lower() == ".json":
        return _coco(data, class_names)
    check_folder(data, "--data")
    voc = _voc_root(data)
    if voc is not None:
        return _voc(voc)
    if (data / "images").is_dir() and (data / "masks").is_dir():
        return _pairs(data)
    raise DataError(f"{data}: segmentation data is a folder with images/ and masks/ (the same stems), a COCO JSON "
                    f"file, or a PASCAL VOC tree (JPEGImages/ + SegmentationClass/)")


def list_segmentation_images(data: str | Path) -> list[Path]:
    """The images of a segmentation layout (calibration reads these; masks are not needed there)."""
    data = Path(data)
    if data.is_file():
        return coco_images(data)[0]
    voc = _voc_root(data)
    if voc is not None:
        return [image for image, _ in _voc(voc).samples]
    return _files(data / "images", IMAGE_SUFFIXES)


# --- what a segmenter's output looks like ----------------------------------------------------------------

def output_form(shape, dtype=None, quantized: bool = False) -> str | None:
    """``logits``, ``sigmoid``, ``class map`` or None (not a segmentation output) for an output's shape (with
    the batch dimension), dtype and whether it is quantized (an int8 output is dequantized logits, not ids)."""
    shape = tuple(shape)
    ids = dtype is not None and np.issubdtype(np.dtype(dtype), np.integer) and not quantized
    if len(shape) == 3:
        return "class map" if min(shape[1:]) >= MIN_SIDE else None
    if len(shape) != 4 or layout_of(shape) is None:
        return None
    channels = shape[3] if layout_of(shape) == "nhwc" else shape[1]
    if ids:
        return "class map" if channels == 1 else None
    return "sigmoid" if channels == 1 else "logits"


def layout_of(shape) -> str | None:
    """``nhwc`` or ``nchw`` for a 4-d dense output: the class axis is the small one, the other two at least
    ``MIN_SIDE``; None when it is neither."""
    shape = tuple(shape)
    if len(shape) != 4:
        return "nhwc"
    if min(shape[1:3]) >= MIN_SIDE and 1 <= shape[3] <= MAX_CLASSES:
        return "nhwc"
    if min(shape[2:4]) >= MIN_SIDE and 1 <= shape[1] <= MAX_CLASSES:
        return "nchw"
    return None


def dense_classes(shape) -> int | None:
    """How many classes a dense output (shape without the batch) distinguishes: its class axis, 2 for a sigmoid
    mask; None for a class map or anything that is not a segmentation output."""
    form = output_form((1, *shape))
    if form == "sigmoid":
        return 2
    if form != "logits":
        return None
    return int(shape[2] if layout_of((1, *shape)) == "nhwc" else shape[0])


# --- layouts ------------------------------------------------------------------------------------------

def _files(folder: Path, suffixes) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def _pairs(folder: Path) -> SegDataset:
    images = _files(folder / "images", IMAGE_SUFFIXES)
    masks = {p.stem: p for p in _files(folder / "masks", MASK_SUFFIXES)}
    if not images:
        raise DataError(f"{folder / 'images'}: no images ({', '.join(IMAGE_SUFFIXES[:4])}, ...)")
    missing = [p.name for p in images if p.stem not in masks]
    if missing:
        raise DataError(f"{folder}: {len(missing)} of {len(images)} images have no mask in masks/ with the same stem "
                        f"(first: {missing[0]})")
    orphans = sorted(set(masks) - {p.stem for p in images})
    if orphans:
        raise DataError(f"{folder}: {len(orphans)} masks have no image in images/ (first: {masks[orphans[0]].name})")
    return SegDataset([(p, masks[p.stem]) for p in images], "images/ + masks/", str(folder))


def _voc_root(folder: Path) -> Path | None:
    for root in (folder, folder / "VOC2012", folder / "VOCdevkit" / "VOC2012"):
        if (root / "JPEGImages").is_dir() and (root / "SegmentationClass").is_dir():
            return root
    return None


def _voc(root: Path) -> SegDataset:
    split = root / "ImageSets" / "Segmentation" / "val.txt"
    masks = root / "SegmentationClass"
    if split.is_file():
        stems = [line.strip() for line in split.read_text().splitlines() if line.strip()]
        where = f"{split.relative_to(root)}"
    else:
        stems = [p.stem for p in _files(masks, (".png",))]
        where = "every mask in SegmentationClass/"
    samples = []
    for stem in stems:
        image, mask = root / "JPEGImages" / f"{stem}.jpg", masks / f"{stem}.png"
        if not image.is_file() or not mask.is_file():
            raise DataError(f"{root}: {stem} is in {where} but {'JPEGImages/' if not image.is_file() else 'SegmentationClass/'}"
                            f" has no {image.name if not image.is_file() else mask.name}")
        samples.append((image, mask))
    if not samples:
        raise DataError(f"{root}: no segmentation images ({where} is empty)")
    return SegDataset(samples, "PASCAL VOC", str(root), notes=[f"split: {where}"])


def coco_images(path: Path) -> tuple[list[Path], dict, dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"COCO annotations not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read COCO annotations {path}: {exc}") from None
    if not isinstance(data, dict) or not {"images", "annotations", "categories"} <= set(data):
        raise DataError(f"{path}: not COCO instances JSON (needs images, annotations and categories)")
    paths, sizes, by_id = [], {}, {}
    for entry in data["images"]:
        name = entry.get("file_name", "")
        image = next((c for c in (path.parent / "images" / name, path.parent / name) if c.is_file()), None)
        if image is None:
            raise DataError(f"{path}: image {name} is in the annotations but not in {path.parent / 'images'}")
        paths.append(image)
        sizes[image] = (int(entry["height"]), int(entry["width"]))
        by_id[entry["id"]] = image
    if not paths:
        raise DataError(f"{path}: no images")
    return paths, sizes, {"by_id": by_id, "data": data}


def _coco(path: Path, class_names) -> SegDataset:
    paths, sizes, extra = coco_images(path)
    data = extra["data"]
    if not class_names:
        raise DataError(f"{path}: COCO annotations name categories, so the model's classes must be named to map "
                        f"them: pass --labels FILE (one class name per line, in output order, background first)")
    if class_names[0].strip().lower() not in BACKGROUND_NAMES:
        raise DataError(f"{path}: COCO masks paint unannotated pixels as class 0, but the model's class 0 is "
                        f"'{class_names[0]}', not background")
    index = {name.strip().lower(): i for i, name in enumerate(class_names)}
    to_class, unmapped = {}, []
    for category in data["categories"]:
        name = str(category["name"]).strip().lower()
        found = index.get(name, index.get(SYNONYMS.get(name, name)))
        if found is None:
            unmapped.append(category["name"])
        else:
            to_class[category["id"]] = found
    if not to_class:
        raise DataError(f"{path}: none of its categories ({', '.join(str(c['name']) for c in data['categories'])}) "
                        f"is a class of the model ({', '.join(class_names[:8])}, ...)")
    anns: dict = {image: [] for image in paths}
    for ann in data["annotations"]:
        if ann.get("image_id") in extra["by_id"]:
            anns[extra["by_id"][ann["image_id"]]].append(ann)
    notes = [f"COCO categories mapped to classes: " + ", ".join(
        f"{c['name']}->{to_class[c['id']]}" for c in data["categories"] if c["id"] in to_class)]
    if unmapped:
        notes.append(f"categories the model has no class for, painted as background: {', '.join(map(str, unmapped))}")
    return SegDataset([(image, anns[image]) for image in paths], "COCO JSON", str(path),
                      {"to_class": to_class, "sizes": sizes}, notes)


# --- masks ---------------------------------------------------------------------------------------------

def read_mask(path: Path) -> np.ndarray:
    """A class-index mask: palette images give their indices, greyscale their values; RGB is refused."""
    try:
        with Image.open(path) as img:
            if img.mode in ("P", "L", "I", "I;16", "1"):
                mask = np.asarray(img if img.mode != "1" else img.convert("L"))
            elif img.mode in ("RGB", "RGBA"):
                rgb = np.asarray(img.convert("RGB"))
                if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])):
                    raise DataError(f"mask {path} is a colour (RGB) image: save class indices (a palette or "
                                    f"greyscale PNG whose pixel values are class ids)")
                mask = rgb[..., 0]
            else:
                raise DataError(f"mask {path}: image mode {img.mode} is not a class-index image")
    except FileNotFoundError:
        raise DataError(f"mask not found: {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"cannot decode mask {path}: {exc}") from None
    if mask.max(initial=0) > IGNORE:
        raise DataError(f"mask {path} holds values up to {int(mask.max())}: class ids are 0..254 (255 = ignore)")
    return mask.astype(np.uint8)


def coco_mask(anns: list, size: tuple[int, int], to_class: dict) -> np.ndarray:
    """One image's class mask from its COCO annotations (polygons or RLE, rasterised by pycocotools)."""
    from pycocotools import mask as coco_rle

    height, width = size
    target = np.zeros((height, width), np.uint8)
    painted = np.zeros((height, width), np.int16)  # the class painted first, -1 where classes disagree
    painted[:] = -2
    crowd = np.zeros((height, width), bool)
    for ann in anns:
        segmentation = ann.get("segmentation")
        if not segmentation:
            continue
        with warnings.catch_warnings():  # pycocotools 2.0.11 on numpy 2: a DeprecationWarning about copy=False
            warnings.simplefilter("ignore", DeprecationWarning)
            binary = coco_rle.decode(coco_rle.frPyObjects(segmentation, height, width))
        binary = (binary.any(axis=2) if binary.ndim == 3 else binary).astype(bool)
        if ann.get("iscrowd", 0):
            crowd |= binary
            continue
        value = to_class.get(ann["category_id"], 0)
        first = binary & (painted == -2)
        painted[first] = value
        painted[binary & (painted >= 0) & (painted != value)] = -1
    target[painted >= 0] = painted[painted >= 0].astype(np.uint8)
    target[painted == -1] = IGNORE
    target[crowd & (painted < 0)] = IGNORE
    return target


def image_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as img:
            from PIL import ImageOps

            width, height = ImageOps.exif_transpose(img).size
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        raise DataError(f"cannot decode image {path}: {exc}") from None
    return height, width


def _check_size(image: Path, mask: np.ndarray, mask_path: Path | None) -> None:
    height, width = image_size(image)
    if mask.shape[:2] != (height, width):
        what = mask_path.name if mask_path is not None else "its COCO mask"
        raise DataError(f"{image.name} is {width}x{height} but {what} is {mask.shape[1]}x{mask.shape[0]}: a mask must "
                        f"be the size of its image")


def check_ids(mask: np.ndarray, classes: int, where) -> None:
    ids = np.unique(mask)
    bad = ids[(ids >= classes) & (ids != IGNORE)]
    if len(bad):
        raise DataError(f"{Path(str(where)).name} holds class id {int(bad[0])}, but the model has {classes} classes "
                        f"(0..{classes - 1}; {IGNORE} = ignore)")


# PASCAL VOC's colour map (VOCdevkit's bit-interleaved palette): class k's colour, for pictures.
def palette(count: int = 256) -> np.ndarray:
    colours = np.zeros((count, 3), np.uint8)
    for k in range(count):
        c, r, g, b = k, 0, 0, 0
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        colours[k] = (r, g, b)
    colours[IGNORE] = (224, 224, 192)
    return colours


def side_by_side(image_path: Path, mask: np.ndarray, predicted: np.ndarray, height: int = 320) -> bytes:
    """A PNG of the image | its reference mask | the prediction (both class maps in PASCAL VOC's colours, the
    masks blended over a dimmed copy of the image), each panel ``height`` pixels high."""
    import io

    from PIL import ImageOps

    colours = palette()
    with Image.open(image_path) as img:
        photo = ImageOps.exif_transpose(img).convert("RGB")
    base = np.asarray(photo, dtype=np.float32)
    panels = [photo]
    for labels in (mask, predicted):
        painted = colours[np.clip(labels, 0, 255).astype(np.uint8)].astype(np.float32)
        blend = np.where((labels == 0)[..., None], base * 0.35, 0.35 * base + 0.65 * painted)
        panels.append(Image.fromarray(blend.astype(np.uint8)))
    scale = height / photo.size[1]
    size = (max(1, round(photo.size[0] * scale)), height)
    gap = 6
    sheet = Image.new("RGB", (3 * size[0] + 2 * gap, height), (255, 255, 255))
    for i, panel in enumerate(panels):
        sheet.paste(panel.resize(size, Image.NEAREST if i else Image.BILINEAR), (i * (size[0] + gap), 0))
    out = io.BytesIO()
    sheet.save(out, format="PNG")
    return out.getvalue()
