"""Where ntl_core deliberately differs from ntloss, and laws the losses obey (hypothesis)."""
from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import ntloss
import ntl_core
from ntl_core import NumberTokenTable, shift_for_causal_lm
from ntl_core.tokenization import build_tokenizer
from tests.unit.ntl_vocab import DIGITS, make_tokenizer, random_labels, random_logits, token_ids

ALL_LOSSES = [
    pytest.param(lambda tok: ntl_core.NTLoss(tok), id="was"),
    pytest.param(lambda tok: ntl_core.NTLoss(tok, reweigh=False), id="was-noreweigh"),
    pytest.param(lambda tok: ntl_core.NTLossDotProduct(tok), id="mse"),
    pytest.param(lambda tok: ntl_core.NTLossDotProduct(tok, loss_function=F.l1_loss), id="mae"),
    pytest.param(lambda tok: ntl_core.NumberLevelLoss(tok), id="number-level"),
    pytest.param(lambda tok: ntl_core.NumberLevelLoss(tok, float_level=True), id="number-level-float"),
]


# --- improvements over ntloss -------------------------------------------------------------------
def _text_only_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel(vocab={"[UNK]": 0, "a": 1, "b": 2}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]")


@pytest.mark.parametrize("build", ALL_LOSSES)
def test_vocabulary_without_digits_raises_value_error_with_fix(build):
    with pytest.raises(ValueError, match=r"no digit tokens.*add_tokens.*resize_token_embeddings"):
        build(_text_only_tokenizer())


def test_ntloss_fails_obscurely_on_vocabulary_without_digits():
    """The reference's behaviour that the ValueError above replaces."""
    with pytest.raises(IndexError):
        ntloss.NTLoss(_text_only_tokenizer())


@pytest.mark.parametrize("build", ALL_LOSSES)
def test_tokenizer_is_not_mutated(build):
    tok = build_tokenizer("multidigit")  # has "123" tokens; adding digit tokens would split them
    before = (len(tok), tok.get_vocab(), tok.tokenize("12345 7"))
    build(tok)
    assert (len(tok), tok.get_vocab(), tok.tokenize("12345 7")) == before
    assert before[2][:2] == ["123", "45"]


def test_ntloss_does_mutate_the_tokenizer():
    """Documents why the test above matters: after ntloss, "12345" is cut into single digits."""
    tok = build_tokenizer("multidigit")
    ntloss.NTLoss(tok)
    assert tok.tokenize("12345")[:5] == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize("build", ALL_LOSSES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_batch_without_number_labels_gives_graph_connected_zero(build, reduction):
    tok = make_tokenizer("digits", 1)
    loss_fn = build(tok)
    labels = token_ids(tok, ["a", "b", "+", "="] * 3).view(2, 6)
    labels[0, 0] = -100
    logits = random_logits((2, 6, len(tok)), 0)
    logits[0, 1, 3] = float("inf")  # even non-finite logits cannot turn the zero into NaN
    logits.requires_grad_()
    loss = loss_fn(logits, labels, reduction=reduction)
    assert loss.shape == (() if reduction != "none" else (2, 6))
    assert torch.equal(loss.detach(), torch.zeros_like(loss))
    loss.sum().backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


@pytest.mark.parametrize("build", ALL_LOSSES)
def test_all_zero_weights_give_zero(build):
    tok = make_tokenizer("digits", 2)
    labels = random_labels(tok, (2, 8), 0)
    out = build(tok)(random_logits((2, 8, len(tok)), 1), labels, loss_weights=torch.zeros(2, 8))
    assert out.item() == 0.0


def test_shift_for_causal_lm_aligns_next_token():
    logits = torch.arange(2 * 4 * 3, dtype=torch.float32).view(2, 4, 3)
    labels = torch.tensor([[5, 6, 7, 8], [1, 2, 3, 4]])
    shifted_logits, shifted_labels = shift_for_causal_lm(logits, labels)
    assert torch.equal(shifted_logits, logits[:, :3])
    assert torch.equal(shifted_labels, torch.tensor([[6, 7, 8], [2, 3, 4]]))
    assert shifted_logits.data_ptr() == logits.data_ptr()  # a view, no copy


@pytest.mark.parametrize(
    "logits,labels",
    [
        (torch.zeros(2, 4), torch.zeros(2, 4, dtype=torch.long)),
        (torch.zeros(2, 4, 3), torch.zeros(2, 5, dtype=torch.long)),
        (torch.zeros(2, 1, 3), torch.zeros(2, 1, dtype=torch.long)),
    ],
)
def test_shift_for_causal_lm_rejects_bad_shapes(logits, labels):
    with pytest.raises(ValueError):
        shift_for_causal_lm(logits, labels)


def test_shifted_view_gives_same_loss_as_contiguous_copy():
    tok = make_tokenizer("digits", 3)
    logits, labels = shift_for_causal_lm(random_logits((2, 9, len(tok)), 2), random_labels(tok, (2, 9), 2))
    loss = ntl_core.NTLoss(tok)
    torch.testing.assert_close(loss(logits, labels), loss(logits.contiguous(), labels))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"reduction": "avg"}, "reduction"),
        ({"loss_weights": -torch.ones(2, 3)}, "≥ 0"),
        ({"loss_weights": torch.ones(3, 2)}, "same shape"),
    ],
)
def test_bad_forward_arguments_raise_value_error(kwargs, message):
    tok = make_tokenizer("digits", 0)
    with pytest.raises(ValueError, match=message):
        ntl_core.NTLoss(tok)(torch.zeros(2, 3, len(tok)), torch.zeros(2, 3, dtype=torch.long), **kwargs)


