"""The learned-regime study's rules on constructed runs: budgets from calibration, selection, confirmation."""
import math

import pytest

from ntl_core import learned_study as plan
from ntl_core.train_config import TrainConfig


def _curve(ems, every):
    return [{"step": i * every, "exact_match": em, "mae": 1.0 + (1 - em)} for i, em in enumerate(ems)]


def _calibration(setting, ems, cpu_per_step=0.02):
    every = plan.calibration_interval(setting)
    steps = (len(ems) - 1) * every
    return {"stage": "0", "setting": setting, "curve": _curve(ems, every), "steps": steps,
            "cpu_seconds": cpu_per_step * steps}


def test_every_setting_is_a_valid_config():
    for setting in plan.SETTINGS:
        for loss in plan.LOSSES:
            TrainConfig.from_dict(plan.config(setting, loss, 0, 100))


def test_budget_is_one_and_a_half_times_the_crossing_rounded_up_and_capped():
    # addition: E = 250; crossing at step 750 -> 1.5 x 750 = 1125 -> 1250
    assert plan.budget(_calibration("addition", [0.0, 0.1, 0.3, 0.6])) == 1250
    # 0.2 CPU-s a step: 300 s fit 1500 steps; 1.5 x 1500 = 2250 is capped at 1500
    assert plan.budget(_calibration("addition", [0.0] * 6 + [0.7], cpu_per_step=0.2)) == 1500
    assert plan.budget(_calibration("dm-place-value", [0.0, 0.2, 0.4])) is None  # never reached 50 %: dropped
    assert plan.calibration_interval("dm-place-value") == 100


def _run(stage, setting, loss, seed, final_em, b=1000, cross=500, mae=None, extra=0.1):
    every = plan.eval_every(b)
    ems = [0.0] + [final_em if (i * every) >= cross else 0.2 for i in range(1, plan.CURVE_POINTS + 1)]
    curve = _curve(ems, every)
    if mae is not None:
        curve[-1]["mae"] = mae
    return {"stage": stage, "setting": setting, "loss": loss, "seed": seed, "curve": curve,
            "extrapolation": {"exact_match": extra}, "cpu_seconds": 10.0}


def _stage1(effects):
    runs = [_calibration(s, [0.0, 0.3, 0.55, 0.7]) for s in plan.SETTINGS]
    b = plan.budget(runs[0])
    for setting in plan.SETTINGS:
        for seed in plan.SELECTION_SEEDS:
            runs.append(_run("1", setting, "ce", seed, 0.6, b))
            for loss in plan.NTL_LOSSES:
                runs.append(_run("1", setting, loss, seed, 0.6 + effects.get((setting, loss), 0.0) + 0.01 * (seed % 2), b))
    return runs


def test_paired_stats_and_verdicts():
    runs = _stage1({("addition", "was"): 0.1})
    b = plan.budgets(runs)["addition"]
    s = plan.paired_stats(runs, "addition", "was", plan.SELECTION_SEEDS, b)
    assert s["d_em"]["mean"] == pytest.approx(0.1 + 0.01 * 2 / 5) and s["verdict"] == "better"
    assert s["steps_saved"]["mean"] == 0 and s["censored_ce"] == 0
    assert plan.paired_stats(runs, "addition", "mse", plan.SELECTION_SEEDS, b)["d_em"]["low"] < 0.01


def test_selection_picks_the_robust_winner_and_the_worst_contrast():
    choice = plan.selection(_stage1({("dm-place-value", "mse"): 0.08, ("addition", "was"): -0.05}))
    assert choice["robust"] and choice["selected"] == ("dm-place-value", "mse")
    assert choice["contrast"] == ("addition", "was")
    jobs = plan.confirmation_jobs(choice)
    assert jobs == [("dm-place-value", "ce"), ("dm-place-value", "was"), ("dm-place-value", "mse"),
                    ("addition", "ce"), ("addition", "was")]


def test_no_robust_effect_still_names_the_best_mean_and_waits_for_all_runs():
    runs = _stage1({})
    choice = plan.selection(runs)
    assert choice is not None and choice["robust"] is False
    assert plan.selection(runs[:-1]) is None


def test_censored_runs_count_as_the_budget_plus_one_interval():
    b = 1000
    never = _run("1", "addition", "ce", 0, 0.3, b, cross=10**9)
    assert plan.steps_to_target(never, b) == b + plan.eval_every(b)
    assert plan.first_step_at(never["curve"]) is None
    assert math.isclose(plan.steps_to_target(_run("1", "addition", "ce", 0, 0.9, b, cross=500), b), 500)


def test_presets_claim_what_the_committed_confirmation_found():
    from ntl_core.presets import PRESET_INFO

    runs = plan.load(plan.RUNS)
    studied = [p for p in PRESET_INFO.values() if p.study_setting]
    assert studied, "a preset reproduces the learned-regime study's setting"
    for preset in studied:
        assert preset.config.steps == plan.budgets(runs)[preset.study_setting]  # the calibrated budget
        assert TrainConfig.from_dict({**preset.config.to_dict(), "device": "cpu"}).task == \
            plan.config(preset.study_setting, "ce", 0)["task"]
        stats = [s for s in plan.confirmation(runs) if s["setting"] == preset.study_setting and s["loss"] == "was"]
        complete = bool(stats) and stats[0]["d_em"]["n"] == len(plan.CONFIRMATION_SEEDS)
        # The claim comes from stage 2 only: none until all twelve confirmation seeds are in, then the rule's verdict.
        assert preset.expected == (stats[0]["verdict"] if complete else None), preset.id
