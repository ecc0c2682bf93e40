"""Trainer: batches, objectives vs the reference ntloss, determinism, evaluation, run directories."""
from __future__ import annotations

import json
import math

import ntloss
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ntl_core.batching import IGNORE, lm_batch
from ntl_core.objectives import make_objective
from ntl_core.tokenization import build_tokenizer
from ntl_core.training import PRESETS, TrainConfig, Trainer, load_run, load_runs, load_trainer
from tests.unit.ntl_train_helpers import one_thread, tiny  # noqa: F401  (autouse fixture)

CPU = torch.device("cpu")


def test_gpt2_labels_are_the_next_answer_token():
    tok = build_tokenizer()
    b = lm_batch(tok, "gpt2", ["1+2=", "12+34="], ["3", "64"], CPU)
    ids, labels = b["input_ids"], b["labels"]
    trained = labels != IGNORE
    # every trained label is the input token one position later, and only answer + <eos> are trained
    assert torch.equal(labels[:, :-1][trained[:, :-1]], ids[:, 1:][trained[:, :-1]])
    assert tok.decode(labels[1][trained[1]].tolist(), skip_special_tokens=True) == "64"
    assert labels[1][trained[1]].tolist()[-1] == tok.eos_token_id
    # right padding with <eos> and no attention mask: causal attention never looks ahead to it
    assert "attention_mask" not in b and b["input_ids"][0, 7:].tolist() == [tok.eos_token_id] * 3


def test_t5_decoder_sees_the_target_shifted_right():
    tok = build_tokenizer()
    b = lm_batch(tok, "t5", ["1+2=", "12+34="], ["3", "64"], CPU)
    assert b["decoder_input_ids"][:, 0].tolist() == [tok.pad_token_id] * 2
    assert b["decoder_input_ids"][1, 1:].tolist() == b["labels"][1, :-1].tolist()
    assert b["labels"][0].tolist()[-1] == IGNORE


@pytest.mark.parametrize("kind, reference", [("was", ntloss.NTLoss), ("mse", ntloss.NTLossDotProduct)])
@pytest.mark.parametrize("reweigh", [False, True])
def test_objective_is_ce_plus_weighted_reference_ntl(kind, reference, reweigh):
    tok = build_tokenizer()
    b = lm_batch(tok, "gpt2", ["12+34=", "5+5=", "99+1="], ["64", "01", "001"], CPU)
    logits = torch.randn(*b["labels"].shape, len(tok), generator=torch.Generator().manual_seed(0))
    out = make_objective(kind, tok, weight=0.3, reweigh=reweigh)(logits, b["labels"])
    ce = F.cross_entropy(logits.flatten(0, 1), b["labels"].flatten(), ignore_index=IGNORE)
    ntl = reference(build_tokenizer(), reweigh=reweigh)(logits, b["labels"])
    assert out["ce"].item() == pytest.approx(ce.item(), rel=1e-5)
    assert out["ntl"].item() == pytest.approx(ntl.item(), rel=1e-4)
    assert out["loss"].item() == pytest.approx(ce.item() + 0.3 * ntl.item(), rel=1e-5)


def test_same_seed_same_losses_and_different_losses_share_data_and_init():
    a, b = Trainer(tiny(loss="was")), Trainer(tiny(loss="was"))
    c = Trainer(tiny(loss="ce"))
    for x, y, z in zip(a.model.parameters(), b.model.parameters(), c.model.parameters()):
        assert torch.equal(x, y) and torch.equal(x, z)
    a.step(3)
    b.step(3)
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]
    # the data stream is untouched by the loss: the next batch is identical
    c.step(3)
    assert a.task.sample_train(a.data_rng, 8) == c.task.sample_train(c.data_rng, 8)
    assert Trainer(tiny(seed=1)).task.sample_train(Trainer(tiny(seed=1)).data_rng, 8) != \
        Trainer(tiny()).task.sample_train(Trainer(tiny()).data_rng, 8)


