"""Building with keras.applications, real weights, BN warm-up and the logits option."""

import shutil

import numpy as np
import pytest

from edgekit.errors import WeightsError
from edgekit.data.images import load_batch, load_image
from edgekit.zoo.build import build, warm_batchnorm
from edgekit.zoo.classify import classify
from edgekit.zoo.spec import parse_model
from edgekit.zoo.weights import resolve

from conftest import assert_clean_error, run_edgekit


def test_real_weights_classify_parrot_as_macaw(v1_weights, parrot):
    result = classify(parse_model("v1-0.25-128"), str(v1_weights), [str(parrot)])
    assert result[0]["top"][0]["class_index"] == 88  # "macaw"
    assert result[0]["top"][0]["prob"] > 0.5


def test_wrong_preprocessing_changes_the_answer(v1_weights, parrot):
    """Raw 0..255 pixels into a v1 model (the v3 convention) must not give the same answer."""
    spec = parse_model("v1-0.25-128")
    model, _ = build(spec, str(v1_weights), logits=True)
    pixels = load_image(parrot, 128)[None]
    right = model.predict(spec.preprocessing.apply(pixels), verbose=0)[0]
    wrong = model.predict(pixels.astype(np.float32), verbose=0)[0]
    assert right.argmax() == 88 and wrong.argmax() != 88


def test_logits_option(v1_weights, parrot):
    spec = parse_model("v1-0.25-128")
    x = spec.preprocessing.apply(load_image(parrot, 128)[None])
    probs = build(spec, str(v1_weights))[0].predict(x, verbose=0)[0]
    logits = build(spec, str(v1_weights), logits=True)[0].predict(x, verbose=0)[0]
    assert probs.sum() == pytest.approx(1.0, abs=1e-4)
    assert logits.min() < 0 and abs(logits.sum() - 1.0) > 1.0
    softmax = np.exp(logits - logits.max())
    np.testing.assert_allclose(softmax / softmax.sum(), probs, atol=1e-5)


def test_weights_source_records_sha256(v1_weights):
    source = resolve(parse_model("v1-0.25-128"), str(v1_weights))
    assert source.kind == "file" and len(source.sha256) == 64


@pytest.mark.parametrize("model, weights, fragment", [
    ("v1-0.25-136", "imagenet", "no ImageNet weights for v1-0.25-136"),
    ("v3-small-0.75-224-min", "imagenet", "no ImageNet weights"),
    ("v1-0.25-128", "/does/not/exist.h5", "weights file not found"),
])
def test_weights_requests_refused_before_building(model, weights, fragment):
    with pytest.raises(WeightsError, match=fragment):
        resolve(parse_model(model), weights)


def test_other_architecture_is_a_clear_error(v1_weights):
    with pytest.raises(WeightsError, match="cannot load .* into v1-0.5-128: Shape mismatch"):
        build(parse_model("v1-0.5-128"), str(v1_weights))


def test_truncated_weights_file_is_a_clear_error(v1_weights, tmp_path):
    broken = tmp_path / "broken.h5"
    broken.write_bytes(v1_weights.read_bytes()[:4096])
    with pytest.raises(WeightsError, match="cannot load"):
        build(parse_model("v1-0.25-128"), str(broken))


def test_imagenet_weights_come_from_the_keras_cache(v1_weights, parrot, tmp_path):
    """The real `weights="imagenet"` path: Keras finds its own file in its cache, no network."""
    (tmp_path / "models").mkdir()
    shutil.copy(v1_weights, tmp_path / "models" / "mobilenet_2_5_128_tf.h5")
    proc = run_edgekit("classify", "v1-0.25-128", str(parrot), "--weights", "imagenet", "--json",
                       env={"KERAS_HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    import json

    assert json.loads(proc.stdout)["results"][0]["top"][0]["class_index"] == 88


def test_imagenet_offline_is_one_clear_line(parrot, tmp_path):
    # An empty Keras cache and a proxy that refuses: the download fails fast, as offline.
    proc = run_edgekit("classify", "v2-0.35-96", str(parrot), "--weights", "imagenet",
                       env={"KERAS_HOME": str(tmp_path), "HTTPS_PROXY": "http://127.0.0.1:9",
                            "https_proxy": "http://127.0.0.1:9"})
    assert_clean_error(proc, "could not get Keras's ImageNet weights for v2-0.35-96", "--weights PATH")


def test_warm_batchnorm_gives_random_models_sane_statistics(data_dir):
    spec = parse_model("v2-0.35-96")
    model, _ = build(spec, "none", logits=True)
    paths = sorted((data_dir / "imagenet-val" / "calib100" / "images").iterdir())[:16]
    x = spec.preprocessing.apply(load_batch(paths, 96))
    train_mode = lambda: np.asarray(model(x, training=True))  # noqa: E731  (BN uses batch statistics)
    before = np.asarray(model(x, training=False))
    target = train_mode()
    assert not np.allclose(before, target, rtol=0.05, atol=0.05)
    warm_batchnorm(model, x)
    after = np.asarray(model(x, training=False))
    np.testing.assert_allclose(after, target, rtol=1e-2, atol=1e-2)
    # the logits now tell images apart: not a constant output
    assert after.std(axis=0).mean() > 0.1 * np.abs(after).mean()
    assert len({int(i) for i in after.argmax(axis=1)}) > 1
    bn = next(layer for layer in model.layers if type(layer).__name__ == "BatchNormalization")
    assert bn.momentum == pytest.approx(0.999)  # restored
