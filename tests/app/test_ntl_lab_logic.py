"""The lab's figures on hand-made histories (no Streamlit, no training); the verdict is tested in
tests/unit/test_ntl_verdict.py."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest

from ntl_core.lab_plots import MAX_POINTS, curves_figure, digit_heatmaps
from pages._ui.ntl_lab import by_key, member_name


def _hist(evals: dict[int, tuple[float, float]], split: str = "interpolation") -> list[dict]:
    rows = [{"step": s, "loss": 1.0 / s, "ce": 1.0 / s} for s in range(1, max(evals) + 1)]
    rows += [{"step": s, "split": split, "exact_match": em, "mae": mae, "mape": mae / 100}
             for s, (em, mae) in evals.items()]
    return rows


def test_curves_plot_the_ce_part_binned_and_the_eval_metrics():
    n = 1000
    ce = [{"step": s, "loss": 5.0, "ce": float(s)} for s in range(1, n + 1)]
    ev = [{"step": s, "split": sp, "exact_match": s / n, "mae": 1.0} for s in (500, 1000)
          for sp in ("interpolation", "extrapolation")]
    fig = curves_figure({"was": ce + ev})
    loss_trace = fig.data[0]
    assert len(loss_trace.x) == MAX_POINTS
    # Bins of 2.5 steps on average; the binned curve keeps the mean of the raw values.
    assert np.isclose(np.mean(loss_trace.y), np.mean(np.arange(1, n + 1)), rtol=1e-2)
    assert loss_trace.y[0] == pytest.approx(np.mean([1, 2]))  # first bin covers steps 1-2
    em = [t for t in fig.data if t.xaxis == "x2"]
    assert [list(t.y) for t in em] == [[0.5, 1.0], [0.5, 1.0]]
    assert {t.line.dash for t in em} == {"solid", "dot"}


def test_mape_and_mae_show_interpolation_on_their_own_axes():
    hist = _hist({5: (0.2, 3.0), 10: (0.4, 2.0)}) + _hist({5: (0.0, 4000.0), 10: (0.0, 3000.0)}, "extrapolation")
    fig = curves_figure({"ce": hist})
    for axis, metric in (("x3", [3.0, 2.0]), ("x4", [3.0, 2.0])):  # MAPE 0.03, 0.02 is drawn in per cent
        traces = [t for t in fig.data if t.xaxis == axis]
        assert [list(t.y) for t in traces] == [pytest.approx(metric)]  # extrapolation's thousands are not here
    titles = [a.text for a in fig.layout.annotations]
    assert "MAPE % (interpolation, log)" in titles and "MAE (interpolation)" in titles
    assert fig.layout.yaxis3.type == "log" and fig.layout.yaxis4.type != "log"  # MAE spans less than two decades


def test_runs_saved_without_training_rows_say_so_in_the_loss_panel():
    evals_only = [row for row in _hist({5: (0.2, 3.0)}) if "split" in row]  # like the gallery's runs
    titles = [a.text for a in curves_figure({"ce": evals_only}).layout.annotations]
    assert "Training loss (not recorded in these runs)" in titles
    titles = [a.text for a in curves_figure({"ce": _hist({5: (0.2, 3.0)})}).layout.annotations]
    assert "Training loss (CE part)" in titles


def test_one_evaluation_is_drawn_on_the_whole_step_range():
    fig = curves_figure({"ce": _hist({100: (0.1, 5.0)})}, total_steps=1000)
    for name in ("xaxis", "xaxis2", "xaxis3", "xaxis4"):
        assert list(fig.layout[name].range) == [0, 1000]


def test_seeds_give_a_mean_with_a_band_and_optional_seed_lines():
    runs = {("was", 0): _hist({5: (0.2, 4.0)}), ("was", 1): _hist({5: (0.4, 2.0)}), ("ce", 0): _hist({5: (0.1, 6.0)})}
    fig = curves_figure(runs)
    em = [t for t in fig.data if t.xaxis == "x2"]
    band = [t for t in em if t.fill == "toself"]
    assert len(band) == 1  # only the loss with two seeds has a band
    mean = [t for t in em if t.fill != "toself" and t.legendgroup == "was"]
    assert list(mean[0].y) == [pytest.approx(0.3)]
    assert band[0].y[0] > 0.3 > band[0].y[1]  # upper edge then lower edge of the 95 % CI
    with_seeds = curves_figure(runs, show_seeds=True)
    assert len(with_seeds.data) == len(fig.data) + 3 * 3  # 3 eval panels × 3 runs


def test_member_names_round_trip():
    assert by_key({member_name("was", 3): [1]}) == {("was", 3): [1]}


def test_heatmaps_show_the_given_probabilities():
    p = np.eye(10)[[3, 1]] * 0.9
    fig = digit_heatmaps({"ce": p, "was": p[::-1]}, "9+4=", "31")
    assert len(fig.data) == 2
    assert np.allclose(np.asarray(fig.data[0].z), p) and np.allclose(np.asarray(fig.data[1].z), p[::-1])
    assert list(fig.data[0].y) == ["pos 0 (true 3)", "pos 1 (true 1)"]
    assert fig.layout.height >= 300 and fig.layout.coloraxis.colorbar.len == 1.0  # not squashed at 2 rows


def test_a_run_that_wrote_no_digits_gets_a_note_not_an_empty_axis():
    fig = digit_heatmaps({"ce": np.eye(10)[[3]], "was": np.zeros((0, 10))}, "9+4=", "31")
    assert len(fig.data) == 1  # only the run that wrote digits has a heatmap
    assert "wrote no digits" in [a.text for a in fig.layout.annotations]
    assert fig.layout.xaxis2.visible is False and fig.layout.yaxis2.visible is False


def test_unvalidated_specs_pass_plotly_validation():
    """The figures skip validation for speed; their specs must still be valid plotly."""
    hist = _hist({5: (0.5, 1.0), 10: (0.6, math.nan)}) + _hist({5: (0.4, 2.0)}, split="extrapolation")
    for fig in (curves_figure({("ce", 0): hist, ("ce", 1): hist, ("was", 0): hist}, 20, True),
                digit_heatmaps({"ce": np.zeros((0, 10)), "was": np.eye(10)[:2]}, "1+1=", "2"),
                digit_heatmaps({"ce": np.full((3, 10), 0.1), "mse": np.eye(10)[:3]}, "12+34=", "64")):
        go.Figure(fig.to_dict())  # raises ValueError on any invalid property


def test_cpu_cost_cap_refuses_the_26_second_round_and_allows_the_presets():
    from ntl_core.training import PRESETS
    from pages._ui.ntl_lab import check_cpu_cost

    for name in ("cpu-classroom", "gpu-multiplication"):
        check_cpu_cost(PRESETS[name], 2)  # both presets stay within a tick on a CPU worker
    heavy = PRESETS["gpu-multiplication"].replace(model="gpt2-medium", batch_size=256, digits=6)
    with pytest.raises(ValueError, match="about 26 s"):
        check_cpu_cost(heavy, 4)  # the measured 26.5 s round
    check_cpu_cost(heavy.replace(batch_size=16), 2)


def test_bands_are_filled_areas_inside_each_metrics_range_and_every_line_has_a_legend():
    # Two seeds far apart: a t-interval over two values reaches below 0 (errors) and above 1 (exact match).
    runs = {("was", 0): _hist({5: (0.05, 1.0), 10: (0.9, 0.5)}), ("was", 1): _hist({5: (0.95, 90.0), 10: (1.0, 0.1)})}
    fig = curves_figure(runs)
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(bands) == 3 and all(t.mode == "lines" and t.line.width == 0 for t in bands)  # areas, never markers
    for t in bands:
        low, high = {"x2": (0.0, 1.0), "x3": (0.0, math.inf), "x4": (0.0, math.inf)}[t.xaxis]
        assert all(low <= y <= high for y in t.y), t.xaxis
    assert min(next(t for t in bands if t.xaxis == "x2").y) == 0.0  # clipped, not drawn below 0
    named = [t for t in fig.data if t.xaxis == "x2" and t.fill != "toself"]
    assert all(t.showlegend for t in named) and {t.name for t in named} == {"CE + NTL-WAS (interpolation)"}


def test_errors_spanning_decades_go_on_log_axes_and_bands_reaching_zero_run_to_the_bottom():
    runs = {("ce", 0): _hist({5: (0.0, 3000.0), 10: (0.5, 2.0)}), ("ce", 1): _hist({5: (0.0, 1000.0), 10: (0.6, 0.5)})}
    fig = curves_figure(runs)
    assert fig.layout.yaxis4.type == "log" and "MAE (interpolation, log)" in [a.text for a in fig.layout.annotations]
    mape_band = next(t for t in fig.data if t.xaxis == "x3" and t.fill == "toself")
    assert all(y > 0 for y in mape_band.y)  # never below 0, and drawable on a log axis
    low, high = fig.layout.yaxis3.range
    mape_means = list(next(t for t in fig.data if t.xaxis == "x3" and t.fill != "toself").y)
    assert mape_means == [pytest.approx(2000.0), pytest.approx(1.25)]  # per cent: (30 + 10) / 2 and (0.02 + 0.005) / 2
    assert low <= math.log10(1.25) and high >= math.log10(2000.0)  # both means inside the axis
