import pytest

from edgekit.errors import UnknownModelError
from edgekit.zoo.spec import ModelSpec, parse_model, zoo_specs


@pytest.mark.parametrize("text, expected", [
    ("v1-0.25-128", ModelSpec("v1", 0.25, 128)),
    ("v2-1.4", ModelSpec("v2", 1.4, 224)),
    ("v3-small", ModelSpec("v3-small", 1.0, 224)),
    ("v3-large-0.75-min", ModelSpec("v3-large", 0.75, 224, True)),
    ("V3-Large-160", ModelSpec("v3-large", 1.0, 160)),
    ("  v1  ", ModelSpec("v1", 1.0, 224)),
    ("v2-.35-96", ModelSpec("v2", 0.35, 96)),
    ("v1-0.25-136", ModelSpec("v1", 0.25, 136)),  # not the paper's, but buildable with local weights
])
def test_grammar(text, expected):
    assert parse_model(text) == expected


def test_canonical_name_round_trips():
    for spec in zoo_specs():
        assert parse_model(spec.name) == spec
    assert parse_model("v2-1.4").name == "v2-1.4-224"
    assert parse_model("v3-small-min").name == "v3-small-1.0-224-min"


def test_zoo_size_and_paper_flags():
    specs = list(zoo_specs())
    assert sum(s.family == "v1" for s in specs) == 16
    assert sum(s.family == "v2" for s in specs) == 30
    assert all(s.paper_resolution for s in specs)
    assert not parse_model("v1-0.25-136").paper_resolution


def test_suggestion_for_near_miss():
    with pytest.raises(UnknownModelError, match=r"did you mean 'v3-small'\?"):
        parse_model("v3-smal")


@pytest.mark.parametrize("text, fragment", [
    ("resnet50", "unknown model 'resnet50'"),
    ("v1-0.3", "no width multiplier 0.3"),
    ("v3-small-0.5", "no width multiplier 0.5"),
    ("v1-min", "only v3-small and v3-large"),
    ("v1-0.25-130", "resolution 130 is impossible"),
    ("v1-0.25-24", "resolution 24 is impossible"),
    ("v1-128-0.25", "order is FAMILY-ALPHA-RESOLUTION"),
    ("v3-small-min-224", "'-min' must come last"),
])
def test_bad_names(text, fragment):
    with pytest.raises(UnknownModelError, match=fragment.replace("(", r"\(")):
        parse_model(text)


def test_preprocessing_per_family():
    import numpy as np

    pixels = np.array([0, 127.5, 255], dtype=np.float32)
    for name in ("v1", "v2"):
        np.testing.assert_allclose(parse_model(name).preprocessing.apply(pixels), [-1, 0, 1], atol=1e-6)
    for name in ("v3-small", "v3-large-min"):
        np.testing.assert_allclose(parse_model(name).preprocessing.apply(pixels), pixels)
