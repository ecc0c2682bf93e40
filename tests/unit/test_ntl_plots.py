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
        np.testing.assert_array_equal(trace.y, plots.shown_gradient(s.gradients[name]))
        np.testing.assert_array_equal(trace.customdata, s.gradients[name])  # hover keeps the exact value


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


def test_gradient_panels_share_one_y_scale_so_tiny_gradients_look_tiny():
    """The defect: each panel had its own axis, so NTL's 1e-9 gradients were drawn as tall as CE's ±1."""
    s = score_digit(7, logits=preset_logits("neighbour", 7, temperature=0.1))
    assert max(np.abs(s.gradients["NTL-WAS"]).max(), np.abs(s.gradients["NTL-MSE"]).max()) < 1e-6 < \
        np.abs(s.gradients["CE"]).max()
    fig = plots.gradients_figure(s)
    others = [fig.layout[f"yaxis{i}"] for i in range(2, 6)]
    assert all(ax.matches == "y" for ax in others)  # one scale for all five panels
    assert [t.yaxis for t in fig.data] == ["y", "y2", "y3", "y4", "y5"]
    low, high = fig.layout.yaxis.range
    assert high >= np.abs(s.gradients["CE"]).max() and low == -high
    by_name = {t.name: t for t in fig.data}
    for name in ("NTL-MSE", "NTL-MAE", "NTL-Huber", "NTL-WAS"):
        assert not np.any(by_name[name].y), name  # below the floor: drawn as exactly 0 ...
    titles = [a.text for a in fig.layout.annotations]
    assert "NTL-WAS (≈ 0)" in titles and "CE" in titles  # ... and labelled as such


def test_gradients_above_the_floor_are_drawn_exactly():
    g = np.array([0.5, -2e-7, 1e-6, -0.3, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(plots.shown_gradient(g), [0.5, 0, 1e-6, -0.3, 0, 0, 0, 0, 0, 0])


def test_multi_panel_charts_keep_titles_short_for_narrow_screens():
    """1024 px: five panel titles side by side must fit (checked by bounding boxes in the browser test)."""
    s = score_digit(4, logits=preset_logits("bimodal", 4))
    for fig in (plots.sweep_figure(sweep_peak(4, 5.0)), plots.gradients_figure(s)):
        assert all(len(a.text) <= 18 for a in fig.layout.annotations if a.text)
        first_line = fig.layout.title.text.split("<br>")[0]
        assert len(first_line) <= 60, first_line
