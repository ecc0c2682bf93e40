"""CE + NTL fused with the LM head: the ``(N, V)`` logits are never held, only one chunk of them.

``FusedLinearCEWithNTL(...)(hidden, lm_weight, labels, bias)`` equals
``CEWithNTL(...)(hidden @ lm_weight.T + bias, labels)`` (loss and the gradients of ``hidden``,
``lm_weight`` and ``bias``; tested to 1e-5 in float32), but processes the tokens in chunks: for each
chunk of ``c`` rows it computes the logits ``(c, V)``, their softmax, the CE and NTL terms and the
gradient of the loss w.r.t. those logits, in place in the same buffer, and immediately contracts that
gradient with the head: ``dh_c = dlogits_c @ W`` and ``dW += dlogits_c.T @ h_c``. Peak memory is
one chunk of logits plus the gradients the caller gets anyway (``dW`` is ``V × d``), instead of the
``N × V`` logits, their softmax and their gradient.

Gradients are computed in forward, not recomputed in backward: forward → backward would otherwise
run the ``(c × d) @ (d × V)`` product twice, 4 matrix products instead of 3, ≈ 1.33× the time of
plain ``lm_head`` + ``F.cross_entropy`` (whose backward needs the same 3 products). The price is
that the outputs' gradients must be known in forward, so only ``loss`` is differentiable: ``ce`` and
``ntl`` are returned detached, for logging (change ``loss_fn.weight`` to reweigh the terms), and the
upstream gradient of ``loss`` (a scalar) just scales the stored gradients in backward. When no input
needs a gradient (``torch.no_grad()``, a frozen head) that work is skipped. Rows whose label is
``ignore_index`` are dropped before the product: their logits and gradients are never computed.

Precision: the products run in the inputs' dtype, like the model's own ``lm_head``; softmax, CE,
NTL and the logit gradient are computed in float32 (float64 for float64 inputs), and ``dW`` is
accumulated over chunks in that precision, then cast to the weight's dtype. float16 runs, but a
``GradScaler``'s loss scale arrives only in backward, after the float16 logit gradients were formed
(small ones may have underflowed); prefer bfloat16, whose range is float32's.
"""
from __future__ import annotations

from typing import Literal, NamedTuple

import torch
from torch import Tensor

from ntl_core.fused import CEWithNTLOutput, make_ntl
from ntl_core.losses import NTLoss, NTLossDotProduct
from ntl_core.number_tokens import VocabSource

FUSED_REDUCTIONS = ("mean", "sum")
# Default chunk: this many logits (256 MiB in float32), ≈ 1300 tokens at V = 50k. Small chunks cost
# BLAS efficiency (on the 2-core dev box a 256-token head product ran at about half the FLOP rate of
# a 1024–2048-token one); the chunk is still a small fraction of the N × V logits it replaces.
CHUNK_ELEMENTS = 1 << 26


class _Plan(NamedTuple):
    """What the autograd function needs besides the tensors; built per call."""

    ntl: NTLoss | NTLossDotProduct
    number_ids: Tensor  # (M,) number-token ids
    valid_rows: Tensor  # (n,) flat positions whose label is not ignored
    is_number: Tensor  # (n,) bool: the label of that row is a number token
    y: Tensor  # (n,) target value of that row (NaN off number rows)
    weight: float  # λ in CE + λ·NTL
    ce_norm: float  # 1 / n for "mean", 1 for "sum"
    ntl_norm: float  # 1 / (number rows) for "mean", 1 for "sum"
    chunk: int  # rows per chunk
    needs: tuple[bool, bool, bool]  # gradients wanted for hidden, weight, bias


def _ntl_terms(plan: _Plan, log_probs: Tensor, labels: Tensor, y: Tensor, want_grad: bool) -> tuple[Tensor, Tensor | None]:
    """Summed NTL of ``k`` number rows and its gradient w.r.t. their number-token log-probabilities.

    The per-position formula is :meth:`ntl_core.NTLoss.position_losses` (or ``NTLossDotProduct``'s),
    so the fused and unfused losses cannot drift apart; autograd differentiates it on the small
    ``(k, M)`` matrix only.

    Args:
        log_probs: ``(k, M)`` log-probabilities of the number tokens (full-vocabulary softmax).
        labels: ``(k,)`` number-token labels. y: ``(k,)`` their values.
        want_grad: also return the gradient.

    Returns:
        ``()`` sum of the per-position losses and its ``(k, M)`` gradient (None unless wanted).
    """
    with torch.enable_grad():
        lp = log_probs.detach().requires_grad_(want_grad)
        mass = lp.exp().sum(-1) if plan.ntl.reweigh else None
        total = plan.ntl.position_losses(lp, labels, y, mass).sum()
        grad = torch.autograd.grad(total, lp)[0] if want_grad else None
    return total.detach(), grad


