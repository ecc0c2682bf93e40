"""ntl_core.scoring against independent computations: numpy formulas, ntloss, finite differences."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast

import ntloss
from ntl_core import scoring
from ntl_core.scoring import (
    DISTRIBUTION_PRESETS,
    LOSS_NAMES,
    check_number,
    number_preset_logits,
    parse_distribution,
    preset_logits,
    score_digit,
    score_number,
    sweep_peak,
)

# Digit tokens deliberately out of value order and between other tokens, so that a test passing
# here cannot rely on "token id == digit value".
_VOCAB_TOKENS = ["<pad>", "<unk>", "7", "+", "3", "0", "=", "9", "1", ".", "5", "2", "x", "8", "4", "6"]

finite_logits = arrays(np.float64, 10, elements=st.floats(-12, 12, allow_nan=False))
digits = st.integers(0, 9)


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    vocab = {tok: i for i, tok in enumerate(_VOCAB_TOKENS)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", unk_token="<unk>")


def _digit_id(tok: PreTrainedTokenizerFast, d: int) -> int:
    return tok.convert_tokens_to_ids(str(d))


def _vocab_logits(tok, digit_logits: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
    """(1, L, V) float32 logits with row i's digit logits at the digit token ids; others random."""
    rows = np.atleast_2d(digit_logits)
    out = rng.normal(size=(1, rows.shape[0], len(_VOCAB_TOKENS)))
    for i, row in enumerate(rows):
        for d in range(10):
            out[0, i, _digit_id(tok, d)] = row[d]
    return torch.tensor(out, dtype=torch.float32)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _hand_losses(z: np.ndarray, t: int) -> dict[str, float]:
    """The paper's formulas in plain numpy."""
    p = _softmax(z)
    k = np.arange(10)
    yhat = float(p @ k)
    err = yhat - t
    return {
        "CE": float(-np.log(p[t])),
        "NTL-MSE": err**2,
        "NTL-MAE": abs(err),
        "NTL-Huber": 0.5 * err**2 if abs(err) < 1 else abs(err) - 0.5,
        "NTL-WAS": float(p @ np.abs(k - t)),
    }


def _closed_form_grads(z: np.ndarray, t: int) -> dict[str, np.ndarray]:
    """d loss / d z_j via dp_k/dz_j = p_k (δ_kj - p_j): for f = Σ_k p_k v_k, df/dz_j = p_j (v_j - f)."""
    p = _softmax(z)
    k = np.arange(10.0)
    yhat = p @ k
    d_yhat = p * (k - yhat)
    err = yhat - t
    was = p @ np.abs(k - t)
    return {
        "CE": p - np.eye(10)[t],
        "NTL-MSE": 2 * err * d_yhat,
        "NTL-MAE": np.sign(err) * d_yhat,
        "NTL-Huber": (err if abs(err) < 1 else np.sign(err)) * d_yhat,
        "NTL-WAS": p * (np.abs(k - t) - was),
    }


# --------------------------------------------------------------------------- formulas


