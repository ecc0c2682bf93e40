"""The loss explorer's take-aways: one "what to notice" line per preset and per chart.

The chart lines are computed from the scores they talk about (never hard-coded numbers), so they
stay true when a student moves a slider; ``tests/app/test_explorer_text.py`` checks them against
``ntl_core.scoring``.
"""
from __future__ import annotations

import numpy as np

from ntl_core.plots import GRADIENT_FLOOR, PLACE_NAMES
from ntl_core.scoring import DigitScore, NumberScore, Sweep

PRESET_NOTICE: dict[str, str] = {
    "peaked": "The model is right and sure: every loss is small. Raise T and watch CE and NTL grow as the peak melts.",
    "neighbour": "A near miss: CE is exactly as large as for a far miss; NTL is small because the wrong digit is close.",
    "far": "A far miss: CE costs what the near miss cost, NTL is large. Only NTL knows that 9 is farther from 2 than 3 is.",
    "bimodal": "No mass on the true digit, yet the mean hits it: NTL-MSE/MAE/Huber are 0, CE and NTL-WAS are not.",
    "uniform": "Maximum uncertainty: CE = log 10 for every target, and the mean sits at 4.5 whatever the target is.",
    "random": "A random distribution drawn from the sidebar seed: change the seed for another one.",
}

WHY_NTL_VANISHES = (
    "**Why NTL is added to CE, not used alone.** Every NTL gradient is a sum of terms p_j·(…). When the model "
    "is *confidently wrong*, every p_j except the wrong peak is ≈ 0 and the peak's own term is ≈ 0 too "
    "(moving a certain peak barely moves the mean), so NTL's gradient vanishes exactly when the model most needs "
    "correcting. CE's gradient on the true digit is p_y − 1 ≈ −1 there. Try *Peaked on a neighbour* at T = 0.1."
)


def distribution_notice(score: DigitScore) -> str:
    """What the distribution chart shows for this score."""
    best = int(np.argmax(score.probs))
    text = (f"Notice: the most likely digit is **{best}** (p = {score.probs[best]:.2f}), the mean ŷ is "
            f"**{score.expected:.2f}**, the true digit **{score.target}**.")
    if best != score.target and abs(score.expected - score.target) < 0.05:
        text += " The mean is right although the most likely digit is wrong."
    return text


def losses_notice(score: DigitScore) -> str:
    """What the loss bars show: CE reads one probability, WAS an average distance."""
    p_y = float(score.probs[score.target])
    return (f"Notice: CE = {score.losses['CE']:.2f} reads only p(true digit) = {p_y:.3f}; NTL-WAS = "
            f"{score.losses['NTL-WAS']:.2f} is the average distance, in digits, between a draw from p and the "
            f"true digit.")


def sweep_notice(sweep: Sweep) -> str:
    """Where each loss of the sweep is lowest, stated from the numbers.

    At high T the flat part of the distribution drags the mean towards 4.5, so the mean-based
    losses (MSE/MAE/Huber) can be lowest with the peak on the far side of the target.
    """
    y, ce = sweep.target, sweep.losses["CE"]
    wrong = np.delete(ce, y)
    parts = []
    if np.ptp(wrong) < 1e-9:
        parts.append(f"CE is the same {wrong[0]:.2f} for every wrong peak")
    for name in ("NTL-MSE", "NTL-WAS"):
        best = int(np.argmin(sweep.losses[name]))
        if best == y:
            parts.append(f"{name} is lowest with the peak on the target {y}")
        else:
            steps = abs(best - y)
            parts.append(f"{name} is lowest with the peak at **{best}**, {steps} step{'s' * (steps > 1)} from the "
                         f"target {y}: the flat rest pulls the mean towards 4.5 and a peak on the other side "
                         f"compensates")
    return f"Notice (T = {sweep.temperature:g}): " + "; ".join(parts) + "."


def gradients_notice(score: DigitScore) -> str:
    """The biggest push of CE and of NTL-WAS, and whether NTL's gradient has vanished."""
    ce = float(np.abs(score.gradients["CE"]).max())
    was = float(np.abs(score.gradients["NTL-WAS"]).max())
    text = f"Notice: CE's largest push is {ce:.2g}, NTL-WAS's {was:.2g}."
    best = int(np.argmax(score.probs))
    if was < GRADIENT_FLOOR and best != score.target:
        text += (f" NTL's gradient has vanished while the model is confidently wrong (p = {score.probs[best]:.3f} "
                 f"on digit {best}): only CE still corrects it.")
    return text


def _place(score: NumberScore, i: int) -> str:
    return PLACE_NAMES[len(score.target) - 1 - i]


def number_distribution_notice(score: NumberScore) -> str:
    """Which position's expected digit is farthest from its true digit."""
    digits = np.array([int(c) for c in score.target])
    miss = np.abs(score.expected_digits - digits)
    i = int(np.argmax(miss))
    return (f"Notice: the expected number is **{score.expected_number:.2f}** for the true **{score.true_number}**; "
            f"the {_place(score, i)} position is off most ({miss[i]:.2f} digits).")


def number_losses_notice(score: NumberScore, digit_loss: str = "NTL-WAS") -> str:
    """The position that digit-level NTL blames most, next to the number-level loss."""
    per_pos = [p.losses[digit_loss] for p in score.positions]
    i = int(np.argmax(per_pos))
    return (f"Notice: digit-level {digit_loss} blames the {_place(score, i)} position most ({per_pos[i]:.2f}), "
            f"whatever its place value; the number-level sMAPE is {score.number_loss:.3f}.")


def number_gradients_notice(score: NumberScore, digit_loss: str = "NTL-WAS") -> str:
    """Which position each loss pushes hardest."""
    digit = int(np.argmax([np.linalg.norm(p.gradients[digit_loss]) for p in score.positions]))
    number = int(np.argmax(np.linalg.norm(score.number_gradients, axis=1)))
    return (f"Notice: digit-level {digit_loss} pushes the {_place(score, digit)} position hardest, the number-level "
            f"loss the {_place(score, number)} position.")
