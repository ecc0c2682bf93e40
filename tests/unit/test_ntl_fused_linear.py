"""FusedLinearCEWithNTL equals lm_head + CEWithNTL (and CE + ntloss) in loss and in every gradient."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import ntloss
import ntl_core
from ntl_core import CEWithNTL, FusedLinearCEWithNTL
from tests.unit.ntl_vocab import make_tokenizer, random_labels, token_ids

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
REL = 1e-5  # the float32 target, relative to each quantity's own scale


def _head(vocab: int, dim: int, seed: int, bias: bool, dtype=torch.float32):
    """Random LM-head weight ``(V, d)`` and bias ``(V,)`` (or None), scaled like a trained head."""
    gen = torch.Generator().manual_seed(seed + 100)
    weight = torch.randn(vocab, dim, generator=gen) / dim**0.5
    return weight.to(dtype), (torch.randn(vocab, generator=gen).to(dtype) if bias else None)


def _hidden(shape, seed: int, scale: float = 2.0, dtype=torch.float32):
    return (torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale).to(dtype)


def _leaves(*tensors):
    return [None if t is None else t.detach().clone().requires_grad_() for t in tensors]


def _run(loss, hidden, weight, bias, labels, fused: bool, upstream: float = 1.0):
    """Loss outputs and the gradients of ``upstream · loss`` w.r.t. hidden, weight and bias."""
    h, w, b = _leaves(hidden, weight, bias)
    if fused:
        out = loss(h, w, labels, b)
    else:  # the unfused losses take (B, T, V) logits: (N, d) hidden states are one sequence
        logits = F.linear(h, w, b)
        out = loss(logits, labels) if logits.dim() == 3 else loss(logits[None], labels[None])
    (upstream * out.loss).backward()
    return out, [None if t is None else t.grad for t in (h, w, b)]


def _assert_rel_close(got: torch.Tensor, want: torch.Tensor, rel: float = REL) -> None:
    """Elementwise within ``rel`` of each value, or of the tensor's largest entry (for entries near 0)."""
    scale = float(want.abs().max()) if want.numel() else 0.0
    torch.testing.assert_close(got, want, rtol=rel, atol=rel * max(scale, 1e-30))


def _assert_matches_unfused(tok, hidden, labels, bias=False, seed=0, chunk_size=None, upstream=1.7, **kwargs):
    weight, b = _head(len(tok), hidden.shape[-1], seed, bias)
    fused = FusedLinearCEWithNTL(tok, chunk_size=chunk_size, **kwargs)
    out, grads = _run(fused, hidden, weight, b, labels, True, upstream)
    want, want_grads = _run(CEWithNTL(tok, **kwargs), hidden, weight, b, labels, False, upstream)
    for got_value, want_value in zip(out, want):
        _assert_rel_close(got_value, want_value.detach())
    for got, expected in zip(grads, want_grads):
        assert (got is None) == (expected is None)
        if got is not None:
            _assert_rel_close(got, expected)
    return out, grads


