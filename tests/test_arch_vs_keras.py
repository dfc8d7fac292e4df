"""The pure-Python architecture must be the Keras model, layer by layer."""

import pytest

from edgekit.zoo import arch
from edgekit.zoo.build import build
from edgekit.zoo.count import count, keras_layer_counts
from edgekit.zoo.spec import parse_model

SMALL = [
    "v1-0.25-128", "v1-0.5-136",  # 136: odd feature maps exercise v1's (0,1) padding
    "v1-conv-0.25-128", "v1-conv-0.5-136",  # Conv MobileNet: our own Keras builder
    "v1-0.25-128-d1.4", "v2-0.35-96-d2", "v2-2.0-96",  # EfficientNet Table 3 scaling: depth (own builder), width 2
    "efficientnet-b0-1.0-96", "efficientnet-lite0-1.0-96", "mnasnet-a1-0.35-96", "mnasnet-a1-1.4-128",
    "v2-0.35-96", "v2-1.3-160", "v2-0.5-104",
    "v3-small-0.75-128", "v3-small-1.0-96-min", "v3-large-0.75-160-min", "v3-large-1.0-120",
    # the v3 paper's Sec. 5.1 ablations (the original last stage, the 32-filter stem) and other class counts
    "v3-large-1.0-96-origlast-stem32", "v3-small-0.75-128-stem32", "v3-small-1.0-96-origlast-min", "v3-large-0.75-96-relu", "v3-small-1.0-96-origlast-relu",
    "v1-0.25-128-c120", "v2-0.35-96-c10", "mnasnet-a1-0.35-96-c5",
    # ShuffleNet v1 (the v2 paper's Table 4 rival): grouped convolutions and the channel shuffle
    "shufflenet-v1-g3-0.5-96", "shufflenet-v1-g8-0.5-64", "shufflenet-v1-g1-0.25-64", "shufflenet-v1-g2-1.0-96",
    "nasnet-a-mobile",  # recorded from keras.applications.NASNetMobile (zoo/recorded.py): the stored table is live
]
FULL = ["v1-1.0-224", "v2-1.4-224", "v3-small-1.0-224", "v3-large-1.0-224", "shufflenet-v1-g3-1.5-224"]


def _check(name):
    spec = parse_model(name)
    model, _ = build(spec, "none")
    counted = count(spec)
    assert counted.params == model.count_params()
    keras_layers = keras_layer_counts(model)
    ours = {c.layer.name: c for c in counted.layers if c.layer.op in arch.MAC_OPS}
    norms = {layer.name for layer in model.layers if type(layer).__name__ == "BatchNormalization"}
    assert set(ours) == {n for n in keras_layers if n not in norms}
    for layer_name, c in ours.items():
        macs, _, shape = keras_layers[layer_name]
        assert c.macs == macs, layer_name
        assert tuple(shape)[-1] == c.layer.out_shape[2], layer_name
        if len(shape) == 3:
            assert tuple(shape) == c.layer.out_shape, layer_name
    assert sum(m for m, _, _ in keras_layers.values()) == counted.macs


@pytest.mark.parametrize("name", SMALL)
def test_small_variants_match_keras(name):
    _check(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", FULL)
def test_full_size_variants_match_keras(name):
    _check(name)
