"""Local test vocabularies and random batches for the NTL loss tests (no downloads).

Every tokenizer is a ``tokenizers`` WordLevel model wrapped in ``PreTrainedTokenizerFast``, with
the token ids shuffled so number tokens are not in value order. ``make_tokenizer`` is
deterministic: ``ntloss`` mutates the tokenizer it is given, so each side of a differential test
gets its own identical copy.
"""
from __future__ import annotations

import random

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

DIGITS = [str(d) for d in range(10)]
TEXT = ["[UNK]", "a", "b", "c", "+", "=", "."]
VOCABS: dict[str, list[str]] = {
    # digits plus text, in shuffled id order
    "digits": TEXT + DIGITS,
    # tokens that read as numbers but are not digits: ntloss counts them only with digit_level=False
    "numberlike": TEXT + DIGITS + [" 2", "10", "3.5", "-1", "1e3", "007", "nan", "inf", "Ġ2", "٣", "x9"],
    # multi-digit tokens with repeated values ("00" and "0" are both 0)
    "multidigit": TEXT + DIGITS + [f"{i:02d}" for i in range(100)],
}


def make_tokenizer(name: str, seed: int = 0) -> PreTrainedTokenizerFast:
    """Tokenizer over ``VOCABS[name]`` with ids shuffled by ``seed``."""
    tokens = VOCABS[name]
    ids = list(range(len(tokens)))
    random.Random(seed).shuffle(ids)
    core = Tokenizer(models.WordLevel(vocab=dict(zip(tokens, ids)), unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]")


def token_ids(tokenizer, tokens: list[str]) -> torch.Tensor:
    """Ids of ``tokens`` (each must be in the vocabulary)."""
    vocab = tokenizer.get_vocab()
    return torch.tensor([vocab[t] for t in tokens])


def random_labels(
    tokenizer,
    shape: tuple[int, int],
    seed: int,
    digit_share: float = 0.5,
    dot_share: float = 0.1,
    ignore_share: float = 0.1,
    ignore_index: int = -100,
) -> torch.Tensor:
    """Labels mixing digits (in runs, as in numbers), dots, other tokens and ignored positions."""
    gen = torch.Generator().manual_seed(seed)
    n_tokens = len(tokenizer)
    labels = torch.randint(n_tokens, shape, generator=gen)
    draw = torch.rand(shape, generator=gen)
    digits = token_ids(tokenizer, DIGITS)
    is_digit = draw < digit_share
    labels[is_digit] = digits[torch.randint(10, (int(is_digit.sum()),), generator=gen)]
    is_dot = (draw >= digit_share) & (draw < digit_share + dot_share)
    labels[is_dot] = tokenizer.get_vocab()["."]
    labels[draw > 1 - ignore_share] = ignore_index
    return labels


def random_logits(shape: tuple[int, int, int], seed: int, scale: float = 3.0) -> torch.Tensor:
    """Float32 logits ``(B, T, V)``."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale
