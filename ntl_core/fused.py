"""Cross-entropy plus NTL from one softmax pass over the vocabulary.

``loss = CE + weight · NTL`` where CE is the usual mean next-token cross-entropy over the
non-ignored labels and NTL is :class:`ntl_core.NTLoss` (``kind="was"``) or
:class:`ntl_core.NTLossDotProduct` with MSE (``kind="mse"``), mean over the number-token labels.

Why it is cheap: the vocabulary softmax is computed once, into one ``(B, T, V)`` buffer. CE reads
one entry per row of it; NTL reads only the N number-token columns of the K rows whose label is a
number token (a ``(K, N)`` matrix, about 10 % of the rows × 10 columns), and its reweighing factor
(the mass on number tokens) is the sum of those same entries. In backward the buffer is scaled in
place into the gradient, ``dL/dx = s_row · softmax(x) + sparse terms``, so the whole step makes one
pass to build the buffer and one to turn it into the gradient; ``F.cross_entropy`` alone makes more
(log-softmax, a zero-filled gradient, the log-softmax backward).
"""
from __future__ import annotations

from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ntl_core.losses import NTLoss, NTLossDotProduct, validate_inputs
from ntl_core.number_tokens import VocabSource

# Below this probability a float32 log would lose precision (subnormals) or hit log(0); those
# rows get their CE from an exact logsumexp instead.
_TINY_PROB = 1e-30
KINDS = ("was", "mse")


class CEWithNTLOutput(NamedTuple):
    """Result of :class:`CEWithNTL`: all 0-D tensors.

    Attributes:
        loss: ``ce + weight · ntl`` (call ``backward()`` on this).
        ce: mean cross-entropy over non-ignored labels (0 when every label is ignored).
        ntl: mean NTL over number-token labels (0 when there are none).
    """

    loss: Tensor
    ce: Tensor
    ntl: Tensor


def make_ntl(
    tokenizer: VocabSource,
    kind: str,
    weight: float,
    reweigh: bool,
    vocab_size: int | None,
    digit_level: bool,
) -> NTLoss | NTLossDotProduct:
    """The NTL term of a fused CE + NTL loss, after checking ``kind`` and ``weight``.

    Args: as :class:`CEWithNTL`.

    Returns:
        :class:`ntl_core.NTLoss` for ``"was"``, :class:`ntl_core.NTLossDotProduct` (MSE) for ``"mse"``.

    Raises:
        ValueError: unknown ``kind``, negative or non-finite ``weight``, or a vocabulary without
            number tokens.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not (weight >= 0 and weight < float("inf")):
        raise ValueError(f"weight must be a finite number ≥ 0, got {weight}")
    if kind == "was":
        return NTLoss(tokenizer, vocab_size, digit_level, reweigh)
    return NTLossDotProduct(tokenizer, vocab_size, digit_level, reweigh, F.mse_loss)


class _SoftmaxCEAndNumberLogProbs(torch.autograd.Function):
    """``(logits, …) → (mean CE, log-probabilities of number tokens at number rows)``.

    The forward keeps the full softmax as the only saved buffer and the backward turns it into the
    gradient in place, so it can run backward once (a second backward raises).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        logits: Tensor,
        labels: Tensor,
        number_rows: Tensor,
        number_ids: Tensor,
        ignore_index: int,
    ) -> tuple[Tensor, Tensor]:
        """Args: logits ``(B, T, V)``, labels ``(B, T)``, number_rows ``(K,)`` flat positions,
        number_ids ``(N,)``. Returns: CE ``()`` and log-probs ``(K, N)``, float32 (float64 for
        float64 logits)."""
        n_rows, vocab = labels.numel(), logits.shape[-1]
        # Half-precision logits are normalised in float32; float32/float64 stay as they are.
        work = torch.promote_types(logits.dtype, torch.float32)
        probs = torch.softmax(logits, dim=-1, dtype=work).contiguous().view(n_rows, vocab)
        flat_labels = labels.reshape(n_rows)
        valid = flat_labels != ignore_index
        valid_rows = torch.nonzero(valid).squeeze(1)
        target_prob = probs[valid_rows, flat_labels[valid_rows]]
        nll = -target_prob.log()
        tiny = torch.nonzero(target_prob < _TINY_PROB).squeeze(1)
        if tiny.numel():
            rows = valid_rows[tiny]
            x = NTLoss.rows_at(logits, rows).to(work)
            nll[tiny] = torch.logsumexp(x, -1) - x.gather(1, flat_labels[rows, None]).squeeze(1)
        n_valid = valid_rows.numel()
        ce = nll.sum() / n_valid if n_valid else nll.sum()
        # Number rows: exact log-probabilities from their own logsumexp (K ≪ B·T rows), so a number
        # token whose probability underflows still gets a finite log-probability.
        x_num = NTLoss.rows_at(logits, number_rows).to(work)
        log_probs_nt = x_num[:, number_ids] - torch.logsumexp(x_num, -1, keepdim=True)
        ctx.save_for_backward(valid_rows, flat_labels, number_rows, number_ids)
        # Held as a plain attribute, not saved: backward drops this last reference and returns the
        # buffer as the gradient, which autograd can then adopt as `.grad` without a copy.
        ctx.probs = probs
        ctx.meta = (tuple(logits.shape), logits.dtype, max(n_valid, 1))
        return ce, log_probs_nt

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_ce: Tensor, grad_log_probs_nt: Tensor):  # type: ignore[override]
        probs, ctx.probs = ctx.probs, None
        if probs is None:
            raise RuntimeError(
                "CEWithNTL turns its softmax buffer into the gradient in place; backward can run "
                "once per forward (retain_graph=True is not supported)."
            )
        valid_rows, flat_labels, number_rows, number_ids = ctx.saved_tensors
        shape, dtype, n_valid = ctx.meta
        n_rows, vocab = probs.shape
        ce_scale = grad_ce.to(probs.dtype) / n_valid
        # d CE / dx = (softmax − onehot) / n_valid on valid rows;
        # d log p_j / dx = onehot_j − softmax, so number rows also get −Σ_j g_j · softmax.
        row_scale = probs.new_zeros(n_rows)
        row_scale[valid_rows] = ce_scale
        grad_nt = grad_log_probs_nt.to(probs.dtype)
        row_scale.index_add_(0, number_rows, -grad_nt.sum(-1))
        grad = probs.mul_(row_scale[:, None])
        flat = grad.view(-1)
        flat.index_add_(
            0, valid_rows * vocab + flat_labels[valid_rows], (-ce_scale).expand(valid_rows.numel())
        )
        flat.index_add_(0, (number_rows[:, None] * vocab + number_ids[None, :]).flatten(), grad_nt.flatten())
        del probs, flat  # leave `grad` as the only reference to the buffer
        return grad.view(shape).to(dtype), None, None, None, None


