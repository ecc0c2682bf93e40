"""CE + NTL inside ``transformers.Trainer``, so the loss scales out with accelerate/torchrun/DeepSpeed.

Example::

    from transformers import Trainer, TrainingArguments
    from ntl_core.hf import QADataset, qa_collator, ntl_loss_func

    trainer = Trainer(model=model, args=TrainingArguments(..., remove_unused_columns=False),
                      train_dataset=QADataset(task, n=10_000, seed=0),
                      data_collator=qa_collator(tokenizer, "gpt2", reverse=task.reverse),
                      compute_loss_func=ntl_loss_func(tokenizer, kind="was", weight=0.3))
    trainer.train()

``remove_unused_columns=False`` keeps the ``question``/``answer`` strings for the collator.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch.utils.data import Dataset
from transformers import PreTrainedTokenizerFast

from ntl_core.batching import IGNORE, lm_batch
from ntl_core.losses import shift_for_causal_lm
from ntl_core.objectives import make_objective
from ntl_core.tasks import Task


def ntl_loss_func(tokenizer: PreTrainedTokenizerFast, kind: str = "was", weight: float = 0.3,
                  reweigh: bool = False, causal: bool = True) -> Callable:
    """A ``compute_loss_func`` for ``transformers.Trainer``: CE (+ λ·NTL) on the model's logits.

    Args:
        tokenizer: digit-level tokenizer of the model.
        kind: ``"ce"``, ``"mse"`` or ``"was"`` (see :func:`ntl_core.objectives.make_objective`).
        weight: λ.
        reweigh: ``ntloss``'s reweigh option.
        causal: decoder-only model — labels are the (masked) input ids and are shifted by one
            here, as ``transformers`` does for its own causal-LM loss; ``False`` for T5, whose
            logits are already aligned with ``labels``.

    Returns:
        ``f(outputs, labels, num_items_in_batch=None) -> loss``. ``Trainer`` does not rescale a
        custom loss for gradient accumulation, so when it passes ``num_items_in_batch`` the
        micro-batch mean is weighted by :func:`share_of_items`.
    """
    objective = make_objective(kind, tokenizer, weight, reweigh)

    def compute_loss(outputs, labels: torch.Tensor, num_items_in_batch: int | torch.Tensor | None = None) -> torch.Tensor:
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs.logits
        if causal:
            logits, labels = shift_for_causal_lm(logits, labels)
        loss = objective(logits, labels)["loss"]
        return loss if num_items_in_batch is None else share_of_items(loss, labels, num_items_in_batch)

    return compute_loss


def share_of_items(loss: torch.Tensor, labels: torch.Tensor, num_items_in_batch: int | torch.Tensor,
                   ignore_index: int = IGNORE) -> torch.Tensor:
    """``loss`` (a micro-batch mean) weighted by this micro-batch's share of the trained tokens.

    Args:
        loss: 0-D mean over the micro-batch's trained tokens.
        labels: the micro-batch's labels, aligned with what the loss trained on.
        num_items_in_batch: trained tokens over all accumulated micro-batches and devices
            (``transformers.Trainer`` passes it).
        ignore_index: label id of untrained positions.

    Returns:
        ``loss · trained / num_items_in_batch``; summed over the micro-batches this is the
        token-weighted mean (exact for CE, close for NTL, whose own mean is over number tokens).
    """
    trained = (labels != ignore_index).sum().to(loss.dtype)
    return loss * trained / torch.as_tensor(num_items_in_batch, device=loss.device, dtype=loss.dtype)


class QADataset(Dataset):
    """``n`` training pairs of ``task`` drawn once with ``seed``, as ``{"question", "answer"}`` dicts."""

    def __init__(self, task: Task, n: int, seed: int = 0) -> None:
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        self.pairs = task.sample_train(np.random.default_rng(seed), n)
        self.task = task

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> dict[str, str]:
        question, answer = self.pairs[i]
        return {"question": question, "answer": self.task.to_target(answer)}


def qa_collator(tokenizer: PreTrainedTokenizerFast, arch: str) -> Callable[[list[dict]], dict[str, torch.Tensor]]:
    """Collate ``{"question", "answer"}`` items into model inputs with ``transformers``-style labels.

    For GPT-2 the labels are the input ids with the prompt and padding set to ``-100`` (unshifted,
    like ``transformers``' own causal-LM convention); for T5 they are the decoder targets.
    """

    def collate(features: list[dict]) -> dict[str, torch.Tensor]:
        batch = lm_batch(tokenizer, arch, [f["question"] for f in features], [f["answer"] for f in features],
                         torch.device("cpu"))
        if arch == "gpt2":  # lm_batch aligns labels with logits; undo the shift for transformers
            labels = batch["labels"]
            batch["labels"] = torch.cat([torch.full_like(labels[:, :1], IGNORE), labels[:, :-1]], dim=1)
        return batch

    return collate
