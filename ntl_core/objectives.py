"""The training objectives compared in the lab: CE, CE + NTL-MSE, CE + NTL-WAS, regression head.

:func:`make_objective` is the one place where the token losses are chosen, so the lab, the CLI,
the notebook and the ``transformers.Trainer`` integration all train with the same numbers.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from transformers import PreTrainedTokenizerFast

from ntl_core import loss_registry
from ntl_core.batching import IGNORE
from ntl_core.fused import KINDS, CEWithNTL

LOSSES = loss_registry.TRAINABLE
LOSS_LABELS = {key: loss_registry.get(key).training_label for key in LOSSES}


def loss_label(loss: str) -> str:
    """Readable name of a loss key (``"was"`` -> ``"CE + NTL-WAS"``)."""
    return LOSS_LABELS.get(loss, loss)


Objective = Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]


def make_objective(kind: str, tokenizer: PreTrainedTokenizerFast, weight: float = 0.3,
                   reweigh: bool = False) -> Objective:
    """The token-level loss ``CE + weight · NTL`` (or plain CE).

    Args:
        kind: ``"ce"``, ``"mse"`` (NTL-MSE, the paper's NTL-L_p with p = 2) or ``"was"`` (NTL-WAS).
        tokenizer: digit-level tokenizer whose ``"0"``–``"9"`` tokens carry the number values.
        weight: λ, the NTL weight.
        reweigh: scale NTL by the probability mass on number tokens (``ntloss``'s ``reweigh``).

    Returns:
        ``objective(logits, labels) -> {"loss", "ce"[, "ntl"]}`` with logits (B, T, V) aligned
        with labels (B, T) (``-100`` = not trained); all values are scalar tensors.

    Raises:
        ValueError: for ``"reg"`` (not a token loss) or an unknown kind.
    """
    if kind != "ce" and kind not in KINDS:
        raise ValueError(f"make_objective builds the token losses ce, {', '.join(KINDS)}; got {kind!r}")

    if kind == "ce":
        def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
            ce = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE)
            return {"loss": ce, "ce": ce}

        return cross_entropy

    # One softmax pass for both terms (ntl_core.fused); equals CE + weight · ntloss's NTL (tested there).
    fused = CEWithNTL(tokenizer, kind=kind, weight=weight, reweigh=reweigh, ignore_index=IGNORE)

    def objective(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        out = fused(logits, labels)
        return {"loss": out.loss, "ce": out.ce, "ntl": out.ntl}

    return objective
