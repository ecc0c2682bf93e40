"""Differential tests: ntl_core's NTL classes give ntloss 0.3.2's values and gradients.

Every vocabulary shuffles its ids; some carry number-like tokens (" 2", "10", "3.5", "٣" …), some
have extra logit columns (vocab_size > len(tokenizer)). Each case runs every reduction, with and
without loss weights (including zeros), with ignored labels, for ignore_index -100 and for an
ignore_index that is a real token id.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import ntloss
import ntl_core
from tests.unit.ntl_vocab import make_tokenizer, random_labels, random_logits

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

B, T = 3, 9
TOL = {"atol": 1e-5, "rtol": 1e-5}
# Gradients reach |g| ≈ 10 with values such as "1e3"; float32 rounding then exceeds rtol 1e-5.
GRAD_TOL = {"atol": 1e-5, "rtol": 1e-4}


def _weights(seed: int) -> list[torch.Tensor | None]:
    """No weights, and random weights in [0, 2) of which about 40 % are exactly 0."""
    gen = torch.Generator().manual_seed(seed)
    return [None, 2 * torch.rand(B, T, generator=gen) * (torch.rand(B, T, generator=gen) > 0.4)]


def _compare(make_ref, make_ours, vocab: str, extra: int, seed: int) -> None:
    """Build both losses on identical fresh tokenizers and compare every reduction/weight/ignore."""
    ref_tok, our_tok = make_tokenizer(vocab, seed), make_tokenizer(vocab, seed)
    vocab_size = len(our_tok) + extra if extra else None
    ref, ours = make_ref(ref_tok, vocab_size), make_ours(our_tok, vocab_size)
    assert torch.equal(ours.number_token_ids, ref.number_token_ids)
    assert torch.equal(ours.number_values_dense, ref.number_values_dense)
    n_logits = len(our_tok) + extra
    # odd seeds ignore a real token id instead of -100
    ignore_index = our_tok.get_vocab()["a"] if seed % 2 else -100
    labels = random_labels(our_tok, (B, T), seed, ignore_index=ignore_index)
    for reduction in ("mean", "sum", "none"):
        for weights in _weights(seed):
            x_ref = random_logits((B, T, n_logits), seed).requires_grad_()
            x_our = x_ref.detach().clone().requires_grad_()
            kwargs = {"loss_weights": weights, "reduction": reduction, "ignore_index": ignore_index}
            want, got = ref(x_ref, labels, **kwargs), ours(x_our, labels, **kwargs)
            torch.testing.assert_close(got, want, **TOL)
            if want.requires_grad:
                want.sum().backward()
                got.sum().backward()
                torch.testing.assert_close(x_our.grad, x_ref.grad, **GRAD_TOL)


# (vocabulary, extra logit columns, id-shuffle seed, digit_level)
VOCAB_CASES = [
    pytest.param(*case, id="{}-extra{}-seed{}-digit_level{}".format(*case))
    for case in [
        ("digits", 0, 0, True),
        ("digits", 5, 1, True),
        ("numberlike", 0, 2, True),
        ("numberlike", 7, 3, False),
        ("multidigit", 0, 4, False),
        ("multidigit", 3, 5, True),
    ]
]


@pytest.mark.parametrize("vocab,extra,seed,digit_level", VOCAB_CASES)
@pytest.mark.parametrize("reweigh", [False, True])
@pytest.mark.parametrize("squash_factor", [None, 4.0])
def test_ntloss_wasserstein_matches_reference(vocab, extra, seed, digit_level, reweigh, squash_factor):
    args = {"digit_level": digit_level, "reweigh": reweigh, "squash_factor": squash_factor}
    _compare(
        lambda tok, vs: ntloss.NTLoss(tok, vocab_size=vs, **args),
        lambda tok, vs: ntl_core.NTLoss(tok, vocab_size=vs, **args),
        vocab,
        extra,
        seed,
    )


@pytest.mark.parametrize("vocab,extra,seed,digit_level", VOCAB_CASES)
@pytest.mark.parametrize("reweigh", [False, True])
@pytest.mark.parametrize(
    "loss_function", [F.mse_loss, F.l1_loss, F.huber_loss], ids=["mse", "mae", "huber"]
)
def test_ntloss_dot_product_matches_reference(vocab, extra, seed, digit_level, reweigh, loss_function):
    args = {"digit_level": digit_level, "reweigh": reweigh, "loss_function": loss_function}
    _compare(
        lambda tok, vs: ntloss.NTLossDotProduct(tok, vocab_size=vs, **args),
        lambda tok, vs: ntl_core.NTLossDotProduct(tok, vocab_size=vs, **args),
        vocab,
        extra,
        seed,
    )


@pytest.mark.parametrize(
    "vocab,extra,seed,max_number_length",
    [("digits", 0, 0, 20), ("digits", 5, 1, 2), ("numberlike", 0, 2, 20), ("numberlike", 7, 3, 3)],
)
@pytest.mark.parametrize("float_level", [False, True])
@pytest.mark.parametrize("reweigh", [False, True])
def test_number_level_loss_matches_reference(vocab, extra, seed, max_number_length, float_level, reweigh):
    args = {"float_level": float_level, "reweigh": reweigh, "max_number_length": max_number_length}
    _compare(
        lambda tok, vs: ntloss.NumberLevelLoss(tok, vocab_size=vs, **args),
        lambda tok, vs: ntl_core.NumberLevelLoss(tok, vocab_size=vs, **args),
        vocab,
        extra,
        seed,
    )


def test_number_level_spans_by_hand():
    """'4','7','2' and '1','.','5' in one row: 472 and (float_level) 15 or (not) 1 and 5."""
    tok = make_tokenizer("digits", 0)
    vocab = tok.get_vocab()
    row = ["4", "7", "2", "a", "1", ".", "5"]
    labels = torch.tensor([[vocab[t] for t in row]])
    logits = torch.full((1, len(row), len(tok)), -30.0)
    predicted = ["4", "7", "3", "a", "1", ".", "5"]  # 473 instead of 472
    for t, token in enumerate(predicted):
        logits[0, t, vocab[token]] = 30.0
    for float_level, expected in ((False, {0: 1 / 945, 4: 0.0, 6: 0.0}), (True, {0: 1 / 945, 4: 0.0})):
        loss = ntl_core.NumberLevelLoss(tok, float_level=float_level, reweigh=False)(
            logits, labels, reduction="none"
        )
        want = torch.zeros(1, len(row))
        for position, value in expected.items():
            want[0, position] = value
        torch.testing.assert_close(loss, want, atol=1e-5, rtol=0)


def test_wasserstein_by_hand():
    """One position, q = (0.5 on '2', 0.5 on '5'), target 3: WAS = 0.5·1 + 0.5·2 = 1.5."""
    tok = make_tokenizer("digits", 3)
    vocab = tok.get_vocab()
    logits = torch.full((1, 1, len(tok)), -1e4)
    logits[0, 0, vocab["2"]] = logits[0, 0, vocab["5"]] = 0.0
    labels = torch.tensor([[vocab["3"]]])
    assert ntl_core.NTLoss(tok, reweigh=False)(logits, labels).item() == pytest.approx(1.5, abs=1e-6)
    # expected value 3.5 → MSE 0.25, MAE 0.5
    mse = ntl_core.NTLossDotProduct(tok, reweigh=False)(logits, labels).item()
    mae = ntl_core.NTLossDotProduct(tok, reweigh=False, loss_function=F.l1_loss)(logits, labels).item()
    assert (mse, mae) == (pytest.approx(0.25, abs=1e-6), pytest.approx(0.5, abs=1e-6))
