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
