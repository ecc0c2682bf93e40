"""CEWithNTL equals CE + weight·NTL computed separately, in value and gradient."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import ntloss
import ntl_core
from ntl_core import CEWithNTL, shift_for_causal_lm
from tests.unit.ntl_vocab import make_tokenizer, random_labels, random_logits, token_ids

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _separate(tok, kind, reweigh, weight, logits, labels, ignore_index=-100, reference=ntl_core):
    """CE (F.cross_entropy) + weight · NTL from the unfused classes of ``reference``."""
    ntl_cls = reference.NTLoss if kind == "was" else reference.NTLossDotProduct
    ce = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=ignore_index)
    ntl = ntl_cls(tok, reweigh=reweigh)(logits, labels, ignore_index=ignore_index)
    return ce + weight * ntl, ce, ntl


def _assert_fused_matches(tok, kind, reweigh, weight, logits, labels, ignore_index=-100, reference=ntl_core):
    x_fused = logits.detach().clone().requires_grad_()
    x_sep = logits.detach().clone().requires_grad_()
    fused = CEWithNTL(tok, kind=kind, weight=weight, reweigh=reweigh, ignore_index=ignore_index)
    out = fused(x_fused, labels)
    want = _separate(tok, kind, reweigh, weight, x_sep, labels, ignore_index, reference)
    for got, expected in zip(out, want):
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    out.loss.backward()
    want[0].backward()
    torch.testing.assert_close(x_fused.grad, x_sep.grad, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("vocab,seed", [("digits", 0), ("numberlike", 1), ("multidigit", 2)])
@pytest.mark.parametrize("kind", ["was", "mse"])
@pytest.mark.parametrize("reweigh", [False, True])
def test_fused_equals_separate_ce_plus_ntl(vocab, seed, kind, reweigh):
    tok = make_tokenizer(vocab, seed)
    logits = random_logits((3, 11, len(tok)), seed)
    labels = random_labels(tok, (3, 11), seed)
    _assert_fused_matches(tok, kind, reweigh, 0.3, logits, labels)


@pytest.mark.parametrize("kind", ["was", "mse"])
@pytest.mark.parametrize("reweigh", [False, True])
def test_fused_equals_ce_plus_reference_ntloss(kind, reweigh):
    tok, ref_tok = make_tokenizer("numberlike", 5), make_tokenizer("numberlike", 5)
    logits = random_logits((2, 13, len(tok)), 5)
    labels = random_labels(tok, (2, 13), 5)
    x = logits.clone().requires_grad_()
    out = CEWithNTL(tok, kind=kind, weight=0.7, reweigh=reweigh)(x, labels)
    want = _separate(ref_tok, kind, reweigh, 0.7, logits, labels, reference=ntloss)
    torch.testing.assert_close(out.loss, want[0], atol=1e-5, rtol=1e-5)


def test_fused_with_custom_ignore_index_and_causal_shift():
    tok = make_tokenizer("digits", 3)
    ignore = tok.get_vocab()["b"]
    ids = random_labels(tok, (2, 16), 3, ignore_index=ignore)
    logits, labels = shift_for_causal_lm(random_logits((2, 16, len(tok)), 3), ids)
    assert not logits.is_contiguous()
    _assert_fused_matches(tok, "was", True, 0.5, logits, labels, ignore_index=ignore)


def test_fused_handles_vanishing_target_probability():
    """Target logits 200 below the rest: probabilities underflow, CE and NTL must stay exact."""
    tok = make_tokenizer("digits", 4)
    labels = random_labels(tok, (2, 7), 4, ignore_share=0.0)
    logits = random_logits((2, 7, len(tok)), 4)
    logits.scatter_(-1, labels.clamp_min(0)[..., None], -200.0)
    _assert_fused_matches(tok, "was", False, 0.3, logits, labels)
    _assert_fused_matches(tok, "mse", True, 0.3, logits, labels)


def test_no_number_labels_gives_zero_ntl():
    tok = make_tokenizer("digits", 5)
    labels = token_ids(tok, ["a", "b", "c", "+"] * 2).view(2, 4)
    logits = random_logits((2, 4, len(tok)), 5).requires_grad_()
    out = CEWithNTL(tok)(logits, labels)
    assert out.ntl.item() == 0.0
    torch.testing.assert_close(out.loss, F.cross_entropy(logits.flatten(0, 1), labels.flatten()))
    out.loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_all_labels_ignored_gives_zero_not_nan():
    tok = make_tokenizer("digits", 6)
    logits = random_logits((2, 4, len(tok)), 6).requires_grad_()
    out = CEWithNTL(tok, reweigh=True)(logits, torch.full((2, 4), -100))
    assert (out.loss.item(), out.ce.item(), out.ntl.item()) == (0.0, 0.0, 0.0)
    out.loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_bfloat16_logits_close_to_float32():
    tok = make_tokenizer("digits", 7)
    labels = random_labels(tok, (2, 9), 7)
    logits = random_logits((2, 9, len(tok)), 7)
    low = logits.to(torch.bfloat16).requires_grad_()
    out = CEWithNTL(tok, kind="was", reweigh=True)(low, labels)
    ref = CEWithNTL(tok, kind="was", reweigh=True)(low.detach().float().requires_grad_(), labels)
    torch.testing.assert_close(out.loss, ref.loss, atol=1e-5, rtol=1e-5)
    out.loss.backward()
    assert low.grad.dtype == torch.bfloat16


def test_second_backward_is_refused():
    tok = make_tokenizer("digits", 8)
    logits = random_logits((1, 5, len(tok)), 8).requires_grad_()
    out = CEWithNTL(tok)(logits, random_labels(tok, (1, 5), 8, ignore_share=0.0))
    out.loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="once per forward"):
        out.loss.backward()


@pytest.mark.parametrize("kwargs", [{"kind": "l2"}, {"weight": -0.1}, {"weight": float("nan")}])
def test_bad_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        CEWithNTL(make_tokenizer("digits", 0), **kwargs)


def test_output_is_named_tuple_and_weight_zero_is_plain_ce():
    tok = make_tokenizer("digits", 9)
    labels = random_labels(tok, (2, 6), 9)
    logits = random_logits((2, 6, len(tok)), 9)
    loss, ce, ntl = CEWithNTL(tok, weight=0.0)(logits, labels)
    assert ntl.item() > 0
    torch.testing.assert_close(loss, F.cross_entropy(logits.flatten(0, 1), labels.flatten()))
    assert loss.item() == ce.item()


def test_gradient_buffer_is_adopted_without_copy():
    """The softmax buffer becomes ``logits.grad`` itself: no extra (B, T, V) copy in backward."""
    tok = make_tokenizer("digits", 10)
    logits = random_logits((2, 5, len(tok)), 10).requires_grad_()
    out = CEWithNTL(tok)(logits, random_labels(tok, (2, 5), 10))
    node = out.ce.grad_fn
    while not hasattr(node, "probs"):
        node = node.next_functions[0][0]
    buffer = node.probs.data_ptr()
    out.loss.backward()
    assert logits.grad.data_ptr() == buffer


def test_gradients_reach_model_parameters_like_separate_losses():
    """Logits from a linear head (non-leaf): parameter gradients equal those of CE + weight·NTL."""
    tok = make_tokenizer("numberlike", 11)
    hidden = torch.randn(2, 7, 16, generator=torch.Generator().manual_seed(11))
    labels = random_labels(tok, (2, 7), 11)
    grads = []
    for fused in (True, False):
        torch.manual_seed(0)
        head = torch.nn.Linear(16, len(tok))
        logits, shifted = shift_for_causal_lm(head(hidden), labels)
        if fused:
            loss = CEWithNTL(tok, kind="mse", weight=0.5, reweigh=True)(logits, shifted).loss
        else:
            loss = _separate(tok, "mse", True, 0.5, logits, shifted)[0]
        loss.backward()
        grads.append((head.weight.grad, head.bias.grad))
    for got, want in zip(*grads):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-4)
