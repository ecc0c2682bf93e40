"""The design search's statistics and decision rule on constructed runs (no training)."""
from __future__ import annotations

import math

import pytest

from ntl_core import design_search as ds


def _run(setting, loss, seed, mape, em=0.1, seconds=10.0):
    curve = [{"step": 0, "split": "interpolation", "mape": 9.0, "mae": 90.0, "exact_match": 0.0},
             {"step": 50, "split": "interpolation", "mape": mape, "mae": 100 * mape, "exact_match": em}]
    return {"setting": setting, "loss": loss, "seed": seed, "curve": curve, "train_seconds": seconds}


def _setting(name, ce, was, seconds=10.0):
    return [r for s, (c, w) in enumerate(zip(ce, was)) for r in
            (_run(name, "ce", s, c, seconds=seconds), _run(name, "was", s, w, seconds=seconds))]


def test_log_ratio_and_steps_until():
    runs = _setting("a", [0.2, 0.1, 0.04], [0.1, 0.05, 0.04])
    st = ds.setting_stats(runs, "a", (0, 1, 2))
    assert st["log_ratio_values"] == pytest.approx([math.log(2), math.log(2), 0.0])
    assert st["reached"] == {"ce": 1, "was": 1} and st["steps_until"]["was"] == [None, None, 50]


def test_rule_picks_the_largest_robust_improvement_and_ties_go_to_the_cheaper():
    runs = (_setting("strong", [0.4, 0.5, 0.6], [0.1, 0.12, 0.16], seconds=50)
            + _setting("strong-cheap", [0.4, 0.5, 0.6], [0.1, 0.125, 0.16], seconds=10)
            + _setting("noisy", [0.4, 0.5, 0.6], [0.001, 0.9, 0.3])
            + _setting("worse", [0.1, 0.12, 0.16], [0.4, 0.5, 0.6]))
    stats = [ds.setting_stats(runs, n, (0, 1, 2)) for n in ("strong", "strong-cheap", "noisy", "worse")]
    choice = ds.decide(stats)
    # "noisy" has the largest mean, but its interval includes 0; the two strong ones tie within 0.05
    assert stats[2]["log_mape_ratio"]["mean"] > stats[0]["log_mape_ratio"]["mean"]
    assert (choice["winner"], choice["best_mean"], choice["contrast"]) == ("strong-cheap", "noisy", "worse")


def test_no_winner_when_no_interval_lies_above_zero():
    runs = _setting("a", [0.4, 0.5, 0.6], [0.3, 0.7, 0.5]) + _setting("b", [0.1, 0.2, 0.3], [0.2, 0.1, 0.35])
    choice = ds.decide([ds.setting_stats(runs, n, (0, 1, 2)) for n in ("a", "b")])
    assert choice["winner"] is None and {choice["best_mean"], choice["contrast"]} == {"a", "b"}


def test_presets_claim_what_the_committed_confirmation_found():
    from pathlib import Path

    from ntl_core.presets import PRESET_INFO

    results = ds.analyse(Path(__file__).resolve().parents[2] / "docs" / "ntl_design_search.json")
    confirmed = {s["setting"]: s for s in results["confirmation"]}
    choice = results["choice"]
    assert PRESET_INFO["cpu-classroom"].search_setting == (choice["winner"] or choice["best_mean"])
    assert PRESET_INFO["cpu-contrast"].search_setting == choice["contrast"]
    for preset in PRESET_INFO.values():
        if preset.search_setting:
            stats = confirmed[preset.search_setting]
            assert stats["seeds"] == list(ds.CONFIRMATION_SEEDS)
            assert preset.expected == ds.expected_outcome(stats), preset.id
            fields = preset.config.to_dict()
            searched = ds.config(preset.search_setting, "was", 0)
            assert all(fields[k] == v for k, v in searched.items() if k not in ("loss", "seed", "device", "eval_every"))
