"""Segmentation: the task, its data layouts, Google's int8 DeepLab as the known answer, the zoo segmenters
against the papers' tables, a user's segmenter through convert and eval, pictures, and bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, assert_clean_error, run_edgekit

sys.path.insert(0, str(ROOT / "examples"))


@pytest.fixture(scope="module")
def seg(coral) -> Path:
    return coral / "segmentation"


@pytest.fixture(scope="module")
def pascal(seg, tmp_path_factory) -> Path:
    """PASCAL VOC's 21 class names: Google's labels file without the two lines of prose it ends with."""
    names = [line.strip() for line in (seg / "pascal_voc_segmentation_labels.txt").read_text().splitlines()
             if line.strip()][:21]
    assert names[0] == "background" and names[15] == "person"
    path = tmp_path_factory.mktemp("labels") / "pascal.txt"
    path.write_text("\n".join(names) + "\n")
    return path


@pytest.fixture(scope="module")
def bird(seg, tmp_path_factory) -> Path:
    """Google's bird test image and its mask in the images/ + masks/ layout (symlinks, nothing copied)."""
    root = tmp_path_factory.mktemp("bird")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    (root / "images" / "bird.bmp").symlink_to(seg / "bird_segmentation.bmp")
    (root / "masks" / "bird.bmp").symlink_to(seg / "bird_segmentation_mask.bmp")
    return root


@pytest.fixture(scope="module")
def coco_val(data_dir) -> Path:
    return data_dir / "coco-mini" / "instances_val.json"


# --- the metrics, by hand ----------------------------------------------------------------------------------

def test_scores_from_one_confusion_matrix():
    from edgekit.tasks.segmentation import confusion, scores

    truth = np.array([[0, 0, 1, 1], [0, 2, 2, 255]])
    predicted = np.array([[0, 1, 1, 1], [0, 2, 0, 1]])
    matrix = confusion(truth, predicted, 3)
    assert matrix.tolist() == [[2, 1, 0], [0, 2, 0], [1, 0, 1]]  # the 255 pixel is not counted
    got = scores(matrix, ["bg", "a", "b"])
    # IoU: bg 2/(3+3-2) = 0.5, a 2/(2+3-2) = 2/3, b 1/(2+1-1) = 0.5; pixel accuracy 5/7
    assert [r["iou"] for r in got["per_class_iou"]] == [0.5, round(2 / 3, 6), 0.5]
    assert got["miou"] == pytest.approx((0.5 + 2 / 3 + 0.5) / 3)
    assert got["pixel_accuracy"] == pytest.approx(5 / 7) and got["pixels"] == 7


def test_output_forms_and_layouts():
    from edgekit.tasks import task_for
    from edgekit.tasks.segmentation import class_map, output_form

    assert output_form((1, 513, 513), np.int64) == "class map"
    assert output_form((1, 144, 256, 1)) == "sigmoid"
    assert output_form((1, 64, 64, 21)) == "logits"
    assert output_form((1, 21, 64, 64)) == "logits"  # PyTorch's NCHW
    assert output_form((1, 4, 4, 256)) is None  # a feature map, not a mask
    assert task_for([(1, 4, 4, 256)]).name == "tensor" and task_for([(1, 1000)]).name == "classification"
    assert task_for([(1, 128, 128, 19)]).name == "segmentation"
    nchw = np.zeros((1, 3, 40, 40), np.float32)
    nchw[0, 2, 5, 7] = 1
    assert class_map(nchw, "logits", "nchw")[0, 5, 7] == 2
    assert class_map(np.array([[[[0.2], [0.7]]]]), "sigmoid").tolist() == [[[0, 1]]]


# --- Google's int8 DeepLab: the known answers ---------------------------------------------------------------

@pytest.mark.parametrize("model, pixel_accuracy, bird_iou", [
    ("deeplabv3_mnv2_pascal_quant.tflite", 0.9786, 0.9052),
    ("deeplabv3_mnv2_dm05_pascal_quant.tflite", 0.9606, 0.8188)])
