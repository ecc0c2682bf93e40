"""The explorer's "what to notice" lines state what the numbers say (no hard-coded claims)."""
from __future__ import annotations

import re

import numpy as np
import pytest

from ntl_core.scoring import (DISTRIBUTION_PRESETS, number_preset_logits, preset_logits, score_digit, score_number,
                              sweep_peak)
from pages._ui import explorer_text as notes


def test_sweep_notice_states_where_mse_is_lowest_from_the_numbers():
    """The defect: the page said "one step off" while at T = 5 MSE's minimum is 3 steps off (peak at 1)."""
    for target, temp in [(4, 5.0), (4, 3.0), (6, 4.0), (4, 1.0), (0, 5.0)]:
        sweep = sweep_peak(target, temp)
        best = int(np.argmin(sweep.losses["NTL-MSE"]))
        text = notes.sweep_notice(sweep)
        if best == target:
            assert f"NTL-MSE is lowest with the peak on the target {target}" in text
        else:
            steps = abs(best - target)
            assert f"NTL-MSE is lowest with the peak at **{best}**, {steps} step" in text
    assert "peak at **1**, 3 steps" in notes.sweep_notice(sweep_peak(4, 5.0))
    assert f"CE is the same {sweep_peak(4, 5.0).losses['CE'][0]:.2f} for every wrong peak" in \
        notes.sweep_notice(sweep_peak(4, 5.0))


def test_every_preset_has_a_notice():
    assert set(notes.PRESET_NOTICE) == set(DISTRIBUTION_PRESETS)


def test_gradient_notice_says_when_ntl_vanished():
    confident = score_digit(7, logits=preset_logits("neighbour", 7, temperature=0.1))
    assert "vanished" in notes.gradients_notice(confident)
    mild = score_digit(7, logits=preset_logits("neighbour", 7, temperature=1.0))
    assert "vanished" not in notes.gradients_notice(mild)
    ce = float(np.abs(mild.gradients["CE"]).max())
    assert f"CE's largest push is {ce:.2g}" in notes.gradients_notice(mild)


def test_distribution_and_loss_notices_quote_the_score():
    s = score_digit(4, logits=preset_logits("bimodal", 4))
    text = notes.distribution_notice(s)
    assert f"mean ŷ is **{s.expected:.2f}**" in text and "mean is right although" in text
    assert f"{s.losses['NTL-WAS']:.2f}" in notes.losses_notice(s)
    assert "mean is right" not in notes.distribution_notice(score_digit(4, logits=preset_logits("peaked", 4)))


@pytest.mark.parametrize("presets", [["far", "peaked", "peaked"], ["peaked", "peaked", "far"]])
def test_number_notices_name_the_position(presets):
    s = score_number("472", number_preset_logits("472", presets))
    far = "hundreds" if presets[0] == "far" else "units"
    assert f"the {far} position is off most" in notes.number_distribution_notice(s)
    assert f"blames the {far} position most" in notes.number_losses_notice(s)
    assert re.search(r"number-level loss the \w+ position", notes.number_gradients_notice(s))


def test_loss_formulas_on_the_page_come_from_the_registry():
    from streamlit.testing.v1 import AppTest

    from ntl_core import loss_registry
    from tests.app.test_ntl_explorer import PAGE

    at = AppTest.from_file(PAGE, default_timeout=60).run()
    shown = " ".join(f.value for f in at.latex)
    for key in ("ce", "mse", "was"):
        spec = loss_registry.get(key)
        assert rf"\text{{{spec.label}}}&={spec.formula}" in shown, key
