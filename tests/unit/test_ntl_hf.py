"""CE + NTL inside transformers.Trainer: two real Trainer steps on CPU, and the loss it computes."""
from __future__ import annotations

import math

import pytest
import torch
from transformers import Trainer as HFTrainer
from transformers import TrainingArguments

from ntl_core.batching import IGNORE, lm_batch
from ntl_core.hf import QADataset, ntl_loss_func, qa_collator
from ntl_core.losses import shift_for_causal_lm
from ntl_core.models import build_model
from ntl_core.objectives import make_objective
from ntl_core.tasks import ArithmeticTask
from ntl_core.tokenization import build_tokenizer
from tests.unit.ntl_train_helpers import one_thread  # noqa: F401  (autouse fixture)


@pytest.mark.parametrize("arch, preset", [("gpt2", "gpt2-tiny"), ("t5", "t5-tiny")])
def test_two_trainer_steps_on_cpu(tmp_path, arch, preset):
    tok = build_tokenizer()
    torch.manual_seed(0)
    model = build_model(preset, tok)
    before = [p.detach().clone() for p in model.parameters()]
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=8, use_cpu=True,
                             report_to=[], remove_unused_columns=False, logging_steps=1, save_strategy="no",
                             learning_rate=1e-3, disable_tqdm=True)
    trainer = HFTrainer(model=model, args=args, train_dataset=QADataset(ArithmeticTask("addition", 1), 32, seed=0),
                        data_collator=qa_collator(tok, arch),
                        compute_loss_func=ntl_loss_func(tok, "was", 0.3, causal=arch == "gpt2"))
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 2 and all(math.isfinite(x) and x > 0 for x in losses)
    assert trainer.state.global_step == 2
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_loss_func_equals_the_lab_objective_and_scales_for_accumulation():
    tok = build_tokenizer()
    torch.manual_seed(0)
    model = build_model("gpt2-tiny", tok)
    items = QADataset(ArithmeticTask("addition", 2), 6, seed=3)
    batch = qa_collator(tok, "gpt2")([items[i] for i in range(len(items))])
    labels = batch.pop("labels")
    outputs = model(**{k: v for k, v in batch.items()})
    loss_func = ntl_loss_func(tok, "mse", 0.5)
    # the collator's unshifted labels, shifted by the loss, are exactly the lab's aligned labels
    lab = lm_batch(tok, "gpt2", [items[i]["question"] for i in range(6)], [items[i]["answer"] for i in range(6)],
                   torch.device("cpu"))
    assert torch.equal(shift_for_causal_lm(outputs.logits, labels)[1], lab["labels"][:, :-1])
    expected = make_objective("mse", tok, 0.5)(outputs.logits[:, :-1], lab["labels"][:, :-1])["loss"]
    assert loss_func(outputs, labels).item() == pytest.approx(expected.item(), rel=1e-6)
    trained = int((labels != IGNORE).sum())
    scaled = loss_func(outputs, labels, num_items_in_batch=4 * trained)
    assert scaled.item() == pytest.approx(expected.item() / 4, rel=1e-6)
