"""Locally built tokenizers: digit-level and multi-digit, round trips and save/load."""
from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from transformers import PreTrainedTokenizerFast

from ntl_core.tokenization import build_tokenizer, digit_token_ids, show_tokens, tokenizer_kind

PRINTABLE = st.text(alphabet=string.digits + string.ascii_letters + string.punctuation + " ", max_size=60)


# Built once: hypothesis calls the tests below a hundred times each.
DIGITS, MULTIDIGIT = build_tokenizer("digits"), build_tokenizer("multidigit")


@pytest.fixture
def digits():
    return DIGITS


@pytest.fixture
def multidigit():
    return MULTIDIGIT


@given(PRINTABLE)
def test_round_trip_digits(text):
    assert DIGITS.decode(DIGITS(text, add_special_tokens=False)["input_ids"]) == text


@given(PRINTABLE)
def test_round_trip_multidigit(text):
    assert MULTIDIGIT.decode(MULTIDIGIT(text, add_special_tokens=False)["input_ids"]) == text


@given(st.integers(0, 10**12))
def test_every_digit_is_one_token(n):
    assert show_tokens(DIGITS, str(n)) == list(str(n))


def test_multidigit_cuts_numbers_into_chunks_of_three(multidigit):
    assert show_tokens(multidigit, "12345+7=") == ["123", "45", "+", "7", "="]
    assert show_tokens(multidigit, "007") == ["007"]


def test_special_tokens_and_digit_ids(digits, multidigit):
    for tok in (digits, multidigit):
        assert (tok.pad_token_id, tok.unk_token_id, tok.bos_token_id, tok.eos_token_id) == (0, 1, 2, 3)
        assert tok.convert_ids_to_tokens(digit_token_ids(tok)) == list(string.digits)
    assert len(digits) == 4 + 10 + 85  # specials, digits, printable non-digit ASCII incl. space
    assert len(multidigit) == 4 + 1110 + 85


def test_unknown_characters_become_unk(digits):
    assert digits("a\u00e9b", add_special_tokens=False)["input_ids"][1] == digits.unk_token_id


def test_kind_detection_and_save_load(tmp_path, multidigit):
    multidigit.save_pretrained(tmp_path)
    loaded = PreTrainedTokenizerFast.from_pretrained(tmp_path, local_files_only=True)
    assert tokenizer_kind(loaded) == "multidigit"
    assert tokenizer_kind(build_tokenizer("digits")) == "digits"
    text = "What is 12345 - 678?"
    assert loaded(text)["input_ids"] == multidigit(text)["input_ids"]
    assert loaded.decode(loaded(text, add_special_tokens=False)["input_ids"]) == text


def test_unknown_kind_raises():
    with pytest.raises(ValueError, match="unknown tokenizer kind"):
        build_tokenizer("bpe")
