"""Number-level NTL: compare whole numbers, not single digits (``ntloss.NumberLevelLoss`` compatible).

Consecutive digit labels form one number (``"4","7","2"`` → 472). The prediction for that number
is ``Σ_k ŷ_k · 10^(n-1-k)`` with ``ŷ_k`` the expected value of digit k, and the loss is the
symmetric MAPE ``|ŷ − y| / (|ŷ| + |y| + ε)``, bounded in [0, 1]. The loss of a number sits at its
first digit's position (for ``reduction="none"`` and ``loss_weights``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ntl_core.losses import NTLossDotProduct, Reduction
from ntl_core.number_tokens import VocabSource


@dataclass(frozen=True)
class NumberSpans:
    """Where the numbers are in a ``(B, T)`` label grid.

    Attributes:
        starts: ``(S,)`` flat positions (into ``B·T``) of the first digit of each number.
        segment: ``(K,)`` number index (0 … S-1) of each digit position, in flat order.
        scale: ``(K,)`` float32 place value ``10^e`` of each digit position.
    """

    starts: Tensor
    segment: Tensor
    scale: Tensor


def _shifted(mask: Tensor, by: int) -> Tensor:
    """``out[:, t] = mask[:, t - by]`` (False where ``t - by`` is outside the row); ``by`` ≠ 0."""
    out = torch.zeros_like(mask)
    if by > 0:
        out[:, by:] = mask[:, :-by]
    else:
        out[:, :by] = mask[:, -by:]
    return out


def find_number_spans(
    is_digit: Tensor, labels: Tensor, dot_id: int | None, float_level: bool, max_number_length: int
) -> NumberSpans:
    """Group digit positions into numbers, as ``ntloss.NumberLevelLoss`` does.

    Args:
        is_digit: ``(B, T)`` bool, True where the label is a (non-ignored) digit.
        labels: ``(B, T)`` long label ids.
        dot_id: id of ``"."``; with ``float_level`` a single dot between two digits joins them into
            one number and contributes nothing (``12.34`` → 1234), otherwise dots split numbers.
        float_level: see ``dot_id``.
        max_number_length: place values are capped at ``10^(max_number_length - 1)``.

    Returns:
        The spans; digits of row b never join digits of row b + 1.
    """
    digit_before = _shifted(is_digit, 1)
    if float_level and dot_id is not None:
        is_dot = labels == dot_id
        dot_between_digits = is_dot & digit_before & _shifted(is_digit, -1)
        in_number = is_digit | dot_between_digits
        continues = digit_before | (_shifted(is_dot, 1) & _shifted(is_digit, 2))
    else:
        in_number = is_digit
        continues = digit_before
    starts_mask = (in_number & ~continues).flatten()
    # A running count of starts numbers the spans globally; rows cannot merge because a span
    # only continues from the previous position of the same row.
    number_of_position = torch.cumsum(starts_mask.long(), 0) - 1
    digit_positions = torch.nonzero(is_digit.flatten()).squeeze(1)
    segment = number_of_position[digit_positions]
    n_numbers = int(starts_mask.sum())
    digits_per_number = torch.bincount(segment, minlength=n_numbers)
    first_digit = torch.cumsum(digits_per_number, 0) - digits_per_number
    index_in_number = torch.arange(segment.numel(), device=segment.device) - first_digit[segment]
    exponent = (digits_per_number[segment] - 1 - index_in_number).clamp(0, max_number_length - 1)
    powers = torch.pow(10.0, torch.arange(max_number_length, dtype=torch.float32))
    return NumberSpans(
        starts=torch.nonzero(starts_mask).squeeze(1),
        segment=segment,
        scale=powers.to(segment.device)[exponent],
    )


class NumberLevelLoss(NTLossDotProduct):
    """Whole-number sMAPE NTL; same constructor and ``forward`` as ``ntloss.NumberLevelLoss``."""

    def __init__(
        self,
        tokenizer: VocabSource,
        vocab_size: int | None = None,
        float_level: bool = False,
        reweigh: bool = True,
        max_number_length: int = 20,
    ) -> None:
        """Build the loss (always digit-level).

        Args:
            tokenizer: any Hugging Face tokenizer (read only).
            vocab_size: the model's logit dimension; defaults to ``len(tokenizer)``.
            float_level: a single ``"."`` between digits joins them into one number.
            reweigh: scale by the probability mass on number tokens (max loss 1).
            max_number_length: the longest number, in digits, given its own place values.

        Raises:
            ValueError: no digit tokens in the vocabulary, or ``max_number_length`` < 1.
        """
        if max_number_length < 1:
            raise ValueError(f"max_number_length must be ≥ 1, got {max_number_length}")
        super().__init__(tokenizer, vocab_size, True, reweigh, F.l1_loss)
        self.float_level = float_level
        self.max_number_length = max_number_length
        # ntloss uses convert_tokens_to_ids("."), which returns the <unk> id when "." is absent
        # and would then treat <unk> labels as decimal points; a missing "." means no dots here.
        self.dot = self.table.dot_id

    def setup_max_dist(self) -> None:
        """sMAPE is bounded by 1."""
        self._max_dist_on.clear()
        self.max_dist = torch.tensor(1.0)

    def forward(
        self,
        logits: Tensor,
        labels: Tensor,
        loss_weights: Tensor | None = None,
        reduction: Reduction = "mean",
        ignore_index: int = -100,
    ) -> Tensor:
        """Compute the number-level NTL.

        Args:
            logits: ``(B, T, V)``.
            labels: ``(B, T)`` long.
            loss_weights: optional ``(B, T)`` weights, read at each number's first digit.
            reduction: ``"mean"``, ``"sum"`` or ``"none"``.
            ignore_index: label id to skip.

        Returns:
            0-D loss, or ``(B, T)`` for ``"none"`` (each number's loss at its first digit).

        Raises:
            ValueError, TypeError: invalid inputs or reduction.
        """
        y, is_digit = self.checked_targets(logits, labels, loss_weights, reduction, ignore_index)
        if not bool(is_digit.any()) or (loss_weights is not None and not bool(loss_weights.any())):
            return self.zero_loss(logits, reduction)
        digit_positions = torch.nonzero(is_digit.flatten()).squeeze(1)
        spans = find_number_spans(
            is_digit, labels, self.dot, self.float_level, self.max_number_length
        )
        nt_logits, mass = self.number_logits_and_mass(
            logits, digit_positions, spans.starts if self.reweigh else None
        )
        n_numbers = spans.starts.numel()
        y_digits = y.flatten()[digit_positions]
        yhat_digits = self.expected_values(nt_logits)
        y_num = y.new_zeros(n_numbers).index_add(0, spans.segment, y_digits * spans.scale)
        yhat_num = yhat_digits.new_zeros(n_numbers).index_add(
            0, spans.segment, yhat_digits * spans.scale.to(yhat_digits.dtype)
        )
        loss = (yhat_num - y_num).abs() / (
            yhat_num.abs() + y_num.abs() + torch.finfo(y_num.dtype).eps
        )
        if self.reweigh:
            loss = self.reweighed(loss, mass)
        weights = (
            loss_weights.flatten()[spans.starts]
            if loss_weights is not None
            else torch.ones(n_numbers, device=logits.device, dtype=logits.dtype)
        )
        return self.reduce(loss, weights, spans.starts, tuple(labels.shape), reduction)
