"""Weight rounding algorithms: on the converters' grid, and better than round-to-nearest."""

import numpy as np

from edgekit.quant.gptq import QMAX, grid_scale, gptq, round_to_grid


def _problem(seed=0, rows=16, cols=24, n=4000):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(cols, cols))
    x = np.abs(rng.normal(size=(n, cols)) @ mix) + 0.5  # correlated, positive (post-ReLU-like) inputs
    w = rng.normal(size=(rows, cols)) * rng.uniform(0.01, 1, size=(rows, 1))
    w[:, 0] *= 20  # an outlier column: coarse grid for the others
    return w, x


def test_gptq_stays_on_the_converter_grid():
    w, x = _problem()
    q = gptq(w, x.T @ x / len(x))
    scale = grid_scale(w)
    steps = q / scale[:, None]
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-6)
    assert np.abs(steps).max() <= QMAX + 1e-9
    # each row keeps its largest weight, so a converter recomputes exactly the same scale
    np.testing.assert_allclose(grid_scale(q), scale, rtol=1e-12)


def test_gptq_beats_round_to_nearest_on_output_error():
    w, x = _problem(1)
    h = x.T @ x / len(x)
    rtn = round_to_grid(w, grid_scale(w)[:, None])
    ours = gptq(w, h)
    ordered = gptq(w, h, act_order=True)
    err = lambda q: float(np.mean(((q - w) @ x.T) ** 2))  # noqa: E731
    assert err(ours) < 0.5 * err(rtn)
    assert err(ordered) < 0.5 * err(rtn)


def test_gptq_per_row_hessians_for_depthwise():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(4, 9))
    xs = [np.abs(rng.normal(size=(500, 9)) @ rng.normal(size=(9, 9))) for _ in range(4)]
    h = np.stack([x.T @ x / len(x) for x in xs])
    q = gptq(w, h)
    rtn = round_to_grid(w, grid_scale(w)[:, None])
    for row, x in enumerate(xs):
        assert np.mean(((q[row] - w[row]) @ x.T) ** 2) <= np.mean(((rtn[row] - w[row]) @ x.T) ** 2) + 1e-12


def test_sampled_patches_are_the_im2col_rows():
    """Sequential GPTQ gathers only sampled windows; they must be exactly im2col's rows."""
    import keras

    from edgekit.quant.stats import patches_at, patches_of, sample_positions

    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 15, 16, 5)).astype(np.float32)
    for layer in (keras.layers.DepthwiseConv2D(3, 2, padding="same"), keras.layers.DepthwiseConv2D(5, 1, padding="same"),
                  keras.layers.Conv2D(4, 1), keras.layers.Conv2D(4, 3, 2, padding="valid")):
        layer.build(x.shape)
        every = sample_positions(layer, x.shape, 10**9, rng)
        np.testing.assert_array_equal(patches_at(layer, x, every), patches_of(layer, x))
        some = sample_positions(layer, x.shape, 7, rng)
        assert len(some[0]) == 7 and len(set(zip(*some))) == 7  # without replacement


def test_int8_grid_is_tflites_asymmetric_grid():
    from edgekit.quant.sequential import fake_quant, int8_grid

    scale, zero_point = int8_grid(0.0, 6.0)  # a ReLU6 output
    assert scale == 6 / 255 and zero_point == -128
    values = np.linspace(-1, 7, 101)
    q = fake_quant(values, scale, zero_point)
    assert q.min() == 0 and q.max() == np.float32(6.0)
    scale, zero_point = int8_grid(0.5, 2.0)  # a range that excludes 0 is widened to hold it
    assert scale == 2 / 255 and zero_point == -128


def test_sequential_gptq_rounds_onto_the_grid_and_moves_offsets_into_batch_norm():
    import keras

    from edgekit.quant import prepare_for_int8
    from edgekit.quant.stats import conv_layers

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU(6.0)(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU(6.0)(x)
    outputs = keras.layers.Conv2D(5, 1)(x)
    model = keras.Model(inputs, outputs)
    images = np.random.default_rng(4).uniform(-1, 1, (40, 16, 16, 3)).astype(np.float32)
    before = [w.copy() for w in model.get_weights()]
    rounded = prepare_for_int8(model, images, "gptq-seq")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # the caller's model is untouched
    for layer in conv_layers(rounded):
        kernel = layer.get_weights()[0]
        rows = kernel[:, :, :, 0].reshape(-1, kernel.shape[2]).T if kernel.shape[-1] == 1 and \
            type(layer).__name__ == "DepthwiseConv2D" else kernel.reshape(-1, kernel.shape[-1]).T
        steps = rows / grid_scale(rows)[:, None]
        np.testing.assert_allclose(steps, np.round(steps), atol=1e-4)
    moved = [a for a, b in zip(model.get_weights(), rounded.get_weights()) if a.shape == b.shape and
             not np.allclose(a, b)]
    assert len(moved) >= 4  # kernels and the BN means / last bias that took the fitted offsets
    float_out = np.asarray(model.predict(images, verbose=0))
    seq_out = np.asarray(rounded.predict(images, verbose=0))
    assert np.mean((seq_out - float_out) ** 2) < 0.05 * np.mean(float_out ** 2)  # still the same function, roughly


def test_the_vocabulary_names_every_rounding_algorithm_and_the_cli_offers_them():
    from edgekit.cli import convert
    from edgekit.quant import ALGORITHMS
    from edgekit.vocab import DEFAULT_PTQ, PTQ_ALGORITHMS

    assert set(PTQ_ALGORITHMS) == set(ALGORITHMS) and DEFAULT_PTQ in PTQ_ALGORITHMS
    ptq = next(p for p in convert.params if p.name == "ptq")
    assert set(ptq.type.choices) == set(ALGORITHMS) and ptq.default == DEFAULT_PTQ