@pytest.mark.parametrize("vocab,seed", [("digits", 0), ("numberlike", 1), ("multidigit", 2)])
@pytest.mark.parametrize("kind", ["was", "mse"])
@pytest.mark.parametrize("reweigh", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_equals_lm_head_plus_ce_with_ntl(vocab, seed, kind, reweigh, bias):
    tok = make_tokenizer(vocab, seed)
    hidden = _hidden((3, 11, 16), seed)
    labels = random_labels(tok, (3, 11), seed)
    _assert_matches_unfused(tok, hidden, labels, bias, seed, chunk_size=4, kind=kind, reweigh=reweigh, weight=0.3)


@pytest.mark.parametrize(
    "shape,chunk_size",
    [((2, 9, 8), 1), ((2, 9, 8), 5), ((2, 9, 8), None), ((37, 24), 8), ((37, 24), 1000), ((1, 1, 4), None)],
)
def test_shapes_and_chunk_sizes(shape, chunk_size):
    tok = make_tokenizer("multidigit", 3)
    labels = random_labels(tok, shape[:-1], 3)
    _assert_matches_unfused(tok, _hidden(shape, 3), labels, True, 3, chunk_size, kind="mse", weight=0.7)


@pytest.mark.parametrize("weight", [0.0, 0.3, 5.0])
def test_weights(weight):
    tok = make_tokenizer("numberlike", 4)
    labels = random_labels(tok, (2, 13), 4)
    _assert_matches_unfused(tok, _hidden((2, 13, 12), 4), labels, False, 4, 3, kind="was", weight=weight, reweigh=True)


def test_custom_ignore_index_and_causal_shift():
    """``ignore_index`` a real token id; hidden[:, :-1] (non-contiguous) with labels[:, 1:]."""
    tok = make_tokenizer("digits", 5)
    ignore = tok.get_vocab()["b"]
    ids = random_labels(tok, (3, 16), 5, ignore_index=ignore, ignore_share=0.3)
    hidden = _hidden((3, 16, 8), 5)[:, :-1]
    assert not hidden.is_contiguous()
    _assert_matches_unfused(tok, hidden, ids[:, 1:], True, 5, 6, kind="was", reweigh=True, ignore_index=ignore)


def test_extreme_logits_keep_exact_ce():
    """Logits in the hundreds: target probabilities underflow float32, CE and NTL stay exact."""
    tok = make_tokenizer("digits", 6)
    labels = random_labels(tok, (2, 7), 6, ignore_share=0.0)
    out, _ = _assert_matches_unfused(tok, _hidden((2, 7, 8), 6, scale=300.0), labels, False, 6, 3, kind="mse")
    assert out.ce.item() > 100


def test_no_number_labels_gives_zero_ntl_and_plain_ce():
    tok = make_tokenizer("digits", 7)
    labels = token_ids(tok, ["a", "b", "c", "+", "=", "."] * 2).view(2, 6)
    out, _ = _assert_matches_unfused(tok, _hidden((2, 6, 8), 7), labels, True, 7, 4, reweigh=True)
    assert out.ntl.item() == 0.0
    weight, bias = _head(len(tok), 8, 7, True)
    torch.testing.assert_close(out.ce, F.cross_entropy(F.linear(_hidden((2, 6, 8), 7), weight, bias).flatten(0, 1), labels.flatten()))


def test_all_labels_ignored_gives_zero_and_zero_gradients():
    tok = make_tokenizer("digits", 8)
    weight, bias = _head(len(tok), 8, 8, True)
    out, grads = _run(FusedLinearCEWithNTL(tok, reweigh=True), _hidden((2, 4, 8), 8), weight, bias,
                      torch.full((2, 4), -100), True)
    assert (out.loss.item(), out.ce.item(), out.ntl.item()) == (0.0, 0.0, 0.0)
    assert all(torch.equal(g, torch.zeros_like(g)) for g in grads)


@pytest.mark.parametrize("kind", ["was", "mse"])
def test_sum_reduction_equals_summed_ce_plus_summed_ntl(kind):
    tok = make_tokenizer("multidigit", 9)
    hidden, labels = _hidden((2, 10, 8), 9), random_labels(tok, (2, 10), 9)
    weight, bias = _head(len(tok), 8, 9, True)
    out, grads = _run(FusedLinearCEWithNTL(tok, kind=kind, reweigh=True, reduction="sum", chunk_size=3),
                      hidden, weight, bias, labels, True)
    ntl_cls = ntl_core.NTLoss if kind == "was" else ntl_core.NTLossDotProduct

    def separate(logits, y):
        ce = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum")
        ntl = ntl_cls(tok, reweigh=True)(logits, y, reduction="sum")
        return ntl_core.CEWithNTLOutput(ce + 0.3 * ntl, ce, ntl)

    want, want_grads = _run(separate, hidden, weight, bias, labels, False)
    for got_value, want_value in zip(out, want):
        _assert_rel_close(got_value, want_value.detach())
    for got, expected in zip(grads, want_grads):
        _assert_rel_close(got, expected)


@pytest.mark.parametrize("kind", ["was", "mse"])
@pytest.mark.parametrize("reweigh", [False, True])
def test_equals_ce_plus_reference_ntloss(kind, reweigh):
    """Against the reference package: lm_head + F.cross_entropy + weight · ntloss, loss and gradients."""
    tok, ref_tok = make_tokenizer("numberlike", 10), make_tokenizer("numberlike", 10)
    hidden, labels = _hidden((2, 13, 8), 10), random_labels(tok, (2, 13), 10)
    weight, _ = _head(len(tok), 8, 10, False)
    ref_cls = ntloss.NTLoss if kind == "was" else ntloss.NTLossDotProduct
    ref_ntl = ref_cls(ref_tok, reweigh=reweigh)

    def reference(logits, y):
        ce = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        ntl = ref_ntl(logits, y)
        return ntl_core.CEWithNTLOutput(ce + 0.7 * ntl, ce, ntl)

    out, grads = _run(FusedLinearCEWithNTL(tok, kind=kind, weight=0.7, reweigh=reweigh, chunk_size=5),
                      hidden, weight, None, labels, True)
    want, want_grads = _run(reference, hidden, weight, None, labels, False)
    _assert_rel_close(out.loss, want.loss.detach())
    for got, expected in zip(grads[:2], want_grads[:2]):
        _assert_rel_close(got, expected)


def test_frozen_head_gets_no_gradient_and_hidden_gradient_is_exact():
    tok = make_tokenizer("digits", 11)
    hidden, labels = _hidden((2, 6, 8), 11), random_labels(tok, (2, 6), 11)
    weight, _ = _head(len(tok), 8, 11, False)
    h = hidden.clone().requires_grad_()
    FusedLinearCEWithNTL(tok, chunk_size=5)(h, weight, labels).loss.backward()
    h_ref = hidden.clone().requires_grad_()
    CEWithNTL(tok)(F.linear(h_ref, weight), labels).loss.backward()
    assert weight.grad is None
    _assert_rel_close(h.grad, h_ref.grad)


def test_no_grad_gives_the_same_values():
    tok = make_tokenizer("multidigit", 12)
    hidden, labels = _hidden((2, 6, 8), 12), random_labels(tok, (2, 6), 12)
    weight, bias = _head(len(tok), 8, 12, True)
    fused = FusedLinearCEWithNTL(tok, kind="mse", reweigh=True, chunk_size=4)
    with torch.no_grad():
        cold = fused(hidden, weight.requires_grad_(), labels, bias)
    warm = fused(hidden, weight, labels, bias)
    assert not cold.loss.requires_grad
    assert [v.item() for v in cold] == [v.item() for v in warm]


def test_only_loss_is_differentiable_and_backward_runs_once():
    tok = make_tokenizer("digits", 13)
    weight, _ = _head(len(tok), 8, 13, False)
    h = _hidden((1, 5, 8), 13).requires_grad_()
    out = FusedLinearCEWithNTL(tok)(h, weight, random_labels(tok, (1, 5), 13, ignore_share=0.0))
    assert out.loss.requires_grad and not out.ce.requires_grad and not out.ntl.requires_grad
    out.loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="once per forward"):
        out.loss.backward()


