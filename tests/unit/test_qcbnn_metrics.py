"""Metrics against hand computations and scikit-learn."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from qcbnn_core.metrics import (
    auroc, evaluate, per_sample_uncertainty, reliability, uncertainty_gap,
)
from tests.unit.qcbnn_doubles import torch_one_thread  # noqa: F401  (autouse fixture)

# Two weight draws, three inputs, two classes; labels 1, 0, 1.
PROBS = np.array([
    [[0.2, 0.8], [0.6, 0.4], [0.9, 0.1]],
    [[0.4, 0.6], [0.8, 0.2], [0.3, 0.7]],
])
Y = np.array([1, 0, 1])



def H(*p):
    return -sum(q * math.log(q) for q in p)


def test_scores_by_hand():
    ev = evaluate(PROBS, Y, n_bins=2, n_boot=50)
    # mean probs: [0.3, 0.7], [0.7, 0.3], [0.6, 0.4] -> predictions 1, 0, 0 -> 2/3 correct
    assert ev.accuracy == pytest.approx(2 / 3)
    assert ev.balanced_accuracy == pytest.approx((1 / 2 + 1) / 2)
    assert ev.nll == pytest.approx(-(math.log(0.7) + math.log(0.7) + math.log(0.4)) / 3)
    assert ev.brier == pytest.approx((2 * 0.3**2 + 2 * 0.3**2 + 2 * 0.6**2) / 3)
    # AUROC on p(1) = 0.7, 0.3, 0.4 with labels 1, 0, 1: positives 0.7 and 0.4 both beat the negative 0.3
    assert ev.auroc == pytest.approx(1.0)
    # ECE with 2 bins (0, .5], (.5, 1]: all confidences (.7, .7, .6) in bin 2; acc 2/3, mean conf 2/3
    assert ev.ece == pytest.approx(abs(2 / 3 - 2.0 / 3), abs=1e-12)
    assert ev.reliability.count == [0, 3]


def test_uncertainty_by_hand():
    u = per_sample_uncertainty(PROBS)
    assert u["predictive_entropy"][0] == pytest.approx(H(0.3, 0.7))
    assert u["expected_entropy"][0] == pytest.approx((H(0.2, 0.8) + H(0.4, 0.6)) / 2)
    assert u["mutual_information"][2] == pytest.approx(H(0.6, 0.4) - (H(0.9, 0.1) + H(0.3, 0.7)) / 2)
    assert u["std_p_positive"][2] == pytest.approx(0.3)  # values 0.1 and 0.7: population std 0.3


def test_uncertainty_identities():
    rng = np.random.default_rng(0)
    p = rng.dirichlet([1, 1], size=(16, 40))
    u = per_sample_uncertainty(p)
    assert (u["mutual_information"] >= 0).all()
    np.testing.assert_allclose(u["std_p_positive"], p[:, :, 1].std(0))
    same = np.repeat(p[:1], 5, axis=0)  # identical draws: no epistemic uncertainty
    np.testing.assert_allclose(per_sample_uncertainty(same)["mutual_information"], 0.0, atol=1e-12)
    np.testing.assert_allclose(per_sample_uncertainty(same)["std_p_positive"], 0.0, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_against_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = 200
    y = rng.integers(0, 2, n)
    p1 = np.clip(0.5 * y + rng.uniform(0, 0.5, n), 0.01, 0.99)
    p1 = np.round(p1, 1)  # create ties for AUROC
    probs = np.stack([1 - p1, p1], axis=1)[None]
    ev = evaluate(probs, y, n_boot=20)
    assert ev.accuracy == pytest.approx(skm.accuracy_score(y, p1 > 0.5))
    assert ev.balanced_accuracy == pytest.approx(skm.balanced_accuracy_score(y, p1 > 0.5))
    assert ev.auroc == pytest.approx(skm.roc_auc_score(y, p1))
    assert ev.nll == pytest.approx(skm.log_loss(y, p1))
    assert ev.brier == pytest.approx(2 * skm.brier_score_loss(y, p1))


def test_ece_by_hand_with_several_bins():
    conf = np.array([0.55, 0.65, 0.95, 0.92, 0.58])
    correct = np.array([1, 0, 1, 1, 0])
    pred = np.array([1, 1, 0, 1, 0])
    y = np.where(correct == 1, pred, 1 - pred)
    p = np.zeros((5, 2))
    p[np.arange(5), pred] = conf
    p[np.arange(5), 1 - pred] = 1 - conf
    ece, bins = reliability(p, y, n_bins=5)  # edges 0, .2, .4, .6, .8, 1
    # bin (.4,.6]: {.55 right, .58 wrong}; bin (.6,.8]: {.65 wrong}; bin (.8,1]: {.95, .92 right}
    expected = (2 * abs(0.5 - 0.565) + 1 * abs(0.0 - 0.65) + 2 * abs(1.0 - 0.935)) / 5
    assert ece == pytest.approx(expected)
    assert bins.count == [0, 0, 2, 1, 2]
    assert bins.accuracy[2] == pytest.approx(0.5) and math.isnan(bins.accuracy[0])


def test_auroc_single_class_is_nan():
    assert math.isnan(auroc(np.array([0.1, 0.9]), np.array([1, 1])))


def test_uncertainty_gap_by_hand_and_ci():
    u = np.array([0.9, 0.7, 0.1, 0.2, 0.3])
    correct = np.array([False, False, True, True, True])
    g = uncertainty_gap(u, correct, n_boot=500, seed=1)
    assert g.gap == pytest.approx(0.8 - 0.2)
    assert (g.mean_wrong, g.mean_right, g.n_wrong, g.n_right) == (pytest.approx(0.8), pytest.approx(0.2), 2, 3)
    assert g.ci_low <= g.gap <= g.ci_high
    assert uncertainty_gap(u, correct, n_boot=500, seed=1) == g  # seeded
    none_wrong = uncertainty_gap(u, np.ones(5, bool))
    assert math.isnan(none_wrong.gap) and none_wrong.n_wrong == 0


def test_uncertainty_gap_ci_covers_the_true_difference():
    """Percentile-bootstrap 95% CIs of a difference of means should cover the truth most of the time."""
    rng = np.random.default_rng(0)
    covered = 0
    trials = 60
    for t in range(trials):
        wrong = rng.normal(1.0, 1.0, 40)
        right = rng.normal(0.5, 1.0, 120)
        g = uncertainty_gap(np.r_[wrong, right], np.r_[np.zeros(40, bool), np.ones(120, bool)], n_boot=400, seed=t)
        covered += g.ci_low <= 0.5 <= g.ci_high
    assert covered / trials >= 0.85


def test_evaluate_validates_shapes():
    with pytest.raises(ValueError, match="shape \\(S, N, C\\)"):
        evaluate(PROBS[0], Y)
    with pytest.raises(ValueError, match="N=3"):
        evaluate(PROBS, Y[:2])
    with pytest.raises(ValueError, match="labels must be in"):
        evaluate(PROBS, np.array([0, 1, 2]))


def test_to_dict_is_json_ready():
    import json

    d = evaluate(PROBS, Y, n_boot=10).to_dict()
    json.dumps(d)
    assert set(d["uncertainty_gap"]) == {"predictive_entropy", "expected_entropy", "mutual_information", "std_p_positive"}


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(2, 30), st.integers(0, 2**31 - 1))
def test_laws_on_random_mc_predictions(s, n, seed):
    """ECE in [0, 1]; total = aleatoric + epistemic with MI >= 0; AUROC and NLL equal scikit-learn's."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet([0.7, 0.7], size=(s, n))
    y = rng.integers(0, 2, n)
    ev = evaluate(probs, y, n_boot=20)
    assert 0.0 <= ev.ece <= 1.0
    ps = ev.per_sample
    assert (ps["mutual_information"] >= 0).all()
    assert (ps["predictive_entropy"] >= ps["expected_entropy"] - 1e-12).all()
    assert (ps["predictive_entropy"] <= math.log(2) + 1e-12).all()
    p_mean = probs.mean(0)
    assert ev.nll == pytest.approx(skm.log_loss(y, p_mean[:, 1], labels=[0, 1]))
    if 0 < y.sum() < n:
        assert ev.auroc == pytest.approx(skm.roc_auc_score(y, p_mean[:, 1]))


def test_error_auroc_matches_sklearn_on_wrong_vs_right():
    from sklearn.metrics import roc_auc_score

    from qcbnn_core.metrics import error_auroc

    rng = np.random.default_rng(3)
    correct = rng.random(200) < 0.8
    u = rng.random(200) + 0.3 * ~correct
    u[:20] = np.round(u[:20], 1)  # some ties
    assert error_auroc(u, correct) == pytest.approx(roc_auc_score(~correct, u), abs=1e-12)
    assert np.isnan(error_auroc(u, np.ones(200, bool)))


def test_evaluate_reports_error_auroc_per_measure():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    probs = rng.dirichlet([2, 2], size=(8, 60))
    y = rng.integers(0, 2, 60)
    ev = evaluate(probs, y, n_boot=20)
    wrong = ~ev.per_sample["correct"]
    for k, v in ev.error_auroc.items():
        assert v == pytest.approx(roc_auc_score(wrong, ev.per_sample[k]))
        assert ev.scalars()[f"error_auroc_{k}"] == v
    assert set(ev.to_dict()["error_auroc"]) == set(ev.per_sample) & set(ev.error_auroc)