def test_wrong_vocab_size_is_caught_on_every_call():
    tok = make_tokenizer("digits", 0)
    loss = ntl_core.NTLoss(tok)
    labels = torch.zeros(1, 2, dtype=torch.long)
    loss(torch.zeros(1, 2, len(tok)), labels)
    with pytest.raises(ValueError, match="vocab_size"):
        loss(torch.zeros(1, 2, len(tok) + 1), labels)


def test_type_errors_match_ntloss():
    tok = make_tokenizer("digits", 0)
    with pytest.raises(TypeError):
        ntl_core.NTLoss(tok)(torch.zeros(1, 2, len(tok), dtype=torch.long), torch.zeros(1, 2, dtype=torch.long))
    with pytest.raises(TypeError):
        ntl_core.NTLoss(tok)(torch.zeros(1, 2, len(tok)), torch.zeros(1, 2))


def test_squash_factor_at_most_one_is_value_error():
    with pytest.raises(ValueError, match="squash_factor"):
        ntl_core.NTLoss(make_tokenizer("digits", 0), squash_factor=1.0)


def test_partial_digits_warn_and_vocab_size_must_cover_number_ids():
    with pytest.warns(UserWarning, match="only 3 of the 10 digits"):
        table = NumberTokenTable.from_vocab({"a": 0, "1": 1, "2": 2, "3": 3})
    assert table.tokens == ("1", "2", "3")
    with pytest.raises(ValueError, match="vocab_size"):
        NumberTokenTable.from_vocab({"a": 0, **{d: i + 1 for i, d in enumerate(DIGITS)}}, vocab_size=5)


def test_number_token_table_reads_values_and_order():
    vocab = {"b": 0, "7": 1, " 2": 2, "10": 3, "3.5": 4, "nan": 5, "Ġ2": 6, "٣": 7, ".": 8}
    vocab.update({d: 9 + i for i, d in enumerate(DIGITS) if d != "7"})
    table = NumberTokenTable.from_vocab(vocab, digit_level=False)
    assert table.tokens[:5] == ("7", " 2", "10", "3.5", "٣")
    assert table.values[:5].tolist() == [7.0, 2.0, 10.0, 3.5, 3.0]
    assert table.non_number_id == 0 and table.dot_id == 8
    digits = NumberTokenTable.from_vocab(vocab, digit_level=True)
    assert sorted(digits.tokens) == DIGITS
    assert torch.all(digits.values[digits.column_of_id[digits.ids]] == digits.values)
    assert int(digits.is_number.sum()) == 10


# --- laws (hypothesis) --------------------------------------------------------------------------
DIGIT_TOK = make_tokenizer("digits", 7)
DIGIT_IDS = token_ids(DIGIT_TOK, DIGITS)
WAS = ntl_core.NTLoss(DIGIT_TOK, reweigh=False)
MSE = ntl_core.NTLossDotProduct(DIGIT_TOK, reweigh=False)
MAE = ntl_core.NTLossDotProduct(DIGIT_TOK, reweigh=False, loss_function=F.l1_loss)


def dirac_logits(peak: int) -> torch.Tensor:
    """``(1, 1, V)``: all mass on digit ``peak`` (as in ntloss's tests)."""
    logits = torch.full((1, 1, len(DIGIT_TOK)), -1e6)
    logits[0, 0, DIGIT_IDS[peak]] = 0.0
    return logits