def _chunk_step(plan: _Plan, x: Tensor, part: slice, labels: Tensor, want_grad: bool) -> tuple[Tensor, Tensor]:
    """CE and NTL sums of one chunk; with ``want_grad`` turns ``x`` into ``d loss / d logits`` in place.

    Args:
        x: ``(c, V)`` logits in the working precision, of rows none of which is ignored.
        part: the chunk's slice of the non-ignored rows. labels: ``(c,)`` their labels.
        want_grad: compute the gradient.

    Returns:
        ``()`` sum of CE over the chunk's rows and ``()`` sum of NTL over its number rows.
    """
    number_rows = torch.nonzero(plan.is_number[part]).squeeze(1)
    target_logit = x.gather(1, labels[:, None]).squeeze(1)
    number_logits = x[number_rows[:, None], plan.number_ids[None, :]]
    # Softmax without a second buffer: x ← exp(x − max), so log Σ exp(x) = max + log Σ x.
    top = x.amax(-1)
    x.sub_(top[:, None]).exp_()
    total = x.sum(-1)
    lse = top + total.log()
    ce_sum = (lse - target_logit).sum()
    ntl_sum, ntl_grad = _ntl_terms(
        plan, number_logits - lse[number_rows, None], labels[number_rows], plan.y[part][number_rows], want_grad
    )
    if want_grad:
        # As in ntl_core.fused: CE adds ce_norm · (softmax − onehot(label)) to a row's gradient,
        # NTL adds Σ_j g_j · (onehot_j − softmax) with g = d(λ·NTL)/d log p_j. Both scale softmax
        # row-wise, so one pass turns exp(x − max) into the dense part; the rest is sparse.
        g = ntl_grad * (plan.weight * plan.ntl_norm)
        row_scale = torch.full_like(total, plan.ce_norm)
        row_scale.index_add_(0, number_rows, -g.sum(-1))
        x.mul_((row_scale / total)[:, None])
        x.scatter_add_(1, labels[:, None], x.new_full((x.shape[0], 1), -plan.ce_norm))
        x.index_put_((number_rows[:, None], plan.number_ids[None, :]), g, accumulate=True)
    return ce_sum, ntl_sum


class _FusedLinearCEWithNTL(torch.autograd.Function):
    """``(hidden, weight, bias) → (loss, ce, ntl)``, gradients computed in forward (module docstring)."""

    @staticmethod
    def forward(ctx, hidden: Tensor, weight: Tensor, bias: Tensor | None, labels: Tensor, plan: _Plan):  # type: ignore[override]
        """Args: hidden ``(N, d)``, weight ``(V, d)``, bias ``(V,)`` or None, labels ``(N,)`` long.
        Returns: 0-D ``loss``, ``ce`` and ``ntl`` in the working precision (``ce``, ``ntl`` detached)."""
        work = torch.promote_types(hidden.dtype, torch.float32)
        need_h, need_w, need_b = plan.needs
        want_grad = any(plan.needs)
        rows = plan.valid_rows
        h = hidden if rows.numel() == hidden.shape[0] else hidden.index_select(0, rows)
        labels = labels.index_select(0, rows)
        grad_h = torch.empty_like(h) if need_h else None
        grad_w = torch.zeros(weight.shape, dtype=work, device=weight.device) if need_w else None
        grad_b = torch.zeros(weight.shape[0], dtype=work, device=weight.device) if need_b else None
        ce_sum = ntl_sum = torch.zeros((), dtype=work, device=hidden.device)
        for start in range(0, h.shape[0], plan.chunk):
            part = slice(start, start + plan.chunk)
            h_c = h[part]
            x = h_c @ weight.T if bias is None else torch.addmm(bias, h_c, weight.T)
            x = x.to(work)  # no copy in float32; bfloat16/float16 products are normalised in float32
            ce_c, ntl_c = _chunk_step(plan, x, part, labels[part], want_grad)
            ce_sum, ntl_sum = ce_sum + ce_c, ntl_sum + ntl_c
            if want_grad:
                dx = x.to(hidden.dtype)
                if need_h:
                    torch.mm(dx, weight, out=grad_h[part])
                if need_w:
                    if dx.dtype == work:
                        grad_w.addmm_(dx.T, h_c)
                    else:  # a low-precision product, accumulated over chunks in float32
                        grad_w += dx.T @ h_c
                if need_b:
                    grad_b += x.sum(0)
                del dx
            del x  # free this chunk's logits before the next chunk allocates its own
        ce = ce_sum * plan.ce_norm
        ntl = ntl_sum * plan.ntl_norm
        loss = ce + plan.weight * ntl
        ctx.mark_non_differentiable(ce, ntl)
        if need_h and h is not hidden:
            grad_h = hidden.new_zeros(hidden.shape).index_copy_(0, rows, grad_h)  # ignored rows: 0
        # Plain attributes, not saved tensors: backward scales them in place and hands them over.
        ctx.grads = (
            grad_h,
            grad_w.to(weight.dtype) if need_w else None,
            grad_b.to(weight.dtype) if need_b else None,
        )
        return loss, ce, ntl

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_loss: Tensor, _grad_ce: Tensor, _grad_ntl: Tensor):  # type: ignore[override]
        grads, ctx.grads = ctx.grads, None
        if grads is None:
            raise RuntimeError(
                "FusedLinearCEWithNTL computes its gradients in forward and hands them over in "
                "backward; backward can run once per forward (retain_graph=True is not supported)."
            )
        scaled = tuple(None if g is None else g.mul_(grad_loss.to(g.dtype)) for g in grads)
        return (*scaled, None, None)


