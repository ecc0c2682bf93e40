"""Train any ``transformers`` ``…ForCausalLM`` with :class:`ntl_core.FusedLinearCEWithNTL`: no logits.

One call of the model's own ``forward`` (so DDP / accelerate / DeepSpeed wrappers see it) with
``logits_to_keep=1`` and ``output_hidden_states=True`` gives the final hidden states ``(B, T, d)``
and the logits of the last position only; the loss takes ``lm_head.weight`` (and bias) from the
model. The one position of real logits checks, on every call, that the hidden states and the head
reproduce the model's logits (a model whose forward does something else to them is refused with a
``ValueError`` instead of being trained on a wrong loss). Linear logit scales of Granite
(``config.logits_scaling``) and Cohere (``config.logit_scale``) are applied; soft-capped logits
(Gemma 2/3) are refused.

Example::

    from ntl_core import FusedLinearCEWithNTL
    from ntl_core.hf_fused import FusedNTLTrainer, fused_causal_lm_loss

    loss_fn = FusedLinearCEWithNTL(tokenizer, kind="was", weight=0.3, vocab_size=model.config.vocab_size)
    out = fused_causal_lm_loss(model, loss_fn, input_ids=ids, labels=ids)   # labels unshifted, -100 = skip
    out.loss.backward()

    trainer = FusedNTLTrainer(model=model, args=TrainingArguments(...), train_dataset=...,
                              data_collator=..., ntl_loss=loss_fn)
    trainer.train()
"""
from __future__ import annotations

import inspect
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from transformers import Trainer

from ntl_core.fused import CEWithNTLOutput
from ntl_core.fused_linear import FusedLinearCEWithNTL
from ntl_core.hf import share_of_items

# Relative agreement (to the largest |logit|) required between the model's last-position logits
# and the head applied to its last hidden state: loose enough for bfloat16 rounding, far tighter
# than any missing norm, scale or offset.
CHECK_TOLERANCE = 2e-2


def logit_scale(config: Any) -> float:
    """The constant the model multiplies ``lm_head``'s output by (1 for most models).

    Raises:
        ValueError: soft-capped logits (``final_logit_softcapping``), which are not linear in the head.
    """
    if getattr(config, "final_logit_softcapping", None) is not None:
        raise ValueError(
            "this model soft-caps its logits (config.final_logit_softcapping); FusedLinearCEWithNTL "
            "computes a linear head only. Set config.final_logit_softcapping = None to train without "
            "the cap, or use CEWithNTL on the model's logits."
        )
    scale = 1.0
    if getattr(config, "logits_scaling", None):  # Granite: logits / logits_scaling
        scale /= float(config.logits_scaling)
    if getattr(config, "logit_scale", None):  # Cohere: logits * logit_scale
        scale *= float(config.logit_scale)
    return scale


def _head(model: nn.Module) -> tuple[Tensor, Tensor | None]:
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is None or getattr(head, "weight", None) is None or head.weight.dim() != 2:
        raise ValueError(f"{type(model).__name__} has no linear output embedding (lm_head) to fuse with the loss")
    return head.weight, getattr(head, "bias", None)


def hidden_kwargs(model: nn.Module) -> dict[str, Any]:
    """Extra ``forward`` arguments that make a causal LM return hidden states, not full logits.

    Raises:
        ValueError: the model's ``forward`` has no ``logits_to_keep`` argument.
    """
    forward = getattr(model, "forward", None)
    if forward is None or "logits_to_keep" not in inspect.signature(forward).parameters:
        raise ValueError(
            f"{type(model).__name__}.forward has no logits_to_keep argument, so it would compute the full "
            "logits; FusedLinearCEWithNTL needs a transformers …ForCausalLM that supports it"
        )
    return {"logits_to_keep": 1, "output_hidden_states": True}


def loss_from_outputs(model: nn.Module, loss_fn: FusedLinearCEWithNTL, outputs: Any, labels: Tensor,
                      num_items_in_batch: int | Tensor | None = None) -> CEWithNTLOutput:
    """The fused loss from a forward run with :func:`hidden_kwargs`.

    Args:
        model: the unwrapped ``…ForCausalLM`` (its ``lm_head`` and ``config`` are read).
        loss_fn: the loss; its ``vocab_size`` must be the head's V.
        outputs: the model's output, with ``hidden_states`` and last-position ``logits``.
        labels: ``(B, T)`` unshifted labels, as ``transformers`` takes them (``ignore_index`` = skip);
            position t's hidden state predicts ``labels[:, t + 1]``.
        num_items_in_batch: as in :func:`ntl_core.hf.ntl_loss_func` (gradient accumulation).

    Returns:
        ``(loss, ce, ntl)``; ``loss`` scaled by this batch's share of ``num_items_in_batch`` if given.

    Raises:
        ValueError: the model's logits are not ``scale · lm_head(last hidden state)``.
    """
    hidden = outputs.hidden_states[-1]
    weight, bias = _head(model)
    scale = logit_scale(model.config)
    _check_head(outputs.logits[:, -1], hidden[:, -1], weight, bias, scale, type(model).__name__)
    if scale != 1.0:  # scale · (h Wᵀ + b) = (scale · h) Wᵀ + scale · b, so the head stays linear
        hidden, bias = hidden * scale, None if bias is None else bias * scale
    labels = labels[:, 1:]
    out = loss_fn(hidden[:, :-1], weight, labels, bias)
    if num_items_in_batch is None:
        return out
    return out._replace(loss=share_of_items(out.loss, labels, num_items_in_batch, loss_fn.ignore_index))


