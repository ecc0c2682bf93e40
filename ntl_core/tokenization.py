"""Tokenizers built locally (no hub download): one token per digit, or multi-digit number tokens.

NTL needs every digit to be its own token, so that the model's distribution over the ten digit
tokens at an answer position can be compared numerically with the true digit. The contrast
tokenizer cuts numbers into chunks of up to three digits (as many LLM tokenizers do); a student can
put both side by side to see why digit-level tokenisation matters.
"""
from __future__ import annotations

import string

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS)
DIGITS = tuple(string.digits)
# Printable ASCII (space included, other whitespace excluded) covers the arithmetic tasks and the
# DeepMind-Mathematics text files; anything else becomes <unk>.
_CHARS = tuple(c for c in string.printable if c not in string.digits and (c == " " or not c.isspace()))
TOKENIZER_KINDS = ("digits", "multidigit")


def build_tokenizer(kind: str = "digits") -> PreTrainedTokenizerFast:
    """Build a character-level tokenizer with digit or multi-digit number tokens.

    Args:
        kind: ``"digits"`` — every character, hence every digit, is one token;
            ``"multidigit"`` — runs of digits are cut left to right into tokens of up to three
            digits (``"12345"`` → ``"123"``, ``"45"``), every other character is one token.

    Returns:
        A ``PreTrainedTokenizerFast`` with ``<pad>``/``<unk>``/``<bos>``/``<eos>`` as special
        tokens (ids 0–3) whose ``decode`` joins tokens without spaces, so
        ``decode(encode(s)) == s`` for printable-ASCII ``s``.

    Raises:
        ValueError: on an unknown ``kind``.
    """
    if kind == "digits":
        numbers = list(DIGITS)
        split = Regex(".")
    elif kind == "multidigit":
        numbers = [str(i).zfill(width) for width in (1, 2, 3) for i in range(10**width)]
        split = Regex(r"\d{1,3}|.")
    else:
        raise ValueError(f"unknown tokenizer kind {kind!r}; choose one of {TOKENIZER_KINDS}")
    vocab = {tok: i for i, tok in enumerate([*SPECIAL_TOKENS, *numbers, *_CHARS])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.Split(split, behavior="isolated")
    core.decoder = decoders.Fuse()  # no spaces between tokens on decode: "12+3" stays "12+3"
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token=PAD, unk_token=UNK, bos_token=BOS, eos_token=EOS
    )
    return tok


def tokenizer_kind(tokenizer: PreTrainedTokenizerFast) -> str:
    """Return ``"digits"`` or ``"multidigit"`` for a tokenizer made by :func:`build_tokenizer`."""
    return "multidigit" if "123" in tokenizer.get_vocab() else "digits"


def digit_token_ids(tokenizer: PreTrainedTokenizerFast) -> list[int]:
    """Ids of the single-digit tokens ``"0"`` … ``"9"``, in digit order."""
    vocab = tokenizer.get_vocab()
    return [vocab[d] for d in DIGITS]


def show_tokens(tokenizer: PreTrainedTokenizerFast, text: str) -> list[str]:
    """The tokens ``text`` is cut into, e.g. ``["12", "+", "3"]`` — for teaching displays."""
    return tokenizer.convert_ids_to_tokens(tokenizer(text, add_special_tokens=False)["input_ids"])
