"""The lab's verdict and figures, on hand-made histories (no Streamlit, no training)."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest

from ntl_core.lab_plots import MAX_POINTS, curves_figure, digit_heatmaps
from pages._ui.ntl_lab import verdict


def _hist(evals: dict[int, tuple[float, float]], split: str = "interpolation") -> list[dict]:
    rows = [{"step": s, "loss": 1.0 / s, "ce": 1.0 / s} for s in range(1, max(evals) + 1)]
    rows += [{"step": s, "split": split, "exact_match": em, "mae": mae} for s, (em, mae) in evals.items()]
    return rows


def test_ntl_ahead_on_exact_match():
    v = verdict({"ce": _hist({10: (0.31, 4.0)}), "was": _hist({10: (0.77, 1.0)})}, seed=3)
    assert v.ntl_ahead is True and v.step == 10
    assert v.lines == ("CE + NTL-WAS is ahead of CE on seed 3 at step 10: exact match 0.77 vs 0.31, "
                       "MAE 1 vs 4 (interpolation).",)


def test_ntl_behind_is_said_plainly():
    v = verdict({"ce": _hist({10: (0.5, 2.0)}), "mse": _hist({10: (0.4, 1.0)})}, seed=0)
    assert v.ntl_ahead is False
    assert "CE + NTL-MSE is NOT ahead of CE" in v.lines[0]


def test_exact_match_tie_is_decided_by_mae_then_reported_as_tie():
    assert verdict({"ce": _hist({5: (0.5, 2.0)}), "was": _hist({5: (0.5, 1.5)})}, 0).ntl_ahead is True
    assert verdict({"ce": _hist({5: (0.5, 2.0)}), "was": _hist({5: (0.5, 2.5)})}, 0).ntl_ahead is False
    tie = verdict({"ce": _hist({5: (0.5, 2.0)}), "was": _hist({5: (0.5, 2.0)})}, 0)
    assert tie.ntl_ahead is False and "ties with CE" in tie.lines[0]


def test_uses_latest_step_all_runs_have_and_any_ntl_run_counts():
    hists = {"ce": _hist({5: (0.1, 9.0), 10: (0.9, 0.1)}), "was": _hist({5: (0.2, 8.0)}),
             "mse": _hist({5: (0.0, 9.5), 10: (0.0, 9.5)})}
    v = verdict(hists, 0)
    assert v.step == 5 and v.ntl_ahead is True and len(v.lines) == 2


def test_nan_mae_is_shown_as_na():
    v = verdict({"ce": _hist({5: (0.0, math.nan)}), "was": _hist({5: (0.25, math.nan)})}, 0)
    assert v.ntl_ahead is True and "MAE n/a vs n/a" in v.lines[0]


@pytest.mark.parametrize("hists", [
    {"was": _hist({5: (0.5, 1.0)})},  # no baseline
    {"ce": _hist({5: (0.5, 1.0)})},  # nothing to compare
    {"ce": [{"step": 1, "loss": 1.0}], "was": [{"step": 1, "loss": 1.0}]},  # no evaluation yet
    {"ce": _hist({5: (0.5, 1.0)}), "reg": _hist({5: (0.9, 0.1)})},  # regression head is not NTL
])
def test_no_ntl_verdict_without_ce_ntl_and_an_evaluation(hists):
    assert verdict(hists, 0).ntl_ahead is None


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


def test_heatmaps_show_the_given_probabilities():
    p = np.eye(10)[[3, 1]] * 0.9
    fig = digit_heatmaps({"ce": p, "was": p[::-1]}, "9+4=", "31")
    assert len(fig.data) == 2
    assert np.allclose(np.asarray(fig.data[0].z), p) and np.allclose(np.asarray(fig.data[1].z), p[::-1])
    assert list(fig.data[0].y) == ["pos 0 (true 3)", "pos 1 (true 1)"]


def test_unvalidated_specs_pass_plotly_validation():
    """The figures skip validation for speed; their specs must still be valid plotly."""
    hist = _hist({5: (0.5, 1.0), 10: (0.6, math.nan)}) + _hist({5: (0.4, 2.0)}, split="extrapolation")
    for fig in (curves_figure({"ce": hist, "was": hist}),
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
