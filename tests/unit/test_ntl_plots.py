"""The plot builders draw exactly the numbers ntl_core.scoring returns."""
import numpy as np

from ntl_core import plots
from ntl_core.scoring import LOSS_NAMES, number_preset_logits, preset_logits, score_digit, score_number, sweep_peak


def test_digit_figures_carry_the_scores():
    s = score_digit(3, logits=preset_logits("bimodal", 3))
    dist = plots.distribution_figure(s)
    np.testing.assert_array_equal(dist.data[0].y, s.probs)
    assert dist.layout.shapes[0].x0 == s.expected
    assert list(dist.data[0].marker.color).count(plots.TARGET_COLOR) == 1
    losses = plots.losses_figure(s)
    assert list(losses.data[0].x) == list(LOSS_NAMES)
    np.testing.assert_array_equal(losses.data[0].y, [s.losses[n] for n in LOSS_NAMES])
    grads = plots.gradients_figure(s)
    for trace, name in zip(grads.data, LOSS_NAMES):
        np.testing.assert_array_equal(trace.y, s.gradients[name])


def test_sweep_figure_has_one_panel_per_loss():
    sw = sweep_peak(6, 0.5)
    fig = plots.sweep_figure(sw)
    assert [t.name for t in fig.data] == list(LOSS_NAMES)
    for trace in fig.data:
        np.testing.assert_array_equal(trace.y, sw.losses[trace.name])


def test_number_figures():
    ns = score_number("472", number_preset_logits("472", ["far", "peaked", "neighbour"]))
    heat = plots.number_distributions_figure(ns)
    np.testing.assert_array_equal(heat.data[0].z, np.stack([p.probs for p in ns.positions]))
    assert list(heat.data[0].y) == ["hundreds (4)", "tens (7)", "units (2)"]
    losses = plots.number_losses_figure(ns)
    assert losses.data[1].y[0] == ns.number_loss
    grads = plots.number_gradients_figure(ns)
    np.testing.assert_allclose(grads.data[1].customdata, np.linalg.norm(ns.number_gradients, axis=1))
    assert max(grads.data[0].y) == 1.0 and max(grads.data[1].y) == 1.0