def test_step_rows_eval_rows_and_history():
    tr = Trainer(tiny(loss="was", eval_every=2))
    row = tr.step(4)
    assert row["step"] == 4 and set(row) >= {"loss", "ce", "ntl", "lr", "time"}
    assert row["loss"] == pytest.approx(row["ce"] + 0.3 * row["ntl"], rel=1e-5)
    evals = tr.history_eval
    assert [(r["step"], r["split"]) for r in evals] == [(2, "interpolation"), (2, "extrapolation"),
                                                         (4, "interpolation"), (4, "extrapolation")]
    for r in evals:
        assert 0 <= r["exact_match"] <= r["digit_acc"] + 1e-12 <= 1 + 1e-12
    assert len(tr.history_train) == 4
    assert tr.steps_per_second > 0
    json.dumps(tr.history)  # JSON-serialisable


def test_ce_training_learns_one_digit_addition():
    tr = Trainer(tiny(loss="ce", batch_size=32))
    tr.step(60)
    first = np.mean([r["loss"] for r in tr.history[:5]])
    last = np.mean([r["loss"] for r in tr.history[-5:]])
    assert last < 0.6 * first


def test_predict_probs_and_samples():
    tr = Trainer(tiny(loss="mse"))
    tr.step(2)
    pairs = tr.sample_questions(3, "interpolation")
    assert pairs == tr.task.test_set("interpolation")[:3]
    assert len(tr.predict([q for q, _ in pairs])) == 3
    probs = tr.answer_digit_probs("3+4=")
    assert probs.ndim == 2 and probs.shape[1] == 10
    assert probs.shape[0] <= tr.task.max_answer_chars
    assert np.all((probs >= 0) & (probs <= 1)) and np.all(probs.sum(1) <= 1 + 1e-5)
    with pytest.raises(ValueError):
        tr.predict([])


def test_regression_head_and_t5():
    reg = Trainer(tiny(loss="reg"))
    row = reg.step(2)
    assert "ce" not in row and math.isfinite(row["loss"])
    assert all(a.lstrip("-").isdigit() for a in reg.predict(["1+2=", "3+3="]))
    with pytest.raises(ValueError, match="regression head"):
        reg.answer_digit_probs("1+2=")
    t5 = Trainer(tiny(loss="was", model="t5-tiny"))
    assert math.isfinite(t5.step(2)["ntl"])
    assert 0 <= t5.evaluate("interpolation", n=4)["exact_match"] <= 1


def test_save_load_round_trip(tmp_path):
    tr = Trainer(tiny(loss="was", eval_every=2))
    tr.step(2)
    tr.save(tmp_path / "run")
    rec = load_run(tmp_path / "run")
    assert rec.config == tr.cfg and rec.has_checkpoint
    assert len(rec.history) == len(tr.history) and rec.eval_rows()[0]["step"] == 2
    again = load_trainer(tmp_path / "run", device="cpu")
    questions = [q for q, _ in tr.sample_questions(5)]
    assert again.predict(questions) == tr.predict(questions)
    assert again.step_count == 2
    assert [r.name for r in load_runs(tmp_path)] == ["run"]


def test_unreadable_run_dirs_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match="not a directory"):
        load_run(tmp_path / "nope")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config"):
        load_run(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(tiny().to_dict()))
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "loss": 2.0}\nbroken\n')
    with pytest.raises(ValueError, match="line 2"):
        load_run(tmp_path)
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "loss": 2.0}\n')
    with pytest.raises(ValueError, match="no checkpoint"):
        load_trainer(tmp_path)
    with pytest.raises(ValueError, match="contains no run"):
        load_runs(tmp_path / "config.json")  # a file is not a run directory
    (tmp_path / "config.json").write_text(json.dumps({"lr": 0}))
    with pytest.raises(ValueError, match="learning rate"):
        load_run(tmp_path)