class CEWithNTL:
    """Next-token cross-entropy plus Number Token Loss, fused (see module docstring).

    Example::

        loss_fn = CEWithNTL(tokenizer, kind="was", weight=0.3)
        out = loss_fn(*shift_for_causal_lm(model(ids).logits, ids))
        out.loss.backward()

    The result equals ``F.cross_entropy(logits.flatten(0, 1), labels.flatten(),
    ignore_index=ignore_index) + weight · NTLoss(tokenizer, reweigh=reweigh)(logits, labels)``
    (tested), with two deliberate differences: a batch whose labels are all ignored gives CE 0
    (``F.cross_entropy`` gives NaN), and backward may run only once per call.
    """

    def __init__(
        self,
        tokenizer: VocabSource,
        kind: Literal["was", "mse"] = "was",
        weight: float = 0.3,
        reweigh: bool = False,
        ignore_index: int = -100,
        vocab_size: int | None = None,
        digit_level: bool = True,
    ) -> None:
        """Build the loss.

        Args:
            tokenizer: any Hugging Face tokenizer (read only, never modified).
            kind: ``"was"`` (NTL-WAS, the paper's default) or ``"mse"`` (NTL-MSE).
            weight: λ in ``CE + λ·NTL``; ≥ 0.
            reweigh: scale NTL by the probability mass on number tokens (``ntloss``'s option).
            ignore_index: label id to skip in both terms.
            vocab_size: the model's logit dimension; defaults to ``len(tokenizer)``.
            digit_level: only ``"0"``–``"9"`` are number tokens.

        Raises:
            ValueError: unknown ``kind``, negative or non-finite ``weight``, or a vocabulary
                without number tokens.
        """
        self.ntl = make_ntl(tokenizer, kind, weight, reweigh, vocab_size, digit_level)
        self.kind = kind
        self.weight = float(weight)
        self.ignore_index = ignore_index
        self.vocab_size = self.ntl.vocab_size

    def __call__(self, logits: Tensor, labels: Tensor) -> CEWithNTLOutput:
        """Compute ``(loss, ce, ntl)``.

        Args:
            logits: ``(B, T, V)`` already aligned with ``labels`` (for a causal LM use
                :func:`ntl_core.shift_for_causal_lm`); any float dtype, may be a strided view.
            labels: ``(B, T)`` long.

        Returns:
            :class:`CEWithNTLOutput` of 0-D float32 tensors (float64 for float64 logits).

        Raises:
            ValueError, TypeError: invalid shapes, dtypes or vocab size.
        """
        validate_inputs(logits, labels, None, self.vocab_size)
        y, is_target = self.ntl.number_targets(labels, self.ignore_index)
        rows = torch.nonzero(is_target.flatten()).squeeze(1)
        table = self.ntl.table_on(logits.device)
        ce, log_probs_nt = _SoftmaxCEAndNumberLogProbs.apply(
            logits, labels, rows, table.ids, self.ignore_index
        )
        if rows.numel():
            per_position = self.ntl.position_losses(
                log_probs_nt,
                labels.flatten()[rows],
                y.flatten()[rows],
                log_probs_nt.exp().sum(-1) if self.ntl.reweigh else None,
            )
            ntl = per_position.mean()
        else:
            ntl = log_probs_nt.sum()  # exact 0 that keeps the graph connected
        return CEWithNTLOutput(ce + self.weight * ntl, ce, ntl)
