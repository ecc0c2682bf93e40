"""Number-token table: which vocabulary ids are number tokens, and what value each one has.

Every NTL flavour needs the same two facts about a vocabulary: the ids whose token reads as a
number, and the float value of each. ``ntloss`` 0.3.2 finds them by calling
``tokenizer.add_tokens(["0", …, "9"])`` first, which mutates the caller's tokenizer (a tokenizer
with multi-digit tokens such as ``"123"`` afterwards cuts every number into single digits) and
fails with an ``IndexError`` when the digits were missing. This module reads the vocabulary only;
a vocabulary without number tokens gets a ``ValueError`` that says how to add them.

The rules for what counts as a number token are exactly those of ``ntloss``, so the two agree
on every vocabulary that has its digits:

* a token is a number if ``float(token)`` succeeds and is finite (so ``" 2"``, ``"10"``,
  ``"3.5"`` and ``"-1"`` are numbers; ``"nan"``, ``"inf"`` and ``"Ġ2"`` are not);
* with ``digit_level=True`` only single ASCII characters ``"0"`` … ``"9"`` count.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import torch

_DIGITS = tuple(str(d) for d in range(10))
_FIX_HINT = (
    "Add the ten digit tokens to the tokenizer and grow the model to match, then build the loss: "
    "`tokenizer.add_tokens([str(d) for d in range(10)]); "
    "model.resize_token_embeddings(len(tokenizer))`. "
    "(ntloss does the add_tokens call silently, on your tokenizer, and fails when the model's "
    "vocab_size does not leave room for the new ids.)"
)


class VocabSource(Protocol):
    """What the table needs from a tokenizer: ``get_vocab()`` and ``len()``."""

    def get_vocab(self) -> dict[str, int]: ...

    def __len__(self) -> int: ...


def token_value(token: str, digit_level: bool) -> float | None:
    """The value of ``token`` if it is a number token under ``ntloss``'s rule, else ``None``.

    Args:
        token: a vocabulary entry, e.g. ``"7"``, ``" 2"``, ``"10"``, ``"Ġ2"``.
        digit_level: only single ASCII digits ``"0"``–``"9"`` count when True.

    Returns:
        The float value, or ``None`` for a non-number token.
    """
    try:
        value = float(token)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    if digit_level and token not in _DIGITS:
        return None
    return value


@dataclass(frozen=True, eq=False)
class NumberTokenTable:
    """The number tokens of a vocabulary.

    Attributes:
        vocab_size: V, the size of the logits' last dimension.
        digit_level: whether only the digits ``"0"``–``"9"`` were admitted.
        ids: ``(N,)`` long, the number-token ids in increasing id order (the order every
            per-token tensor below and every NTL formula uses, as in ``ntloss``).
        values: ``(N,)`` float32, the value of each number token, aligned with ``ids``.
        tokens: the N token strings, aligned with ``ids``.
        value_of_id: ``(V,)`` float32, the value of each vocabulary id, NaN for non-number ids.
        column_of_id: ``(V,)`` long, position of each id in ``ids``, -1 for non-number ids.
        non_number_id: the smallest non-number id (``ntloss`` maps ignored labels to it).
        dot_id: id of the token ``"."`` if the vocabulary has one, else ``None``.
    """

    vocab_size: int
    digit_level: bool
    ids: torch.Tensor
    values: torch.Tensor
    tokens: tuple[str, ...]
    value_of_id: torch.Tensor
    column_of_id: torch.Tensor
    non_number_id: int
    dot_id: int | None

    @property
    def is_number(self) -> torch.Tensor:
        """``(V,)`` bool, True at number-token ids."""
        return self.column_of_id >= 0

    @classmethod
    def from_tokenizer(
        cls, tokenizer: VocabSource, vocab_size: int | None = None, digit_level: bool = True
    ) -> NumberTokenTable:
        """Read the number tokens of a Hugging Face tokenizer, without modifying it.

        Args:
            tokenizer: anything with ``get_vocab()`` and ``len()`` (added tokens included).
            vocab_size: the model's logit dimension V; defaults to ``len(tokenizer)``.
            digit_level: admit only the digits ``"0"``–``"9"`` (the ICML paper's setting).

        Returns:
            The table.

        Raises:
            ValueError: no number tokens, only number tokens, or a number id ≥ ``vocab_size``.
        """
        size = len(tokenizer) if vocab_size is None else vocab_size
        return cls.from_vocab(tokenizer.get_vocab(), vocab_size=size, digit_level=digit_level)

    @classmethod
    def from_vocab(
        cls, vocab: Mapping[str, int], vocab_size: int | None = None, digit_level: bool = True
    ) -> NumberTokenTable:
        """Build the table from a ``token → id`` mapping.

        Args:
            vocab: token string → id.
            vocab_size: V; defaults to ``max(id) + 1``.
            digit_level: admit only the digits ``"0"``–``"9"``.

        Returns:
            The table.

        Raises:
            ValueError: no number tokens, only number tokens, or a number id ≥ ``vocab_size``.
        """
        size = max(vocab.values()) + 1 if vocab_size is None else int(vocab_size)
        if size <= 0:
            raise ValueError(f"vocab_size must be positive, got {size}")
        found = sorted(
            (idx, tok, val)
            for tok, idx in vocab.items()
            if (val := token_value(tok, digit_level)) is not None
        )
        kind = "digit tokens '0'-'9'" if digit_level else "number tokens"
        if not found:
            raise ValueError(f"The vocabulary has no {kind}, so NTL cannot be computed. {_FIX_HINT}")
        too_big = [(tok, idx) for idx, tok, _ in found if idx >= size]
        if too_big:
            raise ValueError(
                f"Number tokens {too_big[:5]} have ids ≥ vocab_size={size}; pass the model's logit "
                "dimension as vocab_size (it must cover every number-token id)."
            )
        if len(found) == size:
            raise ValueError(
                "Every token is a number token; at least one non-number token is needed to stand in "
                "for ignored labels."
            )
        if digit_level and len(found) != 10:
            warnings.warn(
                f"digit_level=True but only {len(found)} of the 10 digits are in the vocabulary: "
                f"{[tok for _, tok, _ in found]}. {_FIX_HINT}",
                stacklevel=3,
            )
        ids = torch.tensor([idx for idx, _, _ in found], dtype=torch.long)
        values = torch.tensor([val for _, _, val in found], dtype=torch.float32)
        value_of_id = torch.full((size,), float("nan"), dtype=torch.float32)
        value_of_id[ids] = values
        column_of_id = torch.full((size,), -1, dtype=torch.long)
        column_of_id[ids] = torch.arange(len(found))
        non_number_id = int(torch.nonzero(column_of_id < 0)[0])
        dot = vocab.get(".")
        return cls(
            vocab_size=size,
            digit_level=digit_level,
            ids=ids,
            values=values,
            tokens=tuple(tok for _, tok, _ in found),
            value_of_id=value_of_id,
            column_of_id=column_of_id,
            non_number_id=non_number_id,
            dot_id=dot if dot is not None and dot < size else None,
        )

    def to(self, device: torch.device | str) -> NumberTokenTable:
        """A copy with every tensor on ``device`` (cached per device by the losses)."""
        return NumberTokenTable(
            vocab_size=self.vocab_size,
            digit_level=self.digit_level,
            ids=self.ids.to(device),
            values=self.values.to(device),
            tokens=self.tokens,
            value_of_id=self.value_of_id.to(device),
            column_of_id=self.column_of_id.to(device),
            non_number_id=self.non_number_id,
            dot_id=self.dot_id,
        )
