"""Verdict over seeds on constructed histories: ahead, behind, tie, 0 vs 0, ahead on EM but worse on MAE."""
from __future__ import annotations

import math

import pytest

from ntl_core.verdict import compare, steps_until_table


def _hist(em, mae, mape=None, step=100):
    row = {"step": step, "split": "interpolation", "exact_match": em, "mae": mae,
           "mape": mae / 50 if mape is None else mape}
    return [{"step": step, "loss": 1.0}, row]


def _runs(ce, was):
    """ce/was: lists of (em, mae) per seed."""
    out = {}
    for seed, (c, w) in enumerate(zip(ce, was)):
        out[("ce", seed)] = _hist(*c)
        out[("was", seed)] = _hist(*w)
    return out


CE = [(0.50, 10.0), (0.55, 9.0), (0.60, 8.0)]


def test_ahead_when_the_paired_ci_excludes_zero():
    v = compare(_runs(CE, [(0.70, 6.0), (0.72, 5.0), (0.80, 4.0)]))
    (lv,) = v.losses
    assert (lv.outcome, v.box, lv.n, lv.wins) == ("ahead", "success", 3, 3)
    assert lv.diff == pytest.approx((0.2 + 0.17 + 0.2) / 3)
    assert lv.diff - lv.ci95 > 0 and "is ahead of CE" in v.lines[0] and "3 seeds" in v.lines[0]


def test_behind():
    v = compare(_runs(CE, [(0.30, 12.0), (0.38, 11.0), (0.41, 10.0)]))
    assert (v.losses[0].outcome, v.box) == ("behind", "warning")


def test_no_clear_difference_when_the_ci_includes_zero():
    v = compare(_runs(CE, [(0.60, 9.0), (0.45, 9.5), (0.62, 8.0)]))
    assert (v.losses[0].outcome, v.box) == ("no clear difference", "info")
    assert "includes 0" in v.lines[0]


def test_zero_vs_zero_exact_match_is_no_success():
    zeros = [(0.0, 40.0), (0.0, 45.0), (0.0, 50.0)]
    v = compare(_runs(zeros, zeros))
    assert (v.losses[0].outcome, v.box) == ("tie at 0", "info")
    assert "says nothing about NTL" in v.lines[0]


def test_ahead_on_exact_match_but_worse_on_mae_is_mixed():
    v = compare(_runs(CE, [(0.70, 20.0), (0.72, 19.0), (0.80, 22.0)]))
    assert (v.losses[0].outcome, v.box) == ("mixed", "warning")
    assert "significantly worse on mae" in v.lines[0]


def test_one_seed_gives_no_interval_and_no_green_box():
    v = compare(_runs(CE[:1], [(0.9, 1.0)]))
    assert (v.losses[0].outcome, v.box) == ("one seed", "info")
    assert math.isnan(v.losses[0].ci95)


def test_headline_mape_and_missing_pieces():
    v = compare(_runs(CE, [(0.50, 5.0), (0.55, 4.0), (0.60, 3.0)]), headline="mape")
    assert v.losses[0].outcome == "ahead" and v.losses[0].diff > 0  # lower MAPE counts as better
    # MAPE reads in per cent, as on its chart and in the threshold box (not as a fraction such as 1.28).
    text = v.losses[0].text
    assert f"mape {100 * v.losses[0].mean:.3g} % vs {100 * v.losses[0].mean_ce:.3g} % (CE)" in text
    assert "percentage points" in text
    assert compare({("was", 0): _hist(0.5, 1.0)}).box == "info"
    assert "No evaluation yet" in compare({("ce", 0): [{"step": 1}], ("was", 0): [{"step": 1}]}).lines[0]
    with pytest.raises(ValueError, match="headline"):
        compare(_runs(CE, CE), headline="accuracy")


def test_steps_until_table_counts_seeds_that_never_get_there():
    rows = lambda values: [{"step": 50 * (i + 1), "split": "interpolation", "mape": v} for i, v in enumerate(values)]
    table = steps_until_table({("ce", 0): rows([0.5, 0.2, 0.04]), ("ce", 1): rows([0.5, 0.3, 0.2]),
                               ("was", 0): rows([0.3, 0.04, 0.01]), ("was", 1): rows([0.04, 0.03, 0.02])}, 0.05)
    assert table["ce"]["per_seed"] == {0: 150, 1: None} and (table["ce"]["reached"], table["ce"]["n"]) == (1, 2)
    assert table["was"]["mean"] == 75 and table["was"]["reached"] == 2
