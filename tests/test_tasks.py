"""edgekit.tasks: what outputs mean. The classification task's parity and scores, the tensor task's
per-output metrics, and the registry that picks one from a model's outputs."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import EdgekitError
from edgekit.tasks import get_task, known, task_for
from edgekit.tasks.base import cosine, sqnr_db
from edgekit.tasks.classification import topk


def test_the_registry_picks_the_most_specific_task():
    assert known()[:1] == ("classification",) and "tensor" in known()
    assert task_for([(1, 1000)]).name == "classification"
    assert task_for([(1, 1280)]).name == "classification"  # a vector is a class vector unless told otherwise
    assert task_for([(1, 7, 7, 1280)]).name == "tensor"  # a feature map
    assert task_for([(1, 10), (1, 4)]).name == "tensor"  # several heads
    assert task_for([(1, 1)]).name == "tensor"  # one score is not a class vector
    with pytest.raises(EdgekitError, match="unknown task 'nope'.*classification"):
        get_task("nope")


def test_classification_parity_exact_and_quantized():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(16, 10)).astype(np.float32)
    task = get_task("classification")
    same = task.parity(ref, ref + 1e-6, "float")
    assert same["passed"] and same["top1_agreement"] == 1.0 and same["max_abs_diff"] < 1e-5
    swapped = ref.copy()
    swapped[0] = swapped[0][::-1]
    bad = task.parity(ref, swapped, "float")
    assert bad["passed"] is False and bad["top1_agreement"] < 1.0 and "agreement" in task.failure(bad)
    labels = ref.argmax(1)
    noisy = task.parity(ref, ref + rng.normal(scale=0.3, size=ref.shape), "int8", labels)
    assert noisy["passed"] is None  # quantized: judged by export.parity against floors
    assert noisy["reference_top1"] == 1.0 and noisy["drop_pts"] == pytest.approx(100 * (1 - noisy["top1"]))
    assert task.parity(ref, 1.1 * ref, "int8")["sqnr_db"] == pytest.approx(20.0, abs=0.01)


def test_classification_scores_share_ties_and_count_per_class():
    scores = np.array([[0.9, 0.1, 0.0], [0.5, 0.5, 0.0], [0.0, 0.2, 0.8], [0.1, 0.8, 0.1]])
    labels = np.array([0, 1, 2, 2])
    assert topk(scores, labels, 1) == pytest.approx((1 + 0.5 + 1 + 0) / 4)  # the tie gives half a point
    from edgekit.data.dataset import Dataset

    got = get_task("classification").score(scores, labels, Dataset([], ("a", "b", "c"), "class folders"))
    assert got["top_k"] == 2 and got["tied_top1"] == 1
    assert [row["images"] for row in got["per_class"]] == [1, 1, 2]
    assert got["confusion"][2] == [0, 1, 1]


def test_tensor_parity_reports_each_output_and_the_worst():
    rng = np.random.default_rng(1)
    emb, fmap = rng.normal(size=(8, 64)), rng.normal(size=(8, 4, 4, 3))
    task = get_task("tensor")
    exact = task.parity([emb, fmap], [emb.copy(), fmap + 1e-6], "float")
    assert exact["passed"] and len(exact["outputs"]) == 2 and exact["cosine"] == pytest.approx(1.0)
    worse = task.parity([emb, fmap], [emb + rng.normal(scale=0.1, size=emb.shape), fmap], "int8")
    assert worse["passed"] is None
    assert worse["sqnr_db"] == worse["outputs"][0]["sqnr_db"] < worse["outputs"][1]["sqnr_db"]  # the worst output
    assert 0.9 < worse["cosine"] < 1.0
    wrong = task.parity([emb], [emb, fmap], "float")
    assert wrong["passed"] is False and "2 outputs" in wrong["failed"][0]
    assert task.parity([emb], [emb[:, :32]], "float")["passed"] is False  # a shape mismatch never passes


def test_metrics_known_answers():
    ref = np.array([[3.0, 4.0]])
    assert sqnr_db(ref, ref * 1.1) == pytest.approx(10 * np.log10(25 / 0.25))  # noise 10% of the amplitude: 20 dB
    assert cosine(ref, -ref) == pytest.approx(-1.0) and cosine(ref, 2 * ref) == pytest.approx(1.0)
    assert cosine(np.zeros((1, 3)), np.zeros((1, 3))) == 1.0  # identical zeros agree
