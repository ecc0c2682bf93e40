"""SeedEnsemble: the batched (vmap) ensemble trains each member exactly like a separate Trainer."""
from __future__ import annotations

import math

import pytest

import ntl_core.comparison as comparison
from ntl_core.ensemble import SeedEnsemble, stackable
from ntl_core.training import Trainer
from tests.unit.ntl_train_helpers import assert_same_rows, one_thread, tiny  # noqa: F401  (autouse fixture)


def _cfg(**changes):
    # 2-digit answers give batches of different lengths per member (the padding path is exercised);
    # a small clip norm keeps per-member clipping active in every step.
    return tiny(digits=2, batch_size=8, eval_every=2, eval_size=8, grad_clip=0.5, **changes)


@pytest.mark.parametrize("batched", [True, False])
def test_ensemble_equals_separate_runs(batched):
    cfg = _cfg()
    ens = SeedEnsemble(cfg, ["ce", "was"], [0, 3], batched=batched)
    ens.step(3)
    ens.step(1)
    assert ens.step_count == 4 and set(ens.members) == {("ce", 0), ("was", 0), ("ce", 3), ("was", 3)}
    for (loss, seed), member in ens.members.items():
        alone = Trainer(cfg.replace(loss=loss, seed=seed))
        alone.step(4)
        for got, want in zip(member.history_train, alone.history_train, strict=True):
            for key in ("loss", "ce", "ntl"):
                if key in want:
                    assert got[key] == pytest.approx(want[key], rel=1e-4, abs=1e-5), (loss, seed, key)
        evals = [(r["step"], r["split"]) for r in member.history_eval]
        assert evals == [(r["step"], r["split"]) for r in alone.history_eval]
        # the member's own model holds the trained weights (prediction, heatmaps and saving use it)
        questions = [q for q, _ in alone.sample_questions(8)]
        assert member.predict(questions) == alone.predict(questions)
    assert ens.train_seconds > 0 and not math.isnan(ens.train_seconds)


def test_batched_ensemble_refuses_what_it_cannot_stack():
    with pytest.raises(ValueError, match="GPT-2 token losses"):
        SeedEnsemble(_cfg(), ["ce", "reg"], [0], batched=True)
    with pytest.raises(ValueError, match="each once"):
        SeedEnsemble(_cfg(), ["ce", "ce"], [0])
    with pytest.raises(ValueError, match="seed"):
        SeedEnsemble(_cfg(), ["ce"], [])
    with pytest.raises(ValueError, match="positive integer"):
        SeedEnsemble(_cfg(), ["ce"], [0]).step(0)


def test_the_clis_comparison_trains_batched_like_the_loop_and_loops_by_default_on_cpu(monkeypatch):
    built = []
    monkeypatch.setattr(comparison, "SeedEnsemble", lambda *a, **k: built.append(k) or SeedEnsemble(*a, **k))
    cfg = _cfg()
    loop = comparison.run_comparison(cfg, ["ce", "was"], [0, 3], 4)  # as `python -m ntl_core train` calls it
    assert built == []  # CPU: one Trainer after the other
    batched = comparison.run_comparison(cfg, ["ce", "was"], [0, 3], 4, batched=True)  # the CUDA default
    assert built == [{"batched": True}]
    for a, b in zip(loop, batched, strict=True):
        assert (a.loss, a.seed, a.steps) == (b.loss, b.seed, b.steps)
        assert_same_rows(b.history, a.history)
        for split, metrics in a.final.items():
            assert b.final[split] == pytest.approx(metrics, rel=1e-4, abs=1e-5, nan_ok=True)


def test_only_gpt2_token_losses_stack():
    assert stackable(_cfg(), ["ce", "was", "mse"])
    assert not stackable(_cfg(), ["ce", "reg"]) and not stackable(_cfg(model="t5-tiny"), ["ce"])
    assert SeedEnsemble(_cfg(), ["ce", "was"], [0]).path == "loop of 2 on cpu"  # default off CUDA: the loop
    assert SeedEnsemble(_cfg(), ["ce", "was"], [0], batched=True).path == "batched ×2 on cpu"
