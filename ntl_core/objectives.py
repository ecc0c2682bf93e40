"""The training objectives compared in the lab: CE, CE + NTL-MSE, CE + NTL-WAS, regression head.

:func:`make_objective` is the one place where the token losses are chosen, so the lab, the CLI,
the notebook and the ``transformers.Trainer`` integration all train with the same numbers.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from transformers import PreTrainedTokenizerFast

from ntl_core.batching import IGNORE

LOSSES = ("ce", "mse", "was", "reg")
LOSS_LABELS = {"ce": "CE", "mse": "CE + NTL-MSE", "was": "CE + NTL-WAS", "reg": "Regression head"}

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
    if kind not in ("ce", "mse", "was"):
        raise ValueError(f"make_objective builds token losses 'ce', 'mse', 'was'; got {kind!r}")

    def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE)

    if kind == "ce":
        return lambda logits, labels: (lambda ce: {"loss": ce, "ce": ce})(cross_entropy(logits, labels))

    ntl = _number_token_loss(kind, tokenizer, reweigh)

    def objective(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        ce, term = cross_entropy(logits, labels), ntl(logits.float(), labels)
        return {"loss": ce + weight * term, "ce": ce, "ntl": term}

    return objective


def _number_token_loss(kind: str, tokenizer: PreTrainedTokenizerFast, reweigh: bool) -> Callable:
    """NTL-WAS or NTL-MSE as ``f(logits, labels) -> scalar`` (the reference ``ntloss`` for now)."""
    import ntloss

    cls = ntloss.NTLoss if kind == "was" else ntloss.NTLossDotProduct
    return cls(tokenizer, reweigh=reweigh)