def gaussian_logits(center: float, sigma: float) -> torch.Tensor:
    """``(1, 1, V)``: a bell curve over the digits, text tokens far below."""
    logits = torch.full((1, 1, len(DIGIT_TOK)), -1e6)
    logits[0, 0, DIGIT_IDS] = -((torch.arange(10.0) - center) ** 2) / (2 * sigma**2)
    return logits


def _label(digit: int) -> torch.Tensor:
    return DIGIT_IDS[digit].view(1, 1)


@settings(deadline=None, max_examples=10)
@given(target=st.integers(0, 9))
def test_dirac_losses_equal_distance(target):
    for peak in range(10):
        logits, label = dirac_logits(peak), _label(target)
        assert WAS(logits, label).item() == pytest.approx(abs(peak - target), abs=1e-5)
        assert MSE(logits, label).item() == pytest.approx((peak - target) ** 2, abs=1e-4)


@settings(deadline=None, max_examples=25)
@given(target=st.integers(0, 9), sigma=st.floats(0.05, 1.0))
def test_was_minimal_at_target_and_grows_with_distance(target, sigma):
    """Peak at integer c, width σ ≤ 1: WAS(c) falls strictly towards the target and rises after.

    (For σ ≳ 1.2 this fails near the ends of 0–9: truncating the bell moves its mean.)
    """
    losses = torch.tensor([WAS(gaussian_logits(c, sigma), _label(target)).item() for c in range(10)])
    assert int(losses.argmin()) == target
    assert torch.all(losses[1 : target + 1] < losses[:target])
    assert torch.all(losses[target + 1 :] > losses[target:-1])


@settings(deadline=None, max_examples=50)
@given(
    logit_values=st.lists(st.floats(-8, 8), min_size=10, max_size=10),
    target=st.integers(0, 9),
)
def test_was_bounds_and_cross_entropy_blindness(logit_values, target):
    """|E[x] − y| ≤ WAS ≤ max distance; WAS = 0 only for mass on the target."""
    logits = torch.full((1, 1, len(DIGIT_TOK)), -1e6)
    logits[0, 0, DIGIT_IDS] = torch.tensor(logit_values)
    label = _label(target)
    was, mae = WAS(logits, label).item(), MAE(logits, label).item()
    assert mae <= was + 1e-5
    assert was <= max(target, 9 - target) + 1e-5
    q = torch.softmax(torch.tensor(logit_values), 0)
    assert was == pytest.approx(float((q * (torch.arange(10.0) - target).abs()).sum()), abs=1e-5)
    assert (was < 1e-6) == bool(q[target] > 1 - 1e-6)


@settings(deadline=None, max_examples=30)
@given(target=st.integers(0, 9), other_mass=st.floats(0.0, 0.99))
def test_reweigh_interpolates_to_worst_case(target, other_mass):
    """reweigh: loss·m + 1.01·max_dist·(1 − m), with m the probability on digit tokens."""
    logits = torch.full((1, 1, len(DIGIT_TOK)), -1e6)
    logits[0, 0, DIGIT_IDS[target]] = 0.0
    text_id = DIGIT_TOK.get_vocab()["a"]
    logits[0, 0, text_id] = math.log(other_mass / (1 - other_mass)) if other_mass > 0 else -1e6
    reweighed = ntl_core.NTLoss(DIGIT_TOK, reweigh=True)(logits, _label(target)).item()
    assert reweighed == pytest.approx(1.01 * 9 * other_mass, abs=1e-4)


def test_reference_tokenizer_copy_is_independent():
    """Sanity of the test set-up: deep copies keep ntloss's mutation away from shared fixtures."""
    tok = build_tokenizer("multidigit")
    ntloss.NTLoss(copy.deepcopy(tok))
    assert tok.tokenize("123") == ["123"]


def test_number_level_without_dot_token_never_joins_across_unk():
    """No "." in the vocabulary: float_level has nothing to join ("1 <unk> 5" stays 1 and 5).

    ntloss would look up "." with convert_tokens_to_ids, get the <unk> id, and read "1 <unk> 5" as 15.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "a": 1, **{d: i + 2 for i, d in enumerate(DIGITS)}}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]")
    labels = torch.tensor([[vocab["1"], 0, vocab["5"]]])
    logits = torch.full((1, 3, len(tok)), -30.0)
    for t, token in enumerate(["2", "[UNK]", "5"]):  # predicts 2 for the first number, 5 for the second
        logits[0, t, vocab[token]] = 30.0
    loss = ntl_core.NumberLevelLoss(tok, float_level=True, reweigh=False)(logits, labels, reduction="none")
    torch.testing.assert_close(loss, torch.tensor([[1 / 3, 0.0, 0.0]]), atol=1e-5, rtol=0)
