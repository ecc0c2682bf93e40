"""Answer metrics and seed statistics against hand computations, scikit-learn and scipy."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import mean_absolute_error, r2_score

from ntl_core.comparison import RunResult, mean_ci, paired, summarize
from ntl_core.metrics import answer_metrics, digit_accuracy, parse_number


def test_hand_computed_example():
    preds = ["46", "47", "6", "x"]
    trues = ["46", "46", "46", "10"]
    m = answer_metrics(preds, trues)
    assert m["exact_match"] == 0.25
    assert m["digit_acc"] == pytest.approx((1 + 0.5 + 0.5 + 0) / 4)  # "6" has the units, misses the tens
    assert m["valid"] == 0.75
    assert m["mae"] == pytest.approx((0 + 1 + 40) / 3)  # the unparseable "x" is left out
    assert m["mape"] == pytest.approx((0 + 1 / 46 + 40 / 46) / 3)
    assert math.isnan(m["r2"])  # every scored true value is 46: R² undefined


def test_numeric_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(-500, 500, size=200)
    yhat = y + rng.integers(-20, 20, size=200)
    m = answer_metrics([str(v) for v in yhat], [str(v) for v in y])
    assert m["mae"] == pytest.approx(mean_absolute_error(y, yhat))
    assert m["r2"] == pytest.approx(r2_score(y, yhat))
    assert m["mape"] == pytest.approx(np.mean(np.abs(yhat - y) / np.maximum(np.abs(y), 1)))
    assert m["exact_match"] == pytest.approx(np.mean(yhat == y))


@pytest.mark.parametrize("pred, true, expected", [
    ("46", "46", 1.0), ("47", "46", 0.5), ("146", "46", 1.0), ("-46", "46", 1.0),
    ("", "46", 0.0), ("9", "100", 0.0), ("100", "100", 1.0), ("True", "True", 1.0), ("x", "True", 0.0),
])
def test_digit_accuracy(pred, true, expected):
    assert digit_accuracy(pred, true) == expected


def test_parse_number():
    assert parse_number(" 12 ") == 12.0
    assert parse_number("-3.5") == -3.5
    assert parse_number("1/2") is None
    assert parse_number("") is None


def test_metrics_reject_mismatched_lists():
    with pytest.raises(ValueError):
        answer_metrics(["1"], ["1", "2"])
    with pytest.raises(ValueError):
        answer_metrics([], [])


def test_mean_ci_matches_scipy_t_interval():
    x = [0.2, 0.5, 0.45, 0.31]
    out = mean_ci(x)
    low, high = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert out["mean"] == pytest.approx(np.mean(x))
    assert out["ci95"] == pytest.approx((high - low) / 2)
    assert math.isnan(mean_ci([0.3])["ci95"])
    assert mean_ci([float("nan"), 1.0, 3.0])["n"] == 2


def test_paired_comparison_matches_ttest_rel():
    a, b = [0.8, 0.7, 0.9], [0.6, 0.65, 0.7]
    out = paired(a, b, higher_is_better=True)
    assert out["mean_diff"] == pytest.approx(np.mean(np.subtract(a, b)))
    assert out["p_value"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert out["wins"] == 3
    assert paired(a, b, higher_is_better=False)["wins"] == 0


def test_summarize_groups_by_loss_split_and_metric():
    def result(loss, seed, em):
        final = {"interpolation": {"exact_match": em, "digit_acc": em, "mae": 1 - em, "mape": 0.0, "r2": em, "valid": 1.0}}
        return RunResult(loss, seed, final, 10, 1.0, 10.0)

    results = [result("ce", 0, 0.5), result("was", 0, 0.7), result("ce", 1, 0.4), result("was", 1, 0.5)]
    out = summarize(results)
    assert out["summary"]["was"]["interpolation"]["exact_match"]["values"] == [0.7, 0.5]
    assert out["summary"]["ce"]["interpolation"]["exact_match"]["mean"] == pytest.approx(0.45)
    diff = out["paired_vs_ce"]["was"]["interpolation"]
    assert diff["exact_match"]["mean_diff"] == pytest.approx(0.15)
    assert diff["mae"]["wins"] == 2  # lower MAE is better