@settings(max_examples=60, deadline=None)
@given(z=finite_logits, t=digits)
def test_losses_match_hand_formulas(z, t):
    s = score_digit(t, logits=z)
    hand = _hand_losses(z, t)
    for name in LOSS_NAMES:
        assert s.losses[name] == pytest.approx(hand[name], rel=1e-9, abs=1e-12), name
    np.testing.assert_allclose(s.probs, _softmax(z), rtol=1e-12)
    assert s.expected == pytest.approx(float(_softmax(z) @ np.arange(10)), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(z=finite_logits, t=digits)
def test_gradients_match_closed_forms(z, t):
    s = score_digit(t, logits=z)
    for name, expected in _closed_form_grads(z, t).items():
        np.testing.assert_allclose(s.gradients[name], expected, rtol=1e-7, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("t", [0, 3, 9])
def test_gradients_match_finite_differences(t):
    z = np.random.default_rng(t).normal(scale=2.0, size=10)
    s = score_digit(t, logits=z)
    h = 1e-6
    for name in LOSS_NAMES:
        fd = np.array([
            (score_digit(t, logits=z + h * e).losses[name] - score_digit(t, logits=z - h * e).losses[name]) / (2 * h)
            for e in np.eye(10)
        ])
        np.testing.assert_allclose(s.gradients[name], fd, rtol=1e-5, atol=1e-8, err_msg=name)


def test_gradients_sum_to_zero():
    # Adding a constant to every logit leaves softmax unchanged, so every gradient sums to 0.
    s = score_digit(6, logits=np.random.default_rng(1).normal(size=10))
    for name in LOSS_NAMES:
        assert abs(s.gradients[name].sum()) < 1e-12, name


@pytest.mark.parametrize("seed", range(4))
def test_matches_ntloss_classes(tokenizer, seed):
    rng = np.random.default_rng(seed)
    digit_logits = rng.normal(scale=3.0, size=(6, 10))
    targets = rng.integers(0, 10, size=6)
    logits = _vocab_logits(tokenizer, digit_logits, rng)
    labels = torch.tensor([[_digit_id(tokenizer, int(t)) for t in targets]])
    refs = {
        "NTL-WAS": ntloss.NTLoss(tokenizer, reweigh=False),
        "NTL-MSE": ntloss.NTLossDotProduct(tokenizer, reweigh=False),
        "NTL-MAE": ntloss.NTLossDotProduct(tokenizer, reweigh=False, loss_function=F.l1_loss),
        "NTL-Huber": ntloss.NTLossDotProduct(tokenizer, reweigh=False, loss_function=F.huber_loss),
    }
    for name, ref in refs.items():
        expected = ref(logits, labels, reduction="none")[0].numpy()
        ours = [score_digit(int(t), logits=z).losses[name] for z, t in zip(digit_logits, targets)]
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6, err_msg=name)


def test_ce_matches_torch_cross_entropy():
    z = np.random.default_rng(3).normal(size=10)
    expected = F.cross_entropy(torch.tensor(z)[None], torch.tensor([2])).item()
    assert score_digit(2, logits=z).losses["CE"] == pytest.approx(expected, rel=1e-12)


def test_probs_input_equals_logits_input():
    p = np.array([0.05, 0.1, 0.4, 0.2, 0.05, 0.05, 0.05, 0.04, 0.03, 0.03])
    a = score_digit(2, probs=p)
    b = score_digit(2, logits=np.log(p) + 7.0)  # logits are defined up to a constant
    np.testing.assert_allclose(a.probs, p, rtol=1e-12)
    for name in LOSS_NAMES:
        assert a.losses[name] == pytest.approx(b.losses[name], rel=1e-10)


def test_zero_probability_on_target_gives_finite_ce():
    s = score_digit(0, probs=np.eye(10)[5])
    assert np.isfinite(s.losses["CE"]) and s.losses["CE"] == pytest.approx(-np.log(scoring.PROB_FLOOR), rel=1e-6)
    assert all(np.isfinite(g).all() for g in s.gradients.values())


# --------------------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None)
@given(t=digits, temp=st.floats(0.2, 5.0))
def test_sweep_was_minimal_at_target_and_grows_with_distance(t, temp):
    sw = sweep_peak(t, temp)
    was = sw.losses["NTL-WAS"]
    assert int(np.argmin(was)) == t
    dist = np.abs(sw.centers - t)
    for a in range(10):
        for b in range(10):
            if dist[a] < dist[b]:
                assert was[a] < was[b]


@settings(max_examples=30, deadline=None)
@given(t=digits, temp=st.floats(0.2, 1.0))
def test_sweep_lp_losses_grow_with_distance_for_sharp_peaks(t, temp):
    sw = sweep_peak(t, temp)
    for name in ("NTL-MSE", "NTL-MAE"):
        left, right = sw.losses[name][: t + 1], sw.losses[name][t:]
        assert np.all(np.diff(left) < 0) and np.all(np.diff(right) > 0), name


def test_sweep_lp_loss_can_miss_the_target_for_flat_peaks():
    # A flat spike's mean is dragged towards 4.5, so NTL-MSE prefers a peak one step further out;
    # WAS does not have this flaw. The page's sweep explanation says so.
    sw = sweep_peak(1, 2.0)
    assert int(np.argmin(sw.losses["NTL-MSE"])) == 0
    assert int(np.argmin(sw.losses["NTL-WAS"])) == 1


@pytest.mark.parametrize("t", [0, 4, 9])
def test_sweep_ce_flat_for_every_wrong_peak(t):
    ce = sweep_peak(t).losses["CE"]
    wrong = np.delete(ce, t)
    np.testing.assert_allclose(wrong, wrong[0], rtol=1e-12)
    assert ce[t] < wrong[0]


@pytest.mark.parametrize("t", range(1, 9))
@pytest.mark.parametrize("temp", [0.3, 1.0, 3.0])
def test_bimodal_has_zero_mse_but_positive_was_and_ce(t, temp):
    s = score_digit(t, logits=preset_logits("bimodal", t, temp))
    assert s.losses["NTL-MSE"] < 1e-12
    assert s.expected == pytest.approx(t, abs=1e-6)
    assert s.losses["NTL-WAS"] > 0.5
    assert s.losses["CE"] > 1.0
    assert s.probs.argmax() != t


@pytest.mark.parametrize("t", range(10))
def test_presets_rank_as_taught(t):
    peaked, neigh, far = (score_digit(t, logits=preset_logits(n, t)) for n in ("peaked", "neighbour", "far"))
    assert peaked.probs.argmax() == t
    assert abs(int(neigh.probs.argmax()) - t) == 1
    assert abs(int(far.probs.argmax()) - t) >= 5
    # CE cannot tell a near miss from a far one; NTL can.
    assert neigh.losses["CE"] == pytest.approx(far.losses["CE"], rel=1e-12)
    for name in ("NTL-MSE", "NTL-WAS"):
        assert peaked.losses[name] < neigh.losses[name] < far.losses[name], name


def test_uniform_and_temperature():
    u = score_digit(3, logits=preset_logits("uniform", 3))
    np.testing.assert_allclose(u.probs, 0.1)
    assert u.expected == pytest.approx(4.5)
    sharp = score_digit(3, logits=preset_logits("peaked", 3, 0.5)).probs[3]
    flat = score_digit(3, logits=preset_logits("peaked", 3, 2.0)).probs[3]
    assert sharp > flat


def test_random_preset_depends_on_seed_only():
    np.testing.assert_array_equal(preset_logits("random", 2, seed=5), preset_logits("random", 2, seed=5))
    assert not np.array_equal(preset_logits("random", 2, seed=5), preset_logits("random", 2, seed=6))


@pytest.mark.parametrize("name", DISTRIBUTION_PRESETS)
def test_presets_stay_within_slider_range(name):
    for t in range(1, 9):
        z = preset_logits(name, t, temperature=0.1, seed=3)
        assert np.all(np.abs(z) <= scoring.LOGIT_LIMIT)


# --------------------------------------------------------------------------- multi-digit


def _hand_number(target: str, z: np.ndarray) -> tuple[float, float]:
    e = np.array([_softmax(row) @ np.arange(10) for row in z])
    yhat = float(sum(d * 10 ** (len(target) - 1 - i) for i, d in enumerate(e)))
    y = int(target)
    return yhat, abs(yhat - y) / (abs(yhat) + abs(y) + np.finfo(np.float64).eps)


@pytest.mark.parametrize("target", ["472", "9", "1000", "305"])
def test_number_level_matches_hand_formula_and_ntloss(tokenizer, target):
    rng = np.random.default_rng(len(target))
    z = rng.normal(scale=2.0, size=(len(target), 10))
    ns = score_number(target, z)
    yhat, smape = _hand_number(target, z)
    assert ns.expected_number == pytest.approx(yhat, rel=1e-12)
    assert ns.number_loss == pytest.approx(smape, rel=1e-10)
    labels = torch.tensor([[_digit_id(tokenizer, int(c)) for c in target]])
    ref = ntloss.NumberLevelLoss(tokenizer, reweigh=False)(_vocab_logits(tokenizer, z, rng), labels, reduction="sum")
    assert ns.number_loss == pytest.approx(ref.item(), rel=1e-5, abs=1e-6)
    # Digit-level reductions agree with ntloss's mean and sum over the same positions.
    was = ntloss.NTLoss(tokenizer, reweigh=False)
    vocab_logits = _vocab_logits(tokenizer, z, rng)
    assert ns.digit_mean["NTL-WAS"] == pytest.approx(was(vocab_logits, labels).item(), rel=1e-5)
    assert ns.digit_sum["NTL-WAS"] == pytest.approx(was(vocab_logits, labels, reduction="sum").item(), rel=1e-5)


def test_number_gradient_finite_differences():
    z = np.random.default_rng(0).normal(size=(3, 10))
    ns = score_number("472", z)
    h = 1e-6
    fd = np.zeros_like(z)
    for i in range(3):
        for j in range(10):
            dz = np.zeros_like(z)
            dz[i, j] = h
            fd[i, j] = (score_number("472", z + dz).number_loss - score_number("472", z - dz).number_loss) / (2 * h)
    np.testing.assert_allclose(ns.number_gradients, fd, rtol=1e-5, atol=1e-9)


def test_place_value_matters_only_at_number_level():
    # One position off by one: digit-level NTL is the same wherever it happens; number-level is not.
    hundreds = number_preset_logits("444", ["neighbour", "peaked", "peaked"])
    units = number_preset_logits("444", ["peaked", "peaked", "neighbour"])
    a, b = score_number("444", hundreds), score_number("444", units)
    for name in LOSS_NAMES:
        assert a.digit_mean[name] == pytest.approx(b.digit_mean[name], rel=1e-12)
    assert a.number_loss > 10 * b.number_loss
    assert np.abs(a.number_gradients[0]).sum() > np.abs(a.number_gradients[2]).sum()


def test_smape_is_harsh_on_a_zero_target():
    # sMAPE with y = 0 is |ŷ| / (|ŷ| + eps): any visible mass off 0 costs nearly the maximum of 1.
    ns = score_number("0", preset_logits("peaked", 0)[None])
    assert 0.1 < ns.expected_number < 0.5
    assert ns.number_loss > 0.99


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("bad", ["4a2", "", "  ", "-47", "4.2", "١٢", "123456789", True, 3.5, None])
def test_bad_number_targets(bad):
    with pytest.raises(ValueError, match="target number"):
        check_number(bad)


def test_number_target_cleaning():
    assert check_number(" 472 ") == "472"
    assert check_number(47) == "47"


@pytest.mark.parametrize("bad", [-1, 10, 3.0, "3", True])
def test_bad_digits(bad):
    with pytest.raises(ValueError, match="true digit"):
        score_digit(bad, logits=np.zeros(10))


@pytest.mark.parametrize("probs, message", [
    (np.zeros(10), "all zeros"),
    (np.r_[np.nan, np.ones(9)], "NaN"),
    (np.r_[-0.1, np.ones(9)], "negative"),
    (np.ones(9), "10 numbers"),
    (np.r_[np.inf, np.ones(9)], "infinite"),
])
def test_bad_distributions(probs, message):
    with pytest.raises(ValueError, match=message):
        score_digit(3, probs=probs)


def test_bad_logits_and_arguments():
    with pytest.raises(ValueError, match="NaN"):
        score_digit(3, logits=np.r_[np.nan, np.zeros(9)])
    with pytest.raises(ValueError, match="exactly one"):
        score_digit(3)
    with pytest.raises(ValueError, match="exactly one"):
        score_digit(3, logits=np.zeros(10), probs=np.ones(10))
    with pytest.raises(ValueError, match="shape"):
        score_number("47", np.zeros((3, 10)))
    with pytest.raises(ValueError, match="unknown preset"):
        preset_logits("sharp", 3)
    with pytest.raises(ValueError, match="temperature"):
        preset_logits("peaked", 3, temperature=0)
    with pytest.raises(ValueError, match="1 to 8"):
        preset_logits("bimodal", 9)


def test_huge_weights_do_not_overflow():
    s = score_digit(1, probs=np.r_[1e308, 1e308, np.zeros(8)])
    np.testing.assert_allclose(s.probs[:2], 0.5)
    assert all(np.isfinite(v) for v in s.losses.values())


def test_parse_distribution():
    np.testing.assert_allclose(parse_distribution("0 0 1, 0 0 0 0 0 0 1"), np.r_[0, 0, .5, 0, 0, 0, 0, 0, 0, .5])
    with pytest.raises(ValueError, match="not a number"):
        parse_distribution("a 0 0 0 0 0 0 0 0 1")
    with pytest.raises(ValueError, match="exactly 10"):
        parse_distribution("1 2 3")
    with pytest.raises(ValueError, match="NaN"):
        parse_distribution("nan 0 0 0 0 0 0 0 0 1")
    with pytest.raises(ValueError, match="all zeros"):
        parse_distribution("0 0 0 0 0 0 0 0 0 0")
