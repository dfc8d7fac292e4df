import numpy as np
import pytest
from PIL import Image

from edgekit.errors import DataError
from edgekit.data.images import load_image
from edgekit.data.labels import class_names


@pytest.mark.parametrize("mode, suffix", [("L", ".png"), ("CMYK", ".jpg"), ("RGBA", ".png"), ("P", ".gif"), ("RGB", ".bmp")])
def test_any_mode_becomes_rgb(tmp_path, mode, suffix):
    path = tmp_path / f"img{suffix}"
    Image.new(mode, (50, 40)).save(path)
    out = load_image(path, 32)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8


def test_central_crop_keeps_the_centre(tmp_path):
    img = np.zeros((100, 100, 3), np.uint8)
    img[25:75, 25:75] = 255  # white centre, black border
    path = tmp_path / "c.png"
    Image.fromarray(img).save(path)
    assert load_image(path, 16, crop=0.5).min() == 255
    assert load_image(path, 16, crop=1.0).min() == 0


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20])
def test_undecodable_images_are_data_errors(tmp_path, content):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(DataError, match="cannot decode image"):
        load_image(path, 32)


def test_missing_image(tmp_path):
    with pytest.raises(DataError, match="image not found"):
        load_image(tmp_path / "nope.jpg", 32)


def test_bad_crop_fraction(tmp_path):
    with pytest.raises(DataError, match="crop fraction"):
        load_image(tmp_path / "x.jpg", 32, crop=0)


def test_label_files(data_dir):
    from_csv = class_names(data_dir / "imagenet-val" / "class_index.csv")
    from_txt = class_names(data_dir / "coral" / "imagenet_labels.txt")  # 1001 lines, background first
    assert len(from_csv) == len(from_txt) == 1000
    assert from_csv[88] == "macaw" and "macaw" in from_txt[88].lower()