@pytest.mark.parametrize("changes, message", [
    (dict(lr=0.0), "learning rate"), (dict(lr=float("nan")), "finite"), (dict(lr=-1e-3), "learning rate"),
    (dict(loss="l1"), "unknown loss"), (dict(batch_size=0), "batch_size"), (dict(batch_size=10**6), "at most"),
    (dict(tokenizer="multidigit", loss="was"), "digits"), (dict(task="file"), "data_path"),
    (dict(model="gpt9"), "unknown model"), (dict(ntl_weight=-1.0), "ntl_weight"), (dict(digits=0), "digits"),
    (dict(grad_clip=-1.0), "grad_clip"), (dict(train_size=-1), "train_size"),
    (dict(task="file", data_path="x.txt", train_size=10), "arithmetic"),
])
def test_config_validation(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes)


def test_presets_are_valid_and_config_round_trips():
    assert {"cpu-classroom", "gpu-multiplication", "regression-head"} <= set(PRESETS)
    for cfg in PRESETS.values():
        assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="unknown TrainConfig fields"):
        TrainConfig.from_dict({"learning_rate": 1e-3})


def test_diverging_loss_and_bad_n_raise():
    tr = Trainer(tiny())
    with pytest.raises(ValueError, match="positive integer"):
        tr.step(0)
    with torch.no_grad():
        next(tr.model.parameters()).fill_(float("nan"))
    with pytest.raises(ValueError, match="lower the learning rate"):
        tr.step(1)


def test_multidigit_tokenizer_trains_with_ce():
    tr = Trainer(tiny(loss="ce", tokenizer="multidigit", task="multiplication", digits=2))
    assert math.isfinite(tr.step(2)["ce"])
    assert len(tr.model.get_input_embeddings().weight) == 4 + 1110 + 85
    assert 0 <= tr.evaluate("interpolation", n=4)["exact_match"] <= 1


def test_file_task_trains_and_bad_files_name_the_line(tmp_path):
    good = tmp_path / "train.txt"
    good.write_text("".join(f"What is {i} plus {i}?\n{2 * i}\n" for i in range(40)))
    tr = Trainer(tiny(task="file", data_path=str(good), loss="was", reverse=True, eval_size=5))
    tr.step(2)
    assert tr.available_splits == ("interpolation",)
    assert [q for q, _ in tr.sample_questions(2)] == ["What is 35 plus 35?", "What is 36 plus 36?"]
    assert tr.evaluate("interpolation")["split"] == "interpolation"
    bad = tmp_path / "bad.txt"
    bad.write_text("What is 1 plus 1?\n2\nWhat is 2 plus 2?\n")
    with pytest.raises(ValueError, match="line 3"):
        Trainer(tiny(task="file", data_path=str(bad)))


def test_fixed_training_set_is_cycled_in_shuffled_epochs():
    cfg = tiny(digits=2, train_size=40, batch_size=16)
    tr = Trainer(cfg)
    fixed = tr.task.fixed_train_set(40)
    assert fixed == Trainer(cfg.replace(seed=7)).task.fixed_train_set(40)  # the data set does not depend on the seed
    held_out = set(tr.task.test_set("interpolation"))
    assert len(set(fixed)) == 40 and not held_out & set(fixed)
    seen = [pair for _ in range(5) for pair in tr._next_batch()]  # 80 pairs = exactly two epochs
    assert sorted(seen[:40]) == sorted(fixed) and sorted(seen[40:]) == sorted(fixed)
    assert seen[:40] != seen[40:]  # reshuffled each epoch
    with pytest.raises(ValueError, match="train_size must be between"):
        Trainer(tiny(digits=1, train_size=1000))


def test_grad_clip_zero_turns_clipping_off(monkeypatch):
    calls = []
    real = torch.nn.utils.clip_grad_norm_
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda params, norm: calls.append(norm) or real(params, norm))
    Trainer(tiny(grad_clip=0.0)).step(2)
    assert calls == []
    Trainer(tiny(grad_clip=0.5)).step(2)
    assert calls == [0.5, 0.5]
