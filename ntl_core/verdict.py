"""Did adding NTL beat CE? A verdict over seeds, from paired differences and their 95 % CI.

Runs with the same seed share initial weights and data order, so the per-seed difference
"NTL run − CE run" isolates the loss. The verdict reads the mean and a Student-t 95 % CI of those
differences at the latest evaluation step all runs share, on the comparison's headline metric, and
refuses to call two outcomes a success: a lead at 0 vs 0 exact match (nobody answers anything yet),
and a lead on one of exact match / MAE / MAPE while another is significantly worse.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ntl_core.comparison import HIGHER_IS_BETTER, mean_ci, steps_until
from ntl_core.history import eval_rows
from ntl_core.loss_registry import NTL_TRAINABLE
from ntl_core.objectives import LOSS_LABELS

BASELINE = "ce"
CHECKED = ("exact_match", "mae", "mape")  # the headline plus these may not get significantly worse
Histories = Mapping[tuple[str, int], Sequence[Mapping[str, Any]]]  # (loss, seed) -> history rows


@dataclass(frozen=True)
class LossVerdict:
    """One loss against CE.

    Attributes:
        outcome: ``"ahead"``, ``"behind"``, ``"no clear difference"``, ``"tie at 0"`` (0 vs 0 exact
            match), ``"mixed"`` (better on the headline, significantly worse on another metric) or
            ``"one seed"`` (no interval from a single seed).
        diff: mean paired difference on the headline, signed so that > 0 means the loss is better.
        ci95: half-width of its 95 % CI (NaN for one seed).
        wins: seeds on which the loss was better on the headline.
    """

    loss: str
    outcome: str
    step: int
    n: int
    mean: float
    mean_ce: float
    diff: float
    ci95: float
    wins: int
    text: str


@dataclass(frozen=True)
class Verdict:
    """The comparison: ``box`` is ``"success"`` only when some NTL loss is ahead with no caveat."""

    step: int | None
    losses: tuple[LossVerdict, ...]
    box: str  # "success" | "warning" | "info"
    lines: tuple[str, ...]


def _fmt(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3g}"


def _shown(metric: str, x: float) -> str:
    """A metric's value as the lab shows it everywhere: MAPE in per cent (its chart and threshold box are in %)."""
    if metric == "mape" and x is not None and math.isfinite(x):
        return f"{100 * x:.3g} %"
    return _fmt(x)


def _signed(metric: str, ntl: float, ce: float) -> float:
    return ntl - ce if HIGHER_IS_BETTER[metric] else ce - ntl


def _finite(x: Any) -> bool:
    return x is not None and math.isfinite(x)