def _autocast_inputs(hidden, lm_weight, bias):
    """Under ``torch.autocast``, cast the inputs to its dtype, as autocast would for ``lm_head``.

    Differentiable casts outside the autograd function, so parameters still get gradients in their
    own dtype. Anything that is not a floating-point tensor is passed through for validation.
    """
    inputs = (hidden, lm_weight, bias)
    if not isinstance(hidden, Tensor) or not torch.is_autocast_enabled(hidden.device.type):
        return inputs
    low = torch.get_autocast_dtype(hidden.device.type)
    return tuple(t.to(low) if isinstance(t, Tensor) and torch.is_floating_point(t) else t for t in inputs)


class FusedLinearCEWithNTL:
    """``lm_head`` + cross-entropy + Number Token Loss without the ``(N, V)`` logits (module docstring).

    Example::

        loss_fn = FusedLinearCEWithNTL(tokenizer, kind="was", weight=0.3)
        hidden = model.model(ids).last_hidden_state               # (B, T, d), before the LM head
        out = loss_fn(hidden[:, :-1], model.lm_head.weight, ids[:, 1:])
        out.loss.backward()                                       # out.ce, out.ntl: detached, for logging

    Equal (tested) to ``CEWithNTL(...)(hidden @ lm_weight.T + bias, labels)`` for ``reduction="mean"``,
    and to ``F.cross_entropy(..., reduction="sum") + weight · NTLoss(...)(..., reduction="sum")``
    for ``"sum"``. Differences from :class:`ntl_core.CEWithNTL`: only ``loss`` carries a gradient;
    backward may run once per call.
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
        reduction: Literal["mean", "sum"] = "mean",
        chunk_size: int | None = None,
    ) -> None:
        """Build the loss.

        Args:
            tokenizer, kind, weight, reweigh, ignore_index, vocab_size, digit_level: as
                :class:`ntl_core.CEWithNTL`; ``vocab_size`` is the LM head's V (its weight's rows).
            reduction: ``"mean"`` (CE over non-ignored labels, NTL over number-token labels, as
                ``CEWithNTL``) or ``"sum"`` (both summed). ``"none"`` cannot be offered: the
                gradients are computed in forward, before any per-token upstream gradient is known.
            chunk_size: tokens per chunk; default ``2**26 // V`` (256 MiB of float32 logits).

        Raises:
            ValueError: an invalid argument, or a vocabulary without number tokens.
        """
        if reduction not in FUSED_REDUCTIONS:
            raise ValueError(
                f"reduction must be one of {FUSED_REDUCTIONS}, got {reduction!r} (per-token losses "
                "would need per-token upstream gradients, unknown when the gradients are computed)"
            )
        if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
            raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
        self.kind = kind
        self.ntl = make_ntl(tokenizer, kind, weight, reweigh, vocab_size, digit_level)
        self.weight = float(weight)
        self.ignore_index = ignore_index
        self.vocab_size = self.ntl.vocab_size
        self.reduction = reduction
        self.chunk_size = chunk_size or max(1, CHUNK_ELEMENTS // self.vocab_size)

    def __call__(self, hidden: Tensor, lm_weight: Tensor, labels: Tensor, bias: Tensor | None = None) -> CEWithNTLOutput:
        """Compute ``(loss, ce, ntl)`` of the logits ``hidden @ lm_weight.T + bias``.

        Args:
            hidden: ``(B, T, d)`` or ``(N, d)`` float, already aligned with ``labels`` (for a
                causal LM: ``hidden[:, :-1]`` with ``labels[:, 1:]``).
            lm_weight: ``(V, d)``, the LM head's weight, same dtype and device as ``hidden``.
            labels: ``(B, T)`` or ``(N,)`` long, in ``[0, V)`` or ``ignore_index``.
            bias: optional ``(V,)`` LM-head bias.

        Returns:
            :class:`ntl_core.CEWithNTLOutput` of 0-D float32 tensors (float64 for float64 inputs);
            only ``loss`` is differentiable. A batch whose labels are all ignored gives 0.

        Raises:
            ValueError, TypeError: invalid shapes, dtypes, devices or label values.
        """
        hidden, lm_weight, bias = _autocast_inputs(hidden, lm_weight, bias)
        self._validate(hidden, lm_weight, labels, bias)
        flat_labels = labels.reshape(-1)
        valid_rows = torch.nonzero(flat_labels != self.ignore_index).squeeze(1)
        y, is_number = self.ntl.number_targets(flat_labels, self.ignore_index)
        n_numbers = int(is_number.sum())
        mean = self.reduction == "mean"
        grad_on = torch.is_grad_enabled()
        plan = _Plan(
            ntl=self.ntl,
            number_ids=self.ntl.table_on(hidden.device).ids,
            valid_rows=valid_rows,
            is_number=is_number[valid_rows],
            y=y[valid_rows],
            weight=self.weight,
            ce_norm=1.0 / max(valid_rows.numel(), 1) if mean else 1.0,
            ntl_norm=1.0 / max(n_numbers, 1) if mean else 1.0,
            chunk=self.chunk_size,
            needs=tuple(grad_on and t is not None and t.requires_grad for t in (hidden, lm_weight, bias)),
        )
        # The products inside run in the inputs' dtype (already the autocast dtype, see above).
        with torch.autocast(hidden.device.type, enabled=False):
            loss, ce, ntl = _FusedLinearCEWithNTL.apply(
                hidden.reshape(-1, hidden.shape[-1]), lm_weight, bias, flat_labels, plan
            )
        return CEWithNTLOutput(loss, ce, ntl)

    def _validate(self, hidden: Tensor, lm_weight: Tensor, labels: Tensor, bias: Tensor | None) -> None:
        """Raise ``TypeError``/``ValueError`` with a message naming the bad argument."""
        if not isinstance(hidden, Tensor) or not torch.is_floating_point(hidden):
            raise TypeError("hidden must be a floating-point tensor")
        if hidden.dim() not in (2, 3) or hidden.numel() == 0:
            raise ValueError(f"hidden must be a non-empty (B, T, d) or (N, d) tensor, got {tuple(hidden.shape)}")
        if not isinstance(labels, Tensor) or labels.dtype != torch.long:
            raise TypeError(f"labels must be a long tensor, got {getattr(labels, 'dtype', type(labels))}")
        if labels.shape != hidden.shape[:-1]:
            raise ValueError(f"labels {tuple(labels.shape)} must have hidden's leading shape {tuple(hidden.shape[:-1])}")
        expected = (self.vocab_size, hidden.shape[-1])
        if not isinstance(lm_weight, Tensor) or lm_weight.shape != expected:
            raise ValueError(
                f"lm_weight must be (V, d) = {expected} (V: the loss's vocab_size), got "
                f"{tuple(getattr(lm_weight, 'shape', ()))}"
            )
        if bias is not None and (not isinstance(bias, Tensor) or bias.shape != (self.vocab_size,)):
            raise ValueError(f"bias must be None or ({self.vocab_size},), got {tuple(getattr(bias, 'shape', ()))}")
        for name, t in (("lm_weight", lm_weight), ("bias", bias)):
            if t is not None and (t.dtype != hidden.dtype or t.device != hidden.device):
                raise TypeError(
                    f"{name} is {t.dtype} on {t.device} but hidden is {hidden.dtype} on {hidden.device}; "
                    "cast them alike (as the model's lm_head would see them)"
                )
        if labels.device != hidden.device:
            raise ValueError(f"labels are on {labels.device}, hidden on {hidden.device}")
        bad = (labels != self.ignore_index) & ((labels < 0) | (labels >= self.vocab_size))
        if bool(bad.any()):
            raise ValueError(
                f"labels must lie in [0, {self.vocab_size}) or equal ignore_index={self.ignore_index}; "
                f"found {labels[bad][:5].tolist()}"
            )