def test_float64_inputs_give_float64_results():
    tok = make_tokenizer("digits", 14)
    hidden, labels = _hidden((2, 5, 8), 14, dtype=torch.float64), random_labels(tok, (2, 5), 14)
    weight, bias = _head(len(tok), 8, 14, True, torch.float64)
    out, grads = _run(FusedLinearCEWithNTL(tok, chunk_size=3), hidden, weight, bias, labels, True)
    want, want_grads = _run(CEWithNTL(tok), hidden, weight, bias, labels, False)
    assert out.loss.dtype == torch.float64
    torch.testing.assert_close(out.loss, want.loss.detach(), rtol=1e-12, atol=0)
    for got, expected in zip(grads, want_grads):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)


def test_bfloat16_within_stated_tolerance_of_float32():
    """bfloat16 inputs: loss within 1e-3 and gradients within 1e-2 (relative, norm-wise) of float32
    on the same values; lm_head + CEWithNTL in bfloat16 makes errors of the same size (both round
    the logits to bfloat16 in the product)."""
    tok = make_tokenizer("multidigit", 15)
    labels = random_labels(tok, (4, 33), 15)
    hidden = _hidden((4, 33, 64), 15, scale=1.0, dtype=torch.bfloat16)
    weight, bias = _head(len(tok), 64, 15, True, torch.bfloat16)
    fused = FusedLinearCEWithNTL(tok, reweigh=True, chunk_size=16)
    low, low_grads = _run(fused, hidden, weight, bias, labels, True)
    ref, ref_grads = _run(fused, hidden.float(), weight.float(), bias.float(), labels, True)
    assert low.loss.dtype == torch.float32 and all(g.dtype == torch.bfloat16 for g in low_grads)
    for got, want in zip(low, ref):
        assert abs(got.item() - want.item()) <= 1e-3 * abs(want.item())
    for got, want in zip(low_grads, ref_grads):
        assert float((got.float() - want).norm() / want.norm()) <= 1e-2


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda f, h, w, y: f(h, w[:, :-1], y), ValueError),  # head of the wrong width
        (lambda f, h, w, y: f(h, w[:-1], y), ValueError),  # head of the wrong vocab size
        (lambda f, h, w, y: f(h, w.double(), y), TypeError),  # dtypes differ
        (lambda f, h, w, y: f(h, w, y.int()), TypeError),  # labels not long
        (lambda f, h, w, y: f(h, w, y[:, :-1]), ValueError),  # labels of another shape
        (lambda f, h, w, y: f(h, w, y.masked_fill(y == y.max(), 10_000)), ValueError),  # label ≥ V
        (lambda f, h, w, y: f(h, w, y, torch.zeros(3)), ValueError),  # bias of the wrong size
        (lambda f, h, w, y: f(h.long(), w, y), TypeError),  # integer hidden states
        (lambda f, h, w, y: f(h[:, :0], w, y[:, :0]), ValueError),  # empty
    ],
)
def test_bad_inputs_raise_clear_errors(call, error):
    tok = make_tokenizer("digits", 16)
    weight, _ = _head(len(tok), 8, 16, False)
    with pytest.raises(error):
        call(FusedLinearCEWithNTL(tok), _hidden((2, 5, 8), 16), weight, random_labels(tok, (2, 5), 16))


@pytest.mark.parametrize(
    "kwargs", [{"kind": "l2"}, {"weight": -1.0}, {"reduction": "none"}, {"chunk_size": 0}, {"chunk_size": 2.5}]
)
def test_bad_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        FusedLinearCEWithNTL(make_tokenizer("digits", 0), **kwargs)