def compare(histories: Histories, headline: str = "exact_match", split: str = "interpolation") -> Verdict:
    """Compare every non-CE loss with CE over the seeds both were trained on.

    Args:
        histories: ``(loss, seed) -> rows`` as in ``Trainer.history``.
        headline: the metric the verdict is about (``"exact_match"``, ``"mae"``, ``"mape"``, …).
        split: held-out split to read.

    Returns:
        A :class:`Verdict`; with no CE run, no other loss, or no shared evaluation yet, ``box`` is
        ``"info"`` and the line says what is missing.
    """
    if headline not in HIGHER_IS_BETTER:
        raise ValueError(f"unknown headline metric {headline!r}; choose one of {tuple(HIGHER_IS_BETTER)}")
    losses = list(dict.fromkeys(loss for loss, _ in histories))
    if BASELINE not in losses or len(losses) < 2:
        return Verdict(None, (), "info", ("Add CE and at least one other loss to get a verdict against the baseline.",))
    evals = {key: {row["step"]: row for row in eval_rows(rows, split)} for key, rows in histories.items()}
    common = set.intersection(*(set(rows) for rows in evals.values()))
    if not common:
        return Verdict(None, (), "info", ("No evaluation yet: the verdict appears after the first evaluation step.",))
    step = max(common)
    results = []
    for loss in losses:
        if loss == BASELINE:
            continue
        seeds = [s for (l, s) in histories if l == loss and (BASELINE, s) in histories]
        rows = [(evals[(loss, s)][step], evals[(BASELINE, s)][step]) for s in seeds]
        diffs = {m: [_signed(m, a[m], b[m]) for a, b in rows if _finite(a.get(m)) and _finite(b.get(m))]
                 for m in {headline, *CHECKED}}
        head = mean_ci(diffs[headline])
        mean = mean_ci([a[headline] for a, _ in rows])["mean"]
        mean_ce = mean_ci([b[headline] for _, b in rows])["mean"]
        n, d, ci = head["n"], head["mean"], head["ci95"]
        wins = sum(x > 0 for x in diffs[headline])
        zero_em = all(a["exact_match"] == 0 and b["exact_match"] == 0 for a, b in rows)
        worse_elsewhere = [m for m in CHECKED if m != headline and len(diffs[m]) >= 2
                           and mean_ci(diffs[m])["mean"] + mean_ci(diffs[m])["ci95"] < 0]
        if headline == "exact_match" and zero_em:
            outcome = "tie at 0"
        elif n < 2:
            outcome = "one seed"
        elif d - ci > 0:
            outcome = "mixed" if worse_elsewhere else "ahead"
        elif d + ci < 0:
            outcome = "behind"
        else:
            outcome = "no clear difference"
        label = LOSS_LABELS.get(loss, loss)
        name = headline.replace("_", " ")
        pct = headline == "mape"  # the difference in percentage points, like the values
        diff = (f"{100 * d:+.3g} ± {_fmt(100 * ci)} percentage points" if pct else f"{d:+.3g} ± {_fmt(ci)}")
        detail = (f"{name} {_shown(headline, mean)} vs {_shown(headline, mean_ce)} (CE), mean of {n} "
                  f"seed{'s' if n != 1 else ''}"
                  + ("" if n < 2 else f"; paired difference {diff} (95 % CI, > 0 = {label} better), "
                                      f"better on {wins} of {n} seeds")
                  + f"; step {step}, {split}.")
        why = {
            "ahead": f"{label} is ahead of CE: ",
            "behind": f"{label} is behind CE: ",
            "no clear difference": f"No clear difference between {label} and CE (the CI includes 0): ",
            "tie at 0": f"{label} and CE tie at 0 exact match — neither answers anything exactly yet, so this says "
                        "nothing about NTL: ",
            "mixed": f"{label} is ahead on {name} but significantly worse on {', '.join(m.replace('_', ' ') for m in worse_elsewhere)}"
                     " — not a success: ",
            "one seed": f"One seed only, no confidence interval ({label} "
                        f"{'better' if d > 0 else 'worse' if d < 0 else 'equal'}): ",
        }[outcome]
        results.append(LossVerdict(loss, outcome, step, n, mean, mean_ce, d, ci, wins, why + detail))
    ntl = [r for r in results if r.loss in NTL_TRAINABLE]
    if any(r.outcome == "ahead" for r in ntl):
        box = "success"
    elif any(r.outcome in ("behind", "mixed") for r in ntl):
        box = "warning"
    else:
        box = "info"
    return Verdict(step, tuple(results), box, tuple(r.text for r in results))


def steps_until_table(histories: Histories, below: float, metric: str = "mape",
                      split: str = "interpolation") -> dict[str, dict[str, Any]]:
    """Per loss: steps until ``metric`` < ``below`` for each seed, their mean ± CI, and how many got there.

    Seeds that never got below the target within the run are counted in ``reached``/``n`` and left
    out of the mean (their step count is unknown, only larger than the run).
    """
    out: dict[str, dict[str, Any]] = {}
    for loss in dict.fromkeys(loss for loss, _ in histories):
        per_seed = {seed: steps_until(rows, below, metric, split) for (l, seed), rows in histories.items() if l == loss}
        reached = [v for v in per_seed.values() if v is not None]
        out[loss] = {**mean_ci(reached), "per_seed": per_seed, "reached": len(reached), "n": len(per_seed)}
    return out
