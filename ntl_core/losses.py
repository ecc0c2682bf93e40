"""Number Token Loss, drop-in compatible with ``ntloss`` 0.3.2 and exact on any vocabulary.

``NTLoss`` (Wasserstein flavour, NTL-WAS), ``NTLossDotProduct`` (NTL-L_p: MSE by default, MAE and
Huber work) and :class:`ntl_core.number_level.NumberLevelLoss` take the same constructor arguments
and the same ``forward(logits, labels, loss_weights=None, reduction="mean", ignore_index=-100)``
as ``ntloss`` and return the same numbers (tested differentially in
``tests/unit/test_ntl_losses.py``). Where ``ntloss`` misbehaves these classes differ, on purpose:

* the tokenizer is only read, never modified (``ntloss`` calls ``tokenizer.add_tokens``);
* a vocabulary without digit tokens raises a ``ValueError`` that says how to fix it;
* a batch without number-token labels returns a zero that is still part of the autograd graph
  (``backward()`` works and gives zero gradients), never NaN;
* invalid ``reduction`` values are rejected before any work, and the vocab size is checked on
  every call (``ntloss`` checks it only on the first);
* number-token logits are gathered only at the K positions whose label is a number token, so the
  cost grows with K, not with B·T·V.

For a causal LM the logits at position t predict the label at t + 1; :func:`shift_for_causal_lm`
aligns the two (``ntloss`` leaves this to the caller).
"""
from __future__ import annotations

from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ntl_core.number_tokens import NumberTokenTable, VocabSource

Reduction = Literal["mean", "sum", "none"]
REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")
# ntloss scales the worst-case loss by 1.01 so that mass outside the number tokens is always
# penalised slightly more than the worst number token.
_REWEIGH_MARGIN = 1.01


