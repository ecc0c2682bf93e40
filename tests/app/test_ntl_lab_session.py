"""LabSession's two paths: the loop over Trainers (CPU default) and the batched SeedEnsemble (CUDA default).

No GPU here, so the batched path is forced on CPU; it must give the loop's rows, ticks and answers.
"""
from __future__ import annotations

import pytest

from ntl_core.ensemble import SeedEnsemble
from pages._ui.lockstep import TickReport
from pages._ui.ntl_lab import LabSession, build_lab
from tests.unit.ntl_train_helpers import assert_same_rows, one_thread, tiny  # noqa: F401  (autouse fixture)

LOSSES, SEEDS = ["ce", "was"], [0, 3]


def _cfg(**changes):
    # 2-digit answers: batches of different lengths per member (the batched padding path); a small clip
    # norm keeps per-member clipping active.
    return tiny(**{"digits": 2, "batch_size": 8, "steps": 5, "eval_every": 2, "eval_size": 8, "grad_clip": 0.5,
                   **changes})


def _drive(lab: LabSession) -> list[TickReport]:
    """One step, then one-round ticks, then a tick that finishes: what the page's Step and Start do."""
    lab.step(1)
    reports = [lab.tick(0.0), lab.tick(0.0)]
    while not lab.finished:
        reports.append(lab.tick(60.0))
    return reports


def test_batched_lab_gives_the_loops_rows_ticks_and_answers():
    loop, batched = LabSession(_cfg(), LOSSES, SEEDS), build_lab(_cfg(), LOSSES, seeds=SEEDS, batched=True)
    assert not loop.ensemble.batched and batched.ensemble.batched
    assert loop.progress()["path"] == "loop of 4 on cpu" and batched.progress()["path"] == "batched ×4 on cpu"
    for a, b in zip(_drive(loop), _drive(batched), strict=True):
        assert a.steps == b.steps and a.steps % 4 == 0  # whole rounds: the runs stay at the same step
        assert {k: v for k, v in a.progress.items() if k != "path"} == \
            {k: v for k, v in b.progress.items() if k != "path"}
        assert a.rows.keys() == b.rows.keys() == {"ce@0", "was@0", "ce@3", "was@3"}
        for name in a.rows:
            assert_same_rows(b.rows[name], a.rows[name])
    assert loop.current_step == batched.current_step == 5
    for name, history in loop.histories().items():
        assert_same_rows(batched.histories()[name], history)
        assert [r["step"] for r in history if "split" not in r] == [1, 2, 3, 4, 5]
    # The members' own models hold the batched weights after a tick: answers, heatmaps, evaluations agree.
    assert batched.samples("interpolation", 6) == loop.samples("interpolation", 6)
    question, answer = loop.trainers["ce"].sample_questions(1)[0]
    for loss, probs in loop.heatmap(question, answer)[0].items():
        assert batched.heatmap(question, answer)[0][loss] == pytest.approx(probs, abs=1e-5)
    for name, row in loop.evaluate("extrapolation").items():
        assert_same_rows([batched.evaluate("extrapolation")[name]], [row])


def test_a_batched_tick_copies_the_weights_back_once_not_every_round(monkeypatch):
    lab = LabSession(_cfg(eval_every=0), LOSSES, SEEDS, batched=True)
    syncs = []
    monkeypatch.setattr(lab.ensemble, "sync", lambda: syncs.append(lab.current_step))
    report = lab.tick(60.0)
    assert report.steps == 4 * 5 and syncs == [5]


def test_the_cpu_default_is_the_loop_and_unstackable_runs_stay_in_the_loop():
    assert not SeedEnsemble(_cfg(), LOSSES, SEEDS).batched  # the default: batched only on CUDA
    lab = LabSession(_cfg(), ["ce", "reg"], SEEDS[:1])
    assert lab.progress()["path"] == "loop of 2 on cpu"
    with pytest.raises(ValueError, match="GPT-2 token losses"):
        LabSession(_cfg(), ["ce", "reg"], SEEDS[:1], batched=True)


def test_close_drops_the_runs_and_the_ensemble():
    lab = LabSession(_cfg(), LOSSES, SEEDS, batched=True)
    lab.step(1)
    lab.close()
    assert lab.members == {} and lab.ensemble is None and lab.finished
