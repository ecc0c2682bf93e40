"""FusedLinearCEWithNTL on transformers causal LMs (tiny random GPT-2, Llama, Granite configs; no downloads)."""
from __future__ import annotations

import math

import pytest
import torch
from transformers import (GPT2Config, GPT2LMHeadModel, GraniteConfig, GraniteForCausalLM, LlamaConfig,
                          LlamaForCausalLM, TrainingArguments)

from ntl_core import FusedLinearCEWithNTL
from ntl_core.hf import QADataset, ntl_loss_func, qa_collator
from ntl_core.hf_fused import FusedNTLTrainer, fused_causal_lm_loss, hidden_kwargs
from ntl_core.tasks import ArithmeticTask
from ntl_core.tokenization import build_tokenizer
from tests.unit.ntl_train_helpers import one_thread  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def tiny_model(arch: str, tokenizer, seed: int = 0):
    """A freshly initialised 2-layer model of ``arch`` over ``tokenizer``'s vocabulary, dropout off."""
    torch.manual_seed(seed)
    ids = dict(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
               eos_token_id=tokenizer.eos_token_id)
    llama_like = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=64, **ids)
    if arch == "gpt2":
        return GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=64, resid_pdrop=0.0,
                                          embd_pdrop=0.0, attn_pdrop=0.0, **ids))
    if arch == "llama":
        return LlamaForCausalLM(LlamaConfig(**llama_like))
    return GraniteForCausalLM(GraniteConfig(logits_scaling=4.0, **llama_like))  # logits = lm_head(h) / 4


def qa_batch(tokenizer, n: int = 8, seed: int = 0) -> dict[str, torch.Tensor]:
    """Addition questions and answers as causal-LM inputs; labels unshifted, prompt and padding -100."""
    items = QADataset(ArithmeticTask("addition", 2), n, seed=seed)
    return qa_collator(tokenizer, "gpt2")([items[i] for i in range(n)])


def _grads(model) -> list[torch.Tensor]:
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


@pytest.mark.parametrize("arch", ["gpt2", "llama", "granite"])
@pytest.mark.parametrize("kind", ["was", "mse"])
def test_helper_equals_ce_with_ntl_on_the_models_logits(arch, kind):
    """Loss and every parameter's gradient equal the unfused loss on the model's full logits."""
    tok = build_tokenizer()
    batch = qa_batch(tok)
    labels = batch.pop("labels")
    model = tiny_model(arch, tok)
    fused = fused_causal_lm_loss(model, FusedLinearCEWithNTL(tok, kind=kind, reweigh=True, chunk_size=16),
                                 labels, **batch)
    fused.loss.backward()
    got = _grads(model)
    model.zero_grad(set_to_none=True)
    unfused = ntl_loss_func(tok, kind, 0.3, reweigh=True)(model(**batch), labels)
    unfused.backward()
    want = _grads(model)
    assert fused.loss.item() == pytest.approx(unfused.item(), rel=1e-5)
    assert len(got) == len(want) == len(list(model.parameters()))
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-5 * float(w.abs().max()) + 1e-9)


def test_accumulation_scaling_matches_the_unfused_loss_func():
    tok = build_tokenizer()
    batch = qa_batch(tok, seed=1)
    labels = batch.pop("labels")
    model = tiny_model("gpt2", tok)
    trained = int((labels[:, 1:] != -100).sum())
    fused = fused_causal_lm_loss(model, FusedLinearCEWithNTL(tok), labels, num_items_in_batch=3 * trained, **batch)
    unfused = ntl_loss_func(tok, "was", 0.3)(model(**batch), labels, num_items_in_batch=3 * trained)
    assert fused.loss.item() == pytest.approx(unfused.item(), rel=1e-5)
    assert fused.loss.item() == pytest.approx((fused.ce + 0.3 * fused.ntl).item() / 3, rel=1e-5)


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_trainer_steps_lower_the_loss(tmp_path, arch):
    """FusedNTLTrainer: 40 steps on 64 addition problems lower the fused loss on those problems."""
    tok = build_tokenizer()
    model = tiny_model(arch, tok)
    loss_fn = FusedLinearCEWithNTL(tok, kind="was", weight=0.3)
    probe = qa_batch(tok, 32, seed=0)
    probe_labels = probe.pop("labels")

    def probe_loss() -> float:
        with torch.no_grad():
            return fused_causal_lm_loss(model.eval(), loss_fn, probe_labels, **probe).loss.item()

    before = probe_loss()
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=40, per_device_train_batch_size=16, use_cpu=True,
                             report_to=[], remove_unused_columns=False, logging_steps=10, save_strategy="no",
                             learning_rate=3e-3, disable_tqdm=True, gradient_accumulation_steps=2)
    trainer = FusedNTLTrainer(model=model, args=args, train_dataset=QADataset(ArithmeticTask("addition", 2), 64),
                              eval_dataset=QADataset(ArithmeticTask("addition", 2), 16, seed=5),
                              data_collator=qa_collator(tok, "gpt2"), ntl_loss=loss_fn)
    trainer.train()
    after = probe_loss()
    logged = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert trainer.state.global_step == 40 and all(math.isfinite(x) for x in logged)
    assert after < 0.8 * before, (before, after)
    assert math.isfinite(trainer.evaluate()["eval_loss"])


@pytest.mark.parametrize(
    "attribute, value, message",
    [
        ("final_logit_softcapping", 30.0, "soft-caps"),
        # GPT-2's forward does not apply Cohere's logit_scale: the per-call head check must notice
        # that its logits are not 2 · lm_head(last hidden state).
        ("logit_scale", 2.0, "not lm_head"),
    ],
)
def test_logits_the_fused_head_does_not_reproduce_are_refused(attribute, value, message):
    tok = build_tokenizer()
    model = tiny_model("gpt2", tok)
    setattr(model.config, attribute, value)
    batch = qa_batch(tok)
    labels = batch.pop("labels")
    with pytest.raises(ValueError, match=message):
        fused_causal_lm_loss(model, FusedLinearCEWithNTL(tok), labels, **batch)


def test_a_model_without_logits_to_keep_is_refused():
    class NoKeep(torch.nn.Module):
        def forward(self, input_ids):
            return input_ids

    with pytest.raises(ValueError, match="logits_to_keep"):
        hidden_kwargs(NoKeep())