def shift_for_causal_lm(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Align a causal LM's logits with its next-token labels.

    Args:
        logits: ``(B, T, V)``; position t predicts token t + 1.
        labels: ``(B, T)``; usually the input ids (with ignored positions set to ``ignore_index``).

    Returns:
        ``(logits[:, :-1], labels[:, 1:])`` of shapes ``(B, T-1, V)`` and ``(B, T-1)`` (views, no
        copy).

    Raises:
        ValueError: on wrong ranks, mismatching ``(B, T)`` or ``T < 2``.
    """
    if logits.dim() != 3 or labels.dim() != 2:
        raise ValueError(
            f"expected logits (B, T, V) and labels (B, T), got {tuple(logits.shape)} and "
            f"{tuple(labels.shape)}"
        )
    if logits.shape[:2] != labels.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and labels {tuple(labels.shape)} differ in (B, T)")
    if labels.shape[1] < 2:
        raise ValueError("a causal shift needs at least 2 positions (T >= 2)")
    return logits[:, :-1, :], labels[:, 1:]


def validate_inputs(
    logits: Tensor, labels: Tensor | None, loss_weights: Tensor | None, vocab_size: int
) -> None:
    """Check ranks, dtypes, shapes and the vocab size, with ``ntloss``'s error types.

    Args:
        logits: ``(B, T, V)`` floating point.
        labels: ``(B, T)`` long, or None (prediction only).
        loss_weights: ``(B, T)`` non-negative, or None.
        vocab_size: the V the loss was built for.

    Raises:
        ValueError: wrong rank, empty tensor, shape or vocab mismatch, negative weights.
        TypeError: non-float logits or non-long labels.
    """
    if logits.dim() != 3 or logits.numel() == 0:
        raise ValueError(
            f"Logits have to be non-empty 3D Tensor, not {logits.dim()}D with {logits.numel()} elements"
        )
    if not torch.is_floating_point(logits):
        raise TypeError("Logits have to be FloatTensor.")
    if logits.shape[-1] != vocab_size:
        raise ValueError(
            f"The loss was built for vocab_size={vocab_size} but the logits have {logits.shape[-1]} "
            "entries in their last dimension; pass the model's logit dimension as vocab_size."
        )
    if labels is None:
        return
    if labels.dtype != torch.long:
        raise TypeError(f"Labels have to be LongTensor, not {labels.dtype}")
    if labels.shape != logits.shape[:-1]:
        raise ValueError(
            f"Logit and label sizes of first 2 dims have to match: {tuple(logits.shape[:-1])} vs "
            f"{tuple(labels.shape)}"
        )
    if loss_weights is not None:
        if loss_weights.shape != labels.shape:
            raise ValueError("loss_weights has to be a 2D Tensor of the same shape as labels.")
        if bool(torch.any(loss_weights < 0)):
            raise ValueError("loss_weights must be ≥ 0.")


def wasserstein_distances(values: Tensor, squash_factor: float | None = None) -> Tensor:
    """Ground distances between number tokens for NTL-WAS.

    Args:
        values: ``(N,)`` number-token values.
        squash_factor: if given (> 1), distances are mapped affinely so the closest distinct pair
            costs 1 and the farthest costs ``squash_factor`` (``ntloss``'s rule for vocabularies
            with large values such as ``"1000"``); equal values keep distance 0.

    Returns:
        ``(N, N)`` matrix ``D[i, j]``.

    Raises:
        ValueError: ``squash_factor`` ≤ 1.
    """
    diff = (values[None, :] - values[:, None]).abs()
    if squash_factor is None:
        return diff
    if squash_factor <= 1:
        raise ValueError(
            f"squash_factor must be > 1 (1 would make NTL-WAS a constant), got {squash_factor}"
        )
    big = torch.finfo(diff.dtype).max
    closest = diff.masked_fill(diff == 0, big).min()
    farthest = diff.max()
    # All distinct distances equal (e.g. two number tokens): every wrong token costs 1; ntloss
    # divides by zero here and returns NaN.
    span = farthest - closest
    scale = (squash_factor - 1) / span if span > 0 else torch.zeros(())
    lookup = 1 + (diff - closest) * scale
    return lookup.masked_fill(diff == 0, 0.0)


class _NumberTokenLoss:
    """Shared machinery: number-token table, target preparation, reweighing and reductions.

    Subclasses define :meth:`position_losses_unweighted` — the loss at each number-token position
    from the logits restricted to the number tokens.
    """

    max_dist: Tensor

    def __init__(
        self,
        tokenizer: VocabSource,
        vocab_size: int | None = None,
        digit_level: bool = True,
        reweigh: bool = True,
    ) -> None:
        self.tokenizer = tokenizer  # kept for ntloss compatibility; only read, never modified
        self.table = NumberTokenTable.from_tokenizer(tokenizer, vocab_size, digit_level)
        self.vocab_size = self.table.vocab_size
        self.digit_level = digit_level
        self.reweigh = reweigh
        self._device_tables: dict[torch.device, NumberTokenTable] = {}
        self._max_dist_on: dict[tuple[torch.device, torch.dtype], Tensor] = {}

    # --- ntloss-compatible read-only attributes -------------------------------------------------
    @property
    def number_values(self) -> Tensor:
        """``(V,)`` value per vocabulary id, NaN for non-number ids."""
        return self.table.value_of_id

    @property
    def is_number_token(self) -> Tensor:
        """``(V,)`` bool mask of number-token ids."""
        return self.table.is_number

    @property
    def number_token_ids(self) -> Tensor:
        """``(N,)`` number-token ids in increasing order."""
        return self.table.ids

    @property
    def number_values_dense(self) -> Tensor:
        """``(N,)`` values aligned with :attr:`number_token_ids`."""
        return self.table.values

    @property
    def nan_id(self) -> int:
        """The first non-number id (ignored labels are mapped to it)."""
        return self.table.non_number_id

    def __call__(self, *args, **kwargs) -> Tensor:
        """Alias of :meth:`forward`."""
        return self.forward(*args, **kwargs)

    # --- building blocks ------------------------------------------------------------------------
    def table_on(self, device: torch.device) -> NumberTokenTable:
        """The number-token table with its tensors on ``device`` (cached)."""
        table = self._device_tables.get(device)
        if table is None:
            table = self._device_tables[device] = self.table.to(device)
        return table

    def number_targets(self, labels: Tensor, ignore_index: int) -> tuple[Tensor, Tensor]:
        """Target values of every position, as ``ntloss`` computes them.

        Args:
            labels: ``(B, T)`` long.
            ignore_index: label id to skip.

        Returns:
            ``y``: ``(B, T)`` float32 target value, NaN where the label is not a number token or is
            ignored; ``is_target``: ``(B, T)`` bool, ``~isnan(y)``.
        """
        table = self.table_on(labels.device)
        safe = labels.masked_fill(labels == ignore_index, table.non_number_id)
        y = table.value_of_id[safe]
        return y, ~torch.isnan(y)

    def checked_targets(
        self,
        logits: Tensor,
        labels: Tensor,
        loss_weights: Tensor | None,
        reduction: str,
        ignore_index: int,
    ) -> tuple[Tensor, Tensor]:
        """Validate ``forward``'s arguments, then return :meth:`number_targets`.

        Raises:
            ValueError, TypeError: see :func:`validate_inputs`; unknown ``reduction``.
        """
        if reduction not in REDUCTIONS:
            raise ValueError(f"{reduction} is not a valid value for reduction; use one of {REDUCTIONS}")
        validate_inputs(logits, labels, loss_weights, self.vocab_size)
        return self.number_targets(labels, ignore_index)

    @staticmethod
    def rows_at(logits: Tensor, flat_positions: Tensor, columns: Tensor | None = None) -> Tensor:
        """Gather logits at flat positions (and optionally columns) without copying all of B·T·V.

        Args:
            logits: ``(B, T, V)``.
            flat_positions: ``(K,)`` indices into the flattened ``(B·T)`` positions.
            columns: optional ``(N,)`` vocabulary ids.

        Returns:
            ``(K, V)`` rows, or ``(K, N)`` when ``columns`` is given.
        """
        if columns is None and logits.is_contiguous():
            # index_select's backward is an index_add, cheaper than advanced indexing's index_put
            return logits.view(-1, logits.shape[-1]).index_select(0, flat_positions)
        seq_len = logits.shape[1]
        b, t = flat_positions // seq_len, flat_positions % seq_len
        if columns is None:
            return logits[b, t]
        return logits[b[:, None], t[:, None], columns[None, :]]

    def number_logits_and_mass(
        self, logits: Tensor, positions: Tensor, mass_positions: Tensor | None
    ) -> tuple[Tensor, Tensor | None]:
        """Number-token logits at ``positions`` and, if asked, the number mass at a subset of them.

        With a mass to compute, the full rows are gathered once and both results are read from
        them, so backward scatters into one ``(B, T, V)`` gradient instead of two.

        Args:
            logits: ``(B, T, V)``.
            positions: ``(K,)`` sorted flat positions.
            mass_positions: ``(M,)`` sorted subset of ``positions``, or None for no mass.

        Returns:
            ``(K, N)`` number-token logits and ``(M,)`` mass (or None).
        """
        ids = self.table_on(logits.device).ids
        if mass_positions is None:
            return self.rows_at(logits, positions, ids), None
        rows = self.rows_at(logits, positions)
        mass_rows = rows[torch.searchsorted(positions, mass_positions)]
        return rows.index_select(-1, ids), self.number_mass(mass_rows, ids)

    def reweighed(self, loss: Tensor, mass: Tensor) -> Tensor:
        """``ntloss``'s reweighing: ``loss·m + 1.01·max_dist·(1 − m)``.

        Args:
            loss: ``(K,)`` per-position NTL.
            mass: ``(K,)`` probability mass m on all number tokens (full-vocabulary softmax).

        Returns:
            ``(K,)`` reweighed loss.
        """
        key = (loss.device, loss.dtype)
        # Cached: a host-to-GPU copy on every call would stall the stream (a sync per step).
        max_dist = self._max_dist_on.get(key)
        if max_dist is None:
            max_dist = self._max_dist_on[key] = self.max_dist.to(dtype=loss.dtype, device=loss.device)
        return loss * mass + _REWEIGH_MARGIN * max_dist * (1 - mass)

    @staticmethod
    def number_mass(rows: Tensor, number_ids: Tensor) -> Tensor:
        """Probability mass on the number tokens, summed as ``ntloss`` does (same rounding).

        Args:
            rows: ``(K, V)`` logits.
            number_ids: ``(N,)`` number-token ids.

        Returns:
            ``(K,)`` mass in [0, 1].
        """
        return torch.softmax(rows, -1).index_select(-1, number_ids).sum(-1)

    def position_losses_unweighted(self, nt_scores: Tensor, labels: Tensor, y: Tensor) -> Tensor:
        """Per-position NTL before reweighing (defined by each flavour).

        Args:
            nt_scores: ``(K, N)`` logits (or log-probabilities) of the number tokens; only their
                softmax over N matters.
            labels: ``(K,)`` label ids (all number tokens).
            y: ``(K,)`` target values.

        Returns:
            ``(K,)`` losses.
        """
        raise NotImplementedError

    def position_losses(
        self, nt_scores: Tensor, labels: Tensor, y: Tensor, mass: Tensor | None = None
    ) -> Tensor:
        """Per-position NTL, reweighed when ``self.reweigh`` (then ``mass`` is required).

        Args:
            nt_scores: ``(K, N)`` number-token logits or log-probabilities.
            labels: ``(K,)`` number-token label ids.
            y: ``(K,)`` target values.
            mass: ``(K,)`` probability mass on all number tokens (full-vocabulary softmax).

        Returns:
            ``(K,)`` losses.
        """
        loss = self.position_losses_unweighted(nt_scores, labels, y)
        if self.reweigh:
            if mass is None:
                raise ValueError("reweigh=True needs mass, the probability on number tokens")
            loss = self.reweighed(loss, mass)
        return loss

    @staticmethod
    def reduce(
        loss: Tensor,
        weights: Tensor,
        flat_positions: Tensor,
        shape: tuple[int, int],
        reduction: str,
    ) -> Tensor:
        """Weighted reduction, exactly as ``ntloss._apply_reduction``.

        Args:
            loss: ``(K,)`` per-position losses.
            weights: ``(K,)`` per-position weights.
            flat_positions: ``(K,)`` flat indices of the positions into ``B·T``.
            shape: ``(B, T)``.
            reduction: ``"mean"`` (weighted mean), ``"sum"`` (weighted sum) or ``"none"``.

        Returns:
            0-D tensor, or ``(B, T)`` for ``"none"`` (zeros off the number positions).
        """
        weights = weights.to(device=loss.device, dtype=loss.dtype)
        if reduction == "mean":
            return torch.dot(loss, weights) / weights.sum().clamp_min(torch.finfo(loss.dtype).eps)
        if reduction == "sum":
            return torch.dot(loss, weights)
        full = loss.new_zeros(shape[0] * shape[1])
        return full.index_put((flat_positions,), loss * weights).view(shape)

    @staticmethod
    def zero_loss(logits: Tensor, reduction: str) -> Tensor:
        """A zero loss that stays in the autograd graph (``backward()`` gives zero gradients).

        Summing an empty slice gives exact zeros even when the logits hold inf or NaN.
        """
        empty = logits[..., :0]
        return empty.sum() if reduction != "none" else empty.sum(-1)

    # --- the loss -------------------------------------------------------------------------------
    def forward(
        self,
        logits: Tensor,
        labels: Tensor,
        loss_weights: Tensor | None = None,
        reduction: Reduction = "mean",
        ignore_index: int = -100,
    ) -> Tensor:
        """Compute the NTL over the positions whose label is a number token.

        Args:
            logits: ``(B, T, V)``.
            labels: ``(B, T)`` long; ``ignore_index`` marks positions to skip.
            loss_weights: optional ``(B, T)`` non-negative weight per position.
            reduction: ``"mean"`` (weighted mean over number positions), ``"sum"`` or ``"none"``.
            ignore_index: label id to skip.

        Returns:
            0-D loss for ``"mean"``/``"sum"``, ``(B, T)`` for ``"none"``; zero (in the graph) when
            no position has a number-token label or all their weights are 0.

        Raises:
            ValueError, TypeError: invalid inputs (see :func:`validate_inputs`) or reduction.
        """
        y, is_target = self.checked_targets(logits, labels, loss_weights, reduction, ignore_index)
        positions = torch.nonzero(is_target.flatten()).squeeze(1)
        weights = (
            loss_weights.flatten()[positions].to(logits.dtype)
            if loss_weights is not None
            else torch.ones(positions.numel(), device=logits.device, dtype=logits.dtype)
        )
        if positions.numel() == 0 or not bool(weights.any()):
            return self.zero_loss(logits, reduction)
        nt_logits, mass = self.number_logits_and_mass(logits, positions, positions if self.reweigh else None)
        loss = self.position_losses(nt_logits, labels.flatten()[positions], y.flatten()[positions], mass)
        return self.reduce(loss, weights, positions, tuple(labels.shape), reduction)


class NTLoss(_NumberTokenLoss):
    """NTL-WAS: Wasserstein-1 distance between the number-token distribution and the target.

    For one position with number-token probabilities q (softmax over the N number tokens only)
    and target value y, ``loss = Σ_j q_j · D[y, j]`` with ``D`` the (optionally squashed)
    absolute value difference. This is the ICML paper's default.
    """

    def __init__(
        self,
        tokenizer: VocabSource,
        vocab_size: int | None = None,
        digit_level: bool = True,
        reweigh: bool = True,
        squash_factor: float | None = None,
    ) -> None:
        """Build the loss.

        Args:
            tokenizer: any Hugging Face tokenizer (read only).
            vocab_size: the model's logit dimension; defaults to ``len(tokenizer)``.
            digit_level: only ``"0"``–``"9"`` are number tokens (the paper's setting).
            reweigh: scale by the probability mass on number tokens (``ntloss``'s default; the
                paper does not use it).
            squash_factor: > 1, how much worse the farthest number is than the closest wrong one
                (for vocabularies with large number values).

        Raises:
            ValueError: no digit/number tokens in the vocabulary, or ``squash_factor`` ≤ 1.
        """
        super().__init__(tokenizer, vocab_size, digit_level, reweigh)
        self.squash_factor = squash_factor
        self.dist_lookup = wasserstein_distances(self.table.values, squash_factor)
        self.max_dist = self.dist_lookup.max()
        self._dist_on: dict[torch.device, Tensor] = {}

    def position_losses_unweighted(self, nt_scores: Tensor, labels: Tensor, y: Tensor) -> Tensor:
        """``Σ_j softmax(nt_scores)_j · D[label, j]`` per position; see the base class."""
        dist = self._dist_on.get(nt_scores.device)
        if dist is None:
            dist = self._dist_on[nt_scores.device] = self.dist_lookup.to(nt_scores.device)
        columns = self.table_on(labels.device).column_of_id[labels]
        return (torch.softmax(nt_scores, -1) * dist.to(nt_scores.dtype)[columns]).sum(-1)


class NTLossDotProduct(_NumberTokenLoss):
    """NTL-L_p: a regression loss between the expected value ``ŷ = Σ_j q_j v_j`` and the target.

    ``loss_function`` is applied as ``loss_function(ŷ, y, reduction="none")``: ``F.mse_loss``
    (default, NTL-MSE), ``F.l1_loss`` (MAE), ``F.huber_loss`` … all work.
    """

    def __init__(
        self,
        tokenizer: VocabSource,
        vocab_size: int | None = None,
        digit_level: bool = True,
        reweigh: bool = True,
        loss_function: Callable[..., Tensor] = F.mse_loss,
    ) -> None:
        """Build the loss.

        Args:
            tokenizer: any Hugging Face tokenizer (read only).
            vocab_size: the model's logit dimension; defaults to ``len(tokenizer)``.
            digit_level: only ``"0"``–``"9"`` are number tokens.
            reweigh: scale by the probability mass on number tokens.
            loss_function: ``f(input, target, reduction=...)`` on the expected value.

        Raises:
            ValueError: no digit/number tokens in the vocabulary.
        """
        super().__init__(tokenizer, vocab_size, digit_level, reweigh)
        self.loss_function = loss_function
        self.setup_max_dist()

    def setup_max_dist(self) -> None:
        """Largest value the loss can take: ``f`` between the smallest and largest number value."""
        self._max_dist_on.clear()
        lo, hi = self.table.values.min(), self.table.values.max()
        self.max_dist = torch.maximum(
            self.loss_function(lo, hi).abs(), self.loss_function(hi, lo).abs()
        )

    def expected_values(self, nt_scores: Tensor) -> Tensor:
        """``ŷ = Σ_j softmax(nt_scores)_j · v_j``.

        Args:
            nt_scores: ``(..., N)`` number-token logits.

        Returns:
            ``(...)`` expected values.
        """
        values = self.table_on(nt_scores.device).values.to(nt_scores.dtype)
        return (torch.softmax(nt_scores, -1) * values).sum(-1)

    def position_losses_unweighted(self, nt_scores: Tensor, labels: Tensor, y: Tensor) -> Tensor:
        """``loss_function(ŷ, y)`` per position; see the base class."""
        return self.loss_function(self.expected_values(nt_scores), y, reduction="none")

    def predict_numbers(self, logits: Tensor) -> tuple[Tensor, Tensor]:
        """Expected value and number-token mass at every position (as ``ntloss``).

        Args:
            logits: ``(B, T, V)``.

        Returns:
            ``yhat``: ``(B, T)`` expected values; ``nt_mass``: ``(B, T)`` probability on number
            tokens.
        """
        validate_inputs(logits, None, None, self.vocab_size)
        ids = self.table_on(logits.device).ids
        return self.expected_values(logits[..., ids]), self.number_mass(logits, ids)