def test_google_deeplab_known_answer_on_the_bird(seg, bird, pascal, tmp_path, model, pixel_accuracy, bird_iou):
    """Scored directly (docs/research/segmentation.md): 0.9786 and 0.9606 pixel accuracy, bird IoU 0.9052 and
    0.8188 on Google's own 513x513 test image. What the table shows and the JSON says must both be these."""
    proc = run_edgekit("eval", str(seg / model), "--data", str(bird), "--labels", str(pascal), "--overlay",
                       str(tmp_path / "pictures"), "--no-record")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert f"{pixel_accuracy:.4f}" in text and f"{bird_iou:.4f}" in text and "class map" in text
    assert "in the graph" in text  # Google's graphs arg-max inside
    result = json.loads(run_edgekit("eval", str(seg / model), "--data", str(bird), "--labels", str(pascal),
                                    "--no-record", "--json").stdout)
    assert result["task"] == "segmentation" and result["count"] == 1 and result["classes"] == 21
    assert result["pixel_accuracy"] == pytest.approx(pixel_accuracy, abs=5e-5)
    birds = next(r for r in result["per_class_iou"] if r["name"] == "bird")
    assert birds["iou"] == pytest.approx(bird_iou, abs=5e-5) and birds["pixels"] == 51377
    (picture,) = (tmp_path / "pictures").iterdir()
    with Image.open(picture) as img:
        assert img.size[1] == 320 and img.size[0] > 3 * 320  # image | mask | prediction


def test_google_deeplab_on_coco_json(seg, coco_val, pascal):
    """coco-mini's val polygons rasterised with pycocotools for person, car and airplane (PASCAL 15, 7, 1)."""
    proc = run_edgekit("eval", str(seg / "deeplabv3_mnv2_pascal_quant.tflite"), "--data", str(coco_val), "--labels",
                       str(pascal), "--no-record", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["count"] == 10 and result["layout"] == "COCO JSON"
    assert "person->15, car->7, airplane->1" in " ".join(result["data_notes"])
    iou = {r["name"]: r["iou"] for r in result["per_class_iou"]}
    assert iou["aeroplane"] > 0.6 and 0.2 < iou["car"] < 0.7 and 0.2 < iou["person"] < 0.7 and iou["background"] > 0.9
    pixels = {r["name"]: r["pixels"] for r in result["per_class_iou"]}
    assert pixels["aeroplane"] > 300_000 and pixels["person"] > 20_000


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools' own decode on numpy 2
def test_coco_masks_are_pycocotools_own(coco_val):
    """Our masks: each category's pixels are exactly pycocotools' annToMask union (minus crowd and overlaps)."""
    from pycocotools.coco import COCO

    from edgekit.data.masks import IGNORE, segmentation_dataset

    dataset = segmentation_dataset(coco_val, ["background", "person", "car", "airplane"])
    coco = COCO(str(coco_val))
    by_file = {img["file_name"]: img["id"] for img in coco.dataset["images"]}
    for index, (image, _) in enumerate(dataset.samples[:4]):
        mask = dataset.mask(index, 4)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=by_file[image.name]))
        for category, value in ((1, 1), (2, 2), (3, 3)):
            union = np.zeros(mask.shape, bool)
            for ann in anns:
                if ann["category_id"] == category and not ann.get("iscrowd"):
                    union |= coco.annToMask(ann).astype(bool)
            ours = mask == value
            assert not (ours & ~union).any()  # never paints outside the annotation
            assert ((union & ~ours) <= (mask == IGNORE)).all()  # what it leaves out is marked ignore


