"""Per-position scoring of a digit distribution, for teaching.

One position of a language model's output, restricted to the ten digit tokens ``0``–``9``
(values 0..9), is scored against a true digit by cross-entropy (CE) and by the Number Token
Losses of Zausinger et al. (ICML 2025): NTL-MSE / NTL-MAE / NTL-Huber (an L_p loss on the
expected value, ``ntloss.NTLossDotProduct``) and NTL-WAS (the Wasserstein-1 distance to the
true digit, ``ntloss.NTLoss``). Every loss comes with its gradient with respect to the ten
logits (torch autograd), which is what a training step actually sees.

The semantics are those of ``ntloss`` 0.3.2 with ``reweigh=False`` (as in the paper) on a
vocabulary made only of the ten digits, so CE here is the cross-entropy over the digits.
Several positions together (a number such as ``"472"``) are scored both digit by digit and by
the number-level loss (``ntloss.NumberLevelLoss``: sMAPE between the true number and the number
built from the per-position expected digits with their place values).

Everything is computed in float64 on the CPU: ten numbers per position need no accelerator.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ntl_core.loss_registry import DIGIT_LOSSES

N_DIGITS = 10
DIGIT_VALUES = np.arange(N_DIGITS, dtype=np.float64)
# Chart labels of the per-position losses, in the registry's order (the keys of every losses dict here).
LOSS_NAMES: tuple[str, ...] = tuple(spec.label for spec in DIGIT_LOSSES)
DISTRIBUTION_PRESETS: tuple[str, ...] = ("peaked", "neighbour", "far", "bimodal", "uniform", "random")
PRESET_LABELS: dict[str, str] = {
    "peaked": "Peaked on the target",
    "neighbour": "Peaked on a neighbour",
    "far": "Peaked far away",
    "bimodal": "Bimodal around the target",
    "uniform": "Uniform",
    "random": "Random (from the seed)",
}
# Logit of the peak digit at temperature 1 (all other digits sit at 0): p(peak) = e^5/(e^5+9) ≈ 0.94.
PEAK_LOGIT = 5.0
# Logits are kept in [-LOGIT_LIMIT, LOGIT_LIMIT] so that the page's sliders can show every preset.
LOGIT_LIMIT = 20.0
# Probabilities typed by a user may contain exact zeros; they are floored here before taking the
# log, otherwise CE would be infinite and every gradient NaN. -log(1e-9) ≈ 20.7 = LOGIT_LIMIT.
PROB_FLOOR = 1e-9
MAX_NUMBER_DIGITS = 8
_DTYPE = torch.float64


@dataclass(frozen=True)
class DigitScore:
    """The scores of one digit distribution against one true digit.

    Attributes:
        target: The true digit, 0..9.
        logits: (10,) the logits that were scored.
        probs: (10,) softmax of ``logits``.
        expected: The expected digit value sum_k k * p_k.
        losses: Loss name (see ``LOSS_NAMES``) -> value.
        gradients: Loss name -> (10,) gradient of that loss with respect to ``logits``.
    """

    target: int
    logits: np.ndarray
    probs: np.ndarray
    expected: float
    losses: dict[str, float]
    gradients: dict[str, np.ndarray]


@dataclass(frozen=True)
class Sweep:
    """Each loss as a function of where a peaked distribution sits.

    Attributes:
        target: The true digit.
        temperature: Temperature of the peaked distributions.
        centers: (10,) the peak positions 0..9.
        expected: (10,) expected value of each distribution.
        losses: Loss name -> (10,) loss of the distribution peaked at each center.
    """

    target: int
    temperature: float
    centers: np.ndarray
    expected: np.ndarray
    losses: dict[str, np.ndarray]


@dataclass(frozen=True)
class NumberScore:
    """A multi-digit target scored digit by digit and as a whole number.

    Attributes:
        target: The target number as typed, e.g. ``"472"`` (leading zeros kept as positions).
        positions: One ``DigitScore`` per position, most significant first.
        expected_digits: (L,) expected digit per position.
        expected_number: sum_i E[d_i] * 10^(L-1-i), the number the model "means".
        true_number: The target as an integer.
        digit_mean: Loss name -> mean over positions (ntloss's reduction="mean").
        digit_sum: Loss name -> sum over positions (reduction="sum").
        number_loss: sMAPE |ŷ - y| / (|ŷ| + |y| + eps), in [0, 1] (ntloss NumberLevelLoss).
        number_gradients: (L, 10) gradient of ``number_loss`` w.r.t. every position's logits.
    """

    target: str
    positions: tuple[DigitScore, ...]
    expected_digits: np.ndarray
    expected_number: float
    true_number: int
    digit_mean: dict[str, float]
    digit_sum: dict[str, float]
    number_loss: float
    number_gradients: np.ndarray


# --------------------------------------------------------------------------- validation


def check_digit(target: object) -> int:
    """Return ``target`` as a digit 0..9, or raise ``ValueError`` saying what is wrong."""
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise ValueError(f"the true digit must be a whole number from 0 to 9, got {target!r}")
    if not 0 <= int(target) <= 9:
        raise ValueError(f"the true digit must be between 0 and 9, got {int(target)} (out of range)")
    return int(target)


def check_number(target: object) -> str:
    """Return a multi-digit target as a clean digit string, or raise ``ValueError``.

    Accepts an int >= 0 or a string of 1..MAX_NUMBER_DIGITS digits (surrounding spaces ignored).
    """
    if isinstance(target, bool):
        raise ValueError(f"the target number must be made of digits 0-9, got {target!r}")
    if isinstance(target, (int, np.integer)):
        if target < 0:
            raise ValueError(f"the target number must not be negative, got {int(target)}")
        target = str(int(target))
    if not isinstance(target, str):
        raise ValueError(f"the target number must be a string of digits, got {type(target).__name__}")
    text = target.strip()
    if not text:
        raise ValueError("the target number is empty: type a number such as 472")
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"the target number must contain only the digits 0-9, got {target!r}")
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"the target number may have at most {MAX_NUMBER_DIGITS} digits, got {len(text)}")
    return text


def check_temperature(temperature: float) -> float:
    """Return a positive finite temperature, or raise ``ValueError``."""
    t = float(temperature)
    if not math.isfinite(t) or t <= 0:
        raise ValueError(f"the temperature must be a positive number, got {temperature!r}")
    return t


def _as_vector(values: object, what: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"the {what} must be {N_DIGITS} numbers: {err}") from None
    if arr.shape != (N_DIGITS,):
        raise ValueError(f"the {what} must be {N_DIGITS} numbers (one per digit 0-9), got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"the {what} contain NaN (not a number) at digit(s) {np.flatnonzero(np.isnan(arr)).tolist()}")
    if np.isinf(arr).any():
        raise ValueError(f"the {what} contain an infinite value at digit(s) {np.flatnonzero(np.isinf(arr)).tolist()}")
    return arr


def check_logits(logits: object) -> np.ndarray:
    """Return (10,) finite float64 logits, or raise ``ValueError``."""
    return _as_vector(logits, "logits")


def check_probs(probs: object) -> np.ndarray:
    """Return (10,) probabilities normalised to sum 1, or raise ``ValueError``.

    Any non-negative weights with a positive sum are accepted and normalised, so a student may
    type ``1, 0, 0, ...`` or percentages.
    """
    arr = _as_vector(probs, "probabilities")
    if (arr < 0).any():
        raise ValueError(f"probabilities cannot be negative, got {arr[arr < 0].tolist()} "
                         f"at digit(s) {np.flatnonzero(arr < 0).tolist()}")
    peak = arr.max()
    if peak <= 0:
        raise ValueError("the distribution is all zeros: put some probability on at least one digit")
    scaled = arr / peak  # dividing by the largest weight first keeps huge weights (1e308) from overflowing
    return scaled / scaled.sum()


def parse_distribution(text: str) -> np.ndarray:
    """Parse ten comma- or space-separated weights (e.g. ``"0 0 .5 0 .5 0 0 0 0 0"``).

    Returns:
        (10,) probabilities summing to 1.

    Raises:
        ValueError: wrong count, a token that is not a number, NaN, negative or all-zero weights.
    """
    tokens = text.replace(",", " ").split()
    if len(tokens) != N_DIGITS:
        raise ValueError(f"type exactly {N_DIGITS} numbers (one per digit 0-9), got {len(tokens)}")
    values = []
    for tok in tokens:
        try:
            values.append(float(tok))
        except ValueError:
            raise ValueError(f"{tok!r} is not a number") from None
    return check_probs(values)


def probs_to_logits(probs: object) -> np.ndarray:
    """Logits whose softmax is ``probs`` (zeros floored at ``PROB_FLOOR``), shape (10,)."""
    p = check_probs(probs)
    return np.log(np.maximum(p, PROB_FLOOR))


# --------------------------------------------------------------------------- presets


def preset_logits(name: str, target: int, temperature: float = 1.0, seed: int = 0) -> np.ndarray:
    """Logits of a named teaching distribution for a true digit.

    Shapes (before dividing by ``temperature``; all other digits at logit 0):

    * ``peaked``: ``PEAK_LOGIT`` on the target.
    * ``neighbour``: ``PEAK_LOGIT`` on target+1 (target-1 for 9).
    * ``far``: ``PEAK_LOGIT`` on the farthest digit (9 for targets 0..4, else 0).
    * ``bimodal``: ``PEAK_LOGIT`` on target-d and target+d (d = 2, or 1 near the edges). Digits
      without a mirror image inside 0..9 get the lowest logit, so the distribution is symmetric
      around the target: its expected value is the target and NTL-MSE is ~0 although the model
      never predicts the right digit. Needs a target from 1 to 8.
    * ``uniform``: all logits 0.
    * ``random``: standard normal logits times 2, drawn with ``seed``.

    A lower temperature sharpens, a higher one flattens. Logits are clipped to ±``LOGIT_LIMIT``.

    Returns:
        (10,) float64 logits.

    Raises:
        ValueError: unknown preset, bad digit or temperature, or ``bimodal`` with target 0 or 9.
    """
    t = check_digit(target)
    temp = check_temperature(temperature)
    if name not in DISTRIBUTION_PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(DISTRIBUTION_PRESETS)}")
    base = np.zeros(N_DIGITS)
    if name == "peaked":
        base[t] = PEAK_LOGIT
    elif name == "neighbour":
        base[t + 1 if t < 9 else 8] = PEAK_LOGIT
    elif name == "far":
        base[9 if t <= 4 else 0] = PEAK_LOGIT
    elif name == "bimodal":
        reach = min(t, 9 - t)
        if reach == 0:
            raise ValueError(f"the bimodal preset needs a true digit from 1 to 8 (room on both sides), got {t}")
        d = min(2, reach)
        base[[t - d, t + d]] = PEAK_LOGIT
        logits = np.clip(base / temp, -LOGIT_LIMIT, LOGIT_LIMIT)
        # Mirror-less digits are pushed to the floor after scaling, so symmetry holds at any temperature.
        logits[np.abs(DIGIT_VALUES - t) > reach] = -LOGIT_LIMIT
        return logits
    elif name == "random":
        base = 2.0 * np.random.default_rng(seed).standard_normal(N_DIGITS)
    return np.clip(base / temp, -LOGIT_LIMIT, LOGIT_LIMIT)


def presets_for(target: int) -> tuple[str, ...]:
    """The presets that fit the true digit ``target``: all but ``bimodal`` for the edge digits 0 and 9."""
    t = check_digit(target)
    return DISTRIBUTION_PRESETS if 0 < t < 9 else tuple(p for p in DISTRIBUTION_PRESETS if p != "bimodal")


def spike_logits(center: int, temperature: float = 1.0) -> np.ndarray:
    """(10,) logits with ``PEAK_LOGIT / temperature`` on ``center`` and 0 elsewhere (clipped)."""
    c = check_digit(center)
    base = np.zeros(N_DIGITS)
    base[c] = PEAK_LOGIT
    return np.clip(base / check_temperature(temperature), -LOGIT_LIMIT, LOGIT_LIMIT)


# --------------------------------------------------------------------------- losses


def _losses(logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-row losses, each from its registry entry (``ntl_core.loss_registry``).

    Args:
        logits: (N, 10) digit logits.
        target: (N,) true digits (long).

    Returns:
        Loss label -> (N,) tensor.
    """
    log_p = F.log_softmax(logits, dim=-1)
    return {spec.label: spec.digit_loss(log_p, target) for spec in DIGIT_LOSSES}


def _score_rows(logits: np.ndarray, targets: np.ndarray) -> list[DigitScore]:
    """Score (N, 10) logits against (N,) digits, with per-loss gradients."""
    z = torch.tensor(logits, dtype=_DTYPE, requires_grad=True)
    tgt = torch.tensor(targets, dtype=torch.long)
    losses = _losses(z, tgt)
    grads = {}
    for name, value in losses.items():
        # Rows are independent, so the gradient of the sum gives every row's own gradient.
        (g,) = torch.autograd.grad(value.sum(), z, retain_graph=True)
        grads[name] = g.numpy()
    probs = torch.softmax(z.detach(), dim=-1).numpy()
    values = {n: v.detach().numpy() for n, v in losses.items()}
    return [
        DigitScore(
            target=int(targets[i]),
            logits=logits[i].copy(),
            probs=probs[i],
            expected=float(probs[i] @ DIGIT_VALUES),
            losses={n: float(v[i]) for n, v in values.items()},
            gradients={n: g[i] for n, g in grads.items()},
        )
        for i in range(len(targets))
    ]


def score_digit(target: int, logits: object | None = None, probs: object | None = None) -> DigitScore:
    """Score one distribution over the digits 0..9 against the true digit.

    Args:
        target: The true digit, 0..9.
        logits: (10,) logits, one per digit (give this or ``probs``).
        probs: (10,) non-negative weights, normalised here; zeros are floored at ``PROB_FLOOR``.

    Returns:
        A ``DigitScore`` with CE, NTL-MSE, NTL-MAE, NTL-Huber, NTL-WAS, the expected value, the
        probabilities and each loss's gradient with respect to the logits.

    Raises:
        ValueError: bad digit, both or neither of logits/probs, or an invalid vector.
    """
    t = check_digit(target)
    if (logits is None) == (probs is None):
        raise ValueError("give exactly one of logits or probs")
    z = check_logits(logits) if logits is not None else probs_to_logits(probs)
    return _score_rows(z[None, :], np.array([t]))[0]


def sweep_peak(target: int, temperature: float = 1.0) -> Sweep:
    """Score the spike distribution (``spike_logits``) at every peak position 0..9.

    The spike keeps all wrong digits at equal probability, so CE (which only reads p(target)) is
    the same for every wrong peak position while the NTL variants grow with the distance.

    Returns:
        A ``Sweep`` with (10,) arrays per loss.
    """
    t = check_digit(target)
    temp = check_temperature(temperature)
    logits = np.stack([spike_logits(c, temp) for c in range(N_DIGITS)])
    rows = _score_rows(logits, np.full(N_DIGITS, t))
    return Sweep(
        target=t,
        temperature=temp,
        centers=np.arange(N_DIGITS),
        expected=np.array([r.expected for r in rows]),
        losses={n: np.array([r.losses[n] for r in rows]) for n in LOSS_NAMES},
    )


def score_number(target: object, logits: object) -> NumberScore:
    """Score one digit distribution per position against a multi-digit number.

    Args:
        target: The true number, e.g. ``"472"`` or ``472`` (L digits, L <= MAX_NUMBER_DIGITS).
        logits: (L, 10) logits, row i for the i-th digit from the left.

    Returns:
        A ``NumberScore``: every position's ``DigitScore``, the digit-level mean and sum of each
        loss, and the number-level sMAPE with its (L, 10) gradient.

    Raises:
        ValueError: a target that is not a number, or logits of the wrong shape or not finite.
    """
    text = check_number(target)
    length = len(text)
    try:
        arr = np.asarray(logits, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"the logits must be numbers: {err}") from None
    if arr.shape != (length, N_DIGITS):
        raise ValueError(f"need one row of {N_DIGITS} logits per digit of {text!r}: shape ({length}, {N_DIGITS}), "
                         f"got {arr.shape}")
    for row in arr:
        check_logits(row)
    digits = np.array([int(ch) for ch in text])
    rows = _score_rows(arr, digits)

    z = torch.tensor(arr, dtype=_DTYPE, requires_grad=True)
    place = torch.tensor([10.0 ** (length - 1 - i) for i in range(length)], dtype=_DTYPE)
    expected_digits = torch.softmax(z, dim=-1) @ torch.arange(N_DIGITS, dtype=_DTYPE)
    yhat = expected_digits @ place
    y = torch.tensor(float(int(text)), dtype=_DTYPE)
    # ntloss adds the dtype's eps so that y = ŷ = 0 gives 0 rather than 0/0.
    smape = (yhat - y).abs() / (yhat.abs() + y.abs() + torch.finfo(_DTYPE).eps)
    (grad,) = torch.autograd.grad(smape, z)
    return NumberScore(
        target=text,
        positions=tuple(rows),
        expected_digits=expected_digits.detach().numpy(),
        expected_number=float(yhat.detach()),
        true_number=int(text),
        digit_mean={n: float(np.mean([r.losses[n] for r in rows])) for n in LOSS_NAMES},
        digit_sum={n: float(np.sum([r.losses[n] for r in rows])) for n in LOSS_NAMES},
        number_loss=float(smape.detach()),
        number_gradients=grad.numpy(),
    )


def number_preset_logits(target: object, presets: list[str] | str, temperature: float = 1.0,
                         seed: int = 0) -> np.ndarray:
    """(L, 10) logits: one preset per position of ``target`` (a single name applies to all).

    Position i with the ``random`` preset uses ``seed + i`` so the positions differ.

    Raises:
        ValueError: bad target, wrong number of presets, or a preset that does not fit a digit.
    """
    text = check_number(target)
    names = [presets] * len(text) if isinstance(presets, str) else list(presets)
    if len(names) != len(text):
        raise ValueError(f"need one preset per digit of {text!r} ({len(text)}), got {len(names)}")
    return np.stack([preset_logits(n, int(ch), temperature, seed + i) for i, (n, ch) in enumerate(zip(names, text))])