def _check_head(logits: Tensor, hidden: Tensor, weight: Tensor, bias: Tensor | None, scale: float, name: str) -> None:
    with torch.no_grad():
        mine = scale * F.linear(hidden.to(weight.dtype), weight, bias).float()
        theirs = logits.float()
        gap = float((mine - theirs).abs().max())
        size = float(theirs.abs().max())
    if not gap <= CHECK_TOLERANCE * max(size, 1e-6):
        raise ValueError(
            f"{name}'s logits are not lm_head(last hidden state) × {scale:g} (largest difference {gap:.3g} "
            f"for logits up to {size:.3g}): its forward changes the logits in a way FusedLinearCEWithNTL "
            "does not reproduce; use CEWithNTL on the model's logits instead"
        )


def fused_causal_lm_loss(model: nn.Module, loss_fn: FusedLinearCEWithNTL, labels: Tensor,
                         num_items_in_batch: int | Tensor | None = None, **inputs: Any) -> CEWithNTLOutput:
    """Run a causal LM and return CE + NTL of its next-token predictions, without the ``(B, T, V)`` logits.

    Args:
        model: a ``transformers`` ``…ForCausalLM`` (or a wrapper around one, e.g. DDP).
        loss_fn: the loss.
        labels: ``(B, T)`` unshifted, e.g. the input ids with prompt and padding set to ``-100``.
        num_items_in_batch: see :func:`loss_from_outputs`.
        **inputs: the model's inputs (``input_ids``, ``attention_mask``, …), without ``labels``.

    Returns:
        ``(loss, ce, ntl)`` as :class:`ntl_core.FusedLinearCEWithNTL`.
    """
    inner = _unwrapped(model)
    outputs = model(**inputs, **hidden_kwargs(inner))
    return loss_from_outputs(inner, loss_fn, outputs, labels, num_items_in_batch)


def _unwrapped(model: nn.Module) -> nn.Module:
    """The ``transformers`` model inside DDP / DataParallel (``.module``) or PEFT (``get_base_model``)."""
    while hasattr(model, "module") and isinstance(model.module, nn.Module):
        model = model.module
    return model.get_base_model() if hasattr(model, "get_base_model") else model


class FusedNTLTrainer(Trainer):
    """``transformers.Trainer`` for a ``…ForCausalLM`` with CE + NTL fused into the LM head.

    ``Trainer(...)``'s arguments plus ``ntl_loss`` (a :class:`ntl_core.FusedLinearCEWithNTL`).
    The model runs through ``Trainer``'s own ``compute_loss`` (wrappers, gradient accumulation
    and token averaging across devices as usual), with :func:`hidden_kwargs` added to its inputs.
    Evaluation reports ``eval_loss``; no logits are returned for ``compute_metrics``.
    """

    def __init__(self, *args: Any, ntl_loss: FusedLinearCEWithNTL, **kwargs: Any) -> None:
        if kwargs.get("compute_loss_func") is not None:
            raise ValueError("FusedNTLTrainer computes the loss itself; do not pass compute_loss_func")
        self.ntl_loss = ntl_loss
        super().__init__(*args, compute_loss_func=self._loss_from_outputs, **kwargs)

    def compute_loss(self, model: nn.Module, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: int | Tensor | None = None):
        """``Trainer.compute_loss`` with the model asked for hidden states instead of logits."""
        inputs = {**inputs, **hidden_kwargs(_unwrapped(self.accelerator.unwrap_model(model)))}
        loss, outputs = super().compute_loss(model, inputs, True, num_items_in_batch)
        return (loss, {"loss": loss}) if return_outputs else loss

    def _loss_from_outputs(self, outputs: Any, labels: Tensor, num_items_in_batch: int | Tensor | None = None) -> Tensor:
        model = _unwrapped(self.accelerator.unwrap_model(self.model))
        return loss_from_outputs(model, self.ntl_loss, outputs, labels, num_items_in_batch).loss