def test_a_pascal_voc_tree(seg, pascal, tmp_path):
    """VOCdevkit/VOC2012: JPEGImages/, palette PNGs in SegmentationClass/ (indices are the class ids), the split
    in ImageSets/Segmentation/val.txt (a mask outside the split is not scored)."""
    from edgekit.data.masks import palette

    root = tmp_path / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (root / sub).mkdir(parents=True)
    with Image.open(seg / "bird_segmentation.bmp") as img:
        img.convert("RGB").save(root / "JPEGImages" / "2007_000001.jpg", quality=95)
        img.convert("RGB").save(root / "JPEGImages" / "2007_000002.jpg", quality=95)
    with Image.open(seg / "bird_segmentation_mask.bmp") as img:
        mask = Image.fromarray(np.asarray(img)).convert("P")
    mask.putpalette(palette().reshape(-1).tolist())
    mask.save(root / "SegmentationClass" / "2007_000001.png")
    Image.fromarray(np.full((513, 513), 7, np.uint8)).save(root / "SegmentationClass" / "2007_000002.png")
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text("2007_000001\n")
    proc = run_edgekit("eval", str(seg / "deeplabv3_mnv2_pascal_quant.tflite"), "--data", str(tmp_path / "VOCdevkit"),
                       "--labels", str(pascal), "--no-record", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["layout"] == "PASCAL VOC" and result["count"] == 1
    assert result["pixel_accuracy"] > 0.97  # the bird again, through a JPEG
    assert next(r for r in result["per_class_iou"] if r["name"] == "bird")["iou"] > 0.88


# --- a sigmoid mask from elsewhere ------------------------------------------------------------------------

def test_a_sigmoid_segmenter_from_elsewhere(coco_val, tmp_path):
    """MediaPipe's selfie segmenter (a sigmoid mask): two classes, COCO's person, the others painted background."""
    from test_any_model import thirdparty as fetch  # noqa: F401

    import thirdparty as tp

    model = tp.fetch(tp.folder(), quiet=True)["selfie_landscape.tflite"]
    labels = tmp_path / "labels.txt"
    labels.write_text("background\nperson\n")
    proc = run_edgekit("eval", str(model), "--data", str(coco_val), "--labels", str(labels), "--preprocess",
                       "zero-to-one", "--no-record", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["output_form"] == "sigmoid" and result["classes"] == 2 and result["count"] == 10
    assert "painted as background: car, airplane" in " ".join(result["data_notes"])
    assert result["pixel_accuracy"] > 0.9


# --- the zoo segmenters beside the papers -----------------------------------------------------------------

def test_zoo_segmenter_counts_beside_tables_7_and_8():
    """v2 Table 7: 2.75 B / 2.11 M (no ASPP, OS 16); v3 Table 7: 9.74 B / 1.51 M and 2.90 B / 0.47 M at 1024x2048."""
    from edgekit.zoo.count import count
    from edgekit.zoo.describe import compare_published
    from edgekit.zoo.spec import parse_model

    deeplab = parse_model("deeplabv3-v2")
    assert deeplab.name == "deeplabv3-v2-1.0-513" and deeplab.stride == 16 and not deeplab.aspp
    counted = count(deeplab)
    (paper,) = [r for r in compare_published(deeplab, counted.macs, counted.params_folded) if r["source"] == "v2-paper"]
    assert abs(paper["macs_delta"]) < 0.01 and abs(paper["params_delta"]) < 0.01 and paper["miou"] == 75.32
    for name, macs, params in (("lraspp-v3-large-1.0-1024x2048", 9740, 1.51),
                               ("lraspp-v3-small-1.0-1024x2048", 2900, 0.47)):
        got = count(parse_model(name))
        assert abs(got.params_folded / 1e6 / params - 1) < 0.02  # the parameters match
        assert -0.08 < got.macs / 1e6 / macs - 1 < 0  # multiply-adds 4-8% under: explained in published.toml
    aspp = count(parse_model("deeplabv3-v2-1.0-513-aspp"))
    assert abs(aspp.params_folded / 4.52e6 - 1) < 0.01
    assert count(parse_model("deeplabv3-v2-1.0-513-os8")).macs > 3 * counted.macs  # 4x the pixels after block 6


def test_zoo_segmenter_names_refuse_what_the_papers_do_not_define():
    from edgekit.errors import UnknownModelError
    from edgekit.zoo.spec import parse_model

    for bad, fragment in (("deeplabv3-v2-os4", "output stride 8 or 16"), ("lraspp-v3-small-aspp", "-aspp is DeepLabv3"),
                          ("v2-1.0-96x128", "square"), ("deeplabv3-v2-500", "513")):
        with pytest.raises(UnknownModelError, match=fragment):
            parse_model(bad)
    assert parse_model("lraspp-v3-large-0.75-512x1024").input_shape == (512, 1024, 3)


@pytest.mark.parametrize("name", ["deeplabv3-v2-0.35-129", "deeplabv3-v2-0.5-129-os8-aspp",
                                  "lraspp-v3-small-1.0-128", "lraspp-v3-large-0.75-96x128-os32"])
def test_segmenters_keras_matches_arch(name):
    """The Keras builder (atrous keras.applications backbones, edited by config) against arch, to the MAC."""
    from edgekit.zoo.build import build
    from edgekit.zoo.count import count, keras_count
    from edgekit.zoo.spec import parse_model

    spec = parse_model(name)
    model, _ = build(spec)
    assert tuple(model.output.shape[1:]) == (*spec.input_shape[:2], len(spec.info.class_names))
    ours, keras = count(spec), keras_count(model)
    assert (keras.macs, keras.params_folded) == (ours.macs, ours.params_folded)


# --- bad input: one line, exit 2, nothing written ----------------------------------------------------------

def _pairs(root: Path, images: dict, masks: dict) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for name, size in images.items():
        Image.fromarray(np.full((*size, 3), 90, np.uint8)).save(root / "images" / name)
    for name, array in masks.items():
        Image.fromarray(array).save(root / "masks" / name)
    return root


def test_bad_segmentation_data(seg, coral, pascal, tmp_path):
    model = str(seg / "deeplabv3_mnv2_dm05_pascal_quant.tflite")
    pictures = tmp_path / "pictures"
    wrong_size = _pairs(tmp_path / "size", {"a.png": (40, 50), "b.png": (40, 50)},
                        {"a.png": np.zeros((40, 50), np.uint8), "b.png": np.zeros((41, 50), np.uint8)})
    assert_clean_error(run_edgekit("eval", model, "--data", str(wrong_size), "--labels", str(pascal), "--overlay",
                                   str(pictures), "--no-record"), "b.png is 50x40", "a mask must be the size")
    assert not pictures.exists()  # the first image's picture was not written either
    ids = np.zeros((40, 50), np.uint8)
    ids[3, 3] = 30
    assert_clean_error(run_edgekit("eval", model, "--data", str(_pairs(tmp_path / "ids", {"a.png": (40, 50)},
                                                                        {"a.png": ids})),
                                   "--labels", str(pascal), "--no-record"), "class id 30", "21 classes")
    missing = _pairs(tmp_path / "missing", {"a.png": (40, 50), "b.jpg": (40, 50)}, {"a.png": np.zeros((40, 50), np.uint8)})
    assert_clean_error(run_edgekit("eval", model, "--data", str(missing), "--no-record"), "1 of 2 images have no mask",
                       "b.jpg")
    colour = _pairs(tmp_path / "rgb", {"a.png": (40, 50)}, {"a.png": np.stack([np.zeros((40, 50), np.uint8),
                                                                               np.ones((40, 50), np.uint8),
                                                                               np.zeros((40, 50), np.uint8)], -1)})
    assert_clean_error(run_edgekit("eval", model, "--data", str(colour), "--no-record"), "colour (RGB)")
    classifier = str(coral / "mobilenet_v1_0.25_128_quant.tflite")
    assert_clean_error(run_edgekit("eval", classifier, "--data", str(wrong_size), "--task", "segmentation",
                                   "--no-record"), "not what the segmentation task reads")
    assert_clean_error(run_edgekit("eval", model, "--data", str(tmp_path / "size" / "images"), "--no-record"),
                       "images/ and masks/")
    assert_clean_error(run_edgekit("eval", model, "--data", str(tmp_path / "coco.json"), "--no-record"),
                       "not found")
    assert_clean_error(run_edgekit("convert", "--model", "deeplabv3-v2", "--task", "classification",
                                   "--out", str(tmp_path / "m")), "is a segmentation model")
    assert not (tmp_path / "m").exists()


# --- convert: the zoo's and a user's segmenter -----------------------------------------------------------

@pytest.mark.slow
def test_zoo_segmenters_convert_float_and_int8(data_dir, coco_val, tmp_path):
    """Float parity on logits and the arg-max (near-ties apart); int8 judged; mIoU against float reported; the
    sidecar names the classes, so eval reads COCO JSON with no --labels, and refuses where class 0 is not
    background (Cityscapes' road)."""
    train = data_dir / "coco-mini" / "instances_train.json"
    out = tmp_path / "models"
    for name in ("deeplabv3-v2-0.35-129", "lraspp-v3-small-1.0-128"):
        proc = run_edgekit("convert", "--model", name, "--float", "--int8", "--format", "all", "--calib", str(train),
                           "--calib-count", "16", "--ptq", "minmax", "--out", str(out), "--json", timeout=600)
        assert proc.returncode == 0, proc.stderr
        made = {(a["format"], a["precision"]): a for a in json.loads(proc.stdout)["artifacts"]}
        assert len(made) == 4
        for fmt in ("tflite", "onnx"):
            flt, q = made[(fmt, "float")]["parity"], made[(fmt, "int8")]["parity"]
            assert flt["passed"] and flt["disagreeing_beyond_ties"] == 0 and flt["max_abs_diff"] <= flt["tolerance"]
            assert flt["output_form"] == "logits" and 0.999 <= flt["pixel_agreement"] <= 1.0
            assert q["passed"] is not False and 0 < q["miou_vs_float"] <= 1 and q["sqnr_db"] > 1
    deeplab = sorted(str(p) for p in (out / "deeplabv3-v2-0.35-129").glob("*.tflite"))
    proc = run_edgekit("eval", *deeplab, "--data", str(coco_val), "--limit", "3", "--no-record", "--json")
    assert proc.returncode == 0, proc.stderr
    assert all(r["classes"] == 21 and r["arg_max"] == "on the host" for r in json.loads(proc.stdout)["results"])
    assert_clean_error(run_edgekit("eval", str(out / "lraspp-v3-small-1.0-128" / "tflite-int8.tflite"), "--data",
                                   str(coco_val), "--no-record"), "class 0 is 'road'")


@pytest.mark.slow
def test_a_users_segmenter_through_convert_eval_bench_and_profile(data_dir, coco_val, tmp_path):
    """The real v1 backbone with a new head trained on coco-mini (examples/seg_user.py): int8's drop in mIoU
    points on masked check images, then eval with pictures, bench and profile."""
    import subprocess

    subprocess.run([sys.executable, str(ROOT / "examples" / "seg_user.py"), "--data", str(data_dir), "--out",
                    str(tmp_path / "user"), "--epochs", "6"], check=True, capture_output=True, timeout=600)
    model, labels = tmp_path / "user" / "coco4seg.keras", tmp_path / "user" / "labels.txt"
    out = tmp_path / "models"
    proc = run_edgekit("convert", "--model", str(model), "--labels", str(labels), "--int8", "--calib",
                       str(data_dir / "coco-mini" / "instances_train.json"), "--check", str(coco_val),
                       "--max-drop", "5", "--out", str(out), "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    (made,) = [a for a in json.loads(proc.stdout)["artifacts"] if not a.get("mixed")][:1]
    parity = made["parity"]
    assert parity["images"] == 10 and parity["drop_pts"] is not None and parity["reference_miou"] > 0
    assert made["task"] == "segmentation" and made["model"]["class_names"] == ["background", "person", "car", "airplane"]
    artifact = made["path"]
    proc = run_edgekit("eval", artifact, "--data", str(coco_val), "--overlay", str(tmp_path / "pictures"),
                       "--db", str(tmp_path / "r.db"))
    assert proc.returncode == 0, proc.stderr
    assert "segmentation accuracy" in proc.stdout and "airplane" in proc.stdout
    assert len(list((tmp_path / "pictures").glob("*.png"))) == 10
    bench = run_edgekit("bench", artifact, "--runs", "3", "--min-time", "0", "--rounds", "1", "--db", str(tmp_path / "r.db"))
    assert bench.returncode == 0, bench.stderr
    assert run_edgekit("profile", artifact, "--runs", "3", "--rounds", "1", "--no-record").returncode == 0
    report = run_edgekit("report", "--db", str(tmp_path / "r.db"), "--out", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "report" / "report.md").read_text()
    assert "## Segmentation" in page and "image | reference mask | prediction" in page
    html = (tmp_path / "report" / "report.html").read_text()
    assert html.count("data:image/png;base64") >= 4
