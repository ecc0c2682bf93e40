"""Training-lab logic: several Trainers that differ only in their loss, advanced together in time-bounded ticks.

Streamlit-free on purpose: the page's live fragment calls :meth:`LabSession.tick`, and
``benchmarks/ntl_lab_overhead.py`` times the very same call against bare ``Trainer.step``.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ntl_core.loss_registry import NTL_TRAINABLE
from ntl_core.objectives import loss_label
from ntl_core.training import Trainer, TrainConfig

BASELINE = "ce"
NTL_LOSSES = NTL_TRAINABLE
MAIN_SPLIT = "interpolation"


@dataclass(frozen=True)
class TickReport:
    """What one tick did: optimiser steps summed over all runs, and the wall time they took."""

    steps: int
    seconds: float

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0


class LabSession:
    """One side-by-side comparison: the same config (seed, data order, init) trained with each loss.

    Args:
        base: config shared by every run; its ``loss`` is replaced per run and each run trains
            ``base.steps`` optimiser steps.
        losses: loss keys to compare, e.g. ``("ce", "was")``; at least one, no repeats.

    Raises:
        ValueError: on an empty/duplicated loss list, zero steps, or a config that is invalid for one
            of the losses (the message of ``TrainConfig.__post_init__``/``Trainer`` is passed through).
    """

    def __init__(self, base: TrainConfig, losses: Sequence[str]):
        if not losses:
            raise ValueError("choose at least one loss to train")
        if len(set(losses)) != len(losses):
            raise ValueError(f"each loss may appear once, got {list(losses)}")
        if base.steps < 1:
            raise ValueError(f"steps must be at least 1, got {base.steps}")
        self.base = base
        self.total_steps = base.steps
        self.trainers: dict[str, Trainer] = {loss: Trainer(replace(base, loss=loss)) for loss in losses}
        self.running = False
        self.last_tick: TickReport | None = None
        self._views: dict[str, tuple[Any, Any]] = {}

    @property
    def losses(self) -> list[str]:
        return list(self.trainers)

    @property
    def step(self) -> int:
        """Steps completed by the slowest run (runs advance in lockstep, so all are equal between ticks)."""
        return min(tr.step_count for tr in self.trainers.values())

    @property
    def finished(self) -> bool:
        return self.step >= self.total_steps

    @property
    def device(self) -> str:
        return str(next(iter(self.trainers.values())).device)

    def tick(self, budget_s: float) -> TickReport:
        """Train every unfinished run one step at a time, round robin, until ``budget_s`` seconds have passed.

        Round robin keeps the runs at the same step, so the curves stay comparable while training and a
        Pause between ticks leaves them aligned. At least one round is done even with a tiny budget.
        """
        start = time.perf_counter()
        steps = 0
        while not self.finished:
            for trainer in self.trainers.values():
                if trainer.step_count < self.total_steps:
                    trainer.step(1)  # ValueError on a NaN/inf loss: the page shows it and pauses
                    steps += 1
            if time.perf_counter() - start >= budget_s:
                break
        self.last_tick = TickReport(steps, time.perf_counter() - start)
        return self.last_tick

    def histories(self) -> dict[str, list[dict]]:
        """Metric history of each run, keyed by loss."""
        return {loss: tr.history for loss, tr in self.trainers.items()}

    def cached(self, name: str, version: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` again only when ``version`` changed (sample answers and heatmaps are not free)."""
        hit = self._views.get(name)
        if hit is None or hit[0] != version:
            self._views[name] = (version, compute())
        return self._views[name][1]


@dataclass(frozen=True)
class Verdict:
    """How each NTL run compares with plain CE at the latest common evaluation step."""

    step: int | None
    lines: tuple[str, ...]
    ntl_ahead: bool | None  # some NTL run beats CE; None: nothing to compare (no CE run, or no evaluation yet)


def _fmt(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3g}"


def verdict(histories: Mapping[str, Sequence[Mapping[str, Any]]], seed: int, split: str = MAIN_SPLIT) -> Verdict:
    """Say plainly whether adding NTL beat CE on this seed, from the metrics (exact match first, MAE second).

    Compares every non-CE run with the CE run at the latest evaluation step that all runs share.
    A tie on exact match is decided by MAE (lower is better); an exact tie on both is reported as a tie.
    """
    if BASELINE not in histories or len(histories) < 2:
        return Verdict(None, ("Add CE and at least one other loss to get a verdict against the baseline.",), None)
    evals = {loss: {row["step"]: row for row in hist if row.get("split") == split} for loss, hist in histories.items()}
    common = set.intersection(*(set(rows) for rows in evals.values()))
    if not common:
        return Verdict(None, ("No evaluation yet: the verdict appears after the first evaluation step.",), None)
    step = max(common)
    ce = evals[BASELINE][step]
    lines = []
    any_ahead = False
    for loss, rows in evals.items():
        if loss == BASELINE:
            continue
        row = rows[step]
        em, ce_em = row["exact_match"], ce["exact_match"]
        mae, ce_mae = row["mae"], ce["mae"]
        if em != ce_em:
            ahead = em > ce_em
        elif mae != ce_mae:
            ahead = mae < ce_mae
        else:
            ahead = None
        outcome = {True: "is ahead of", False: "is NOT ahead of", None: "ties with"}[ahead]
        lines.append(
            f"{loss_label(loss)} {outcome} CE on seed {seed} at step {step}: exact match "
            f"{_fmt(em)} vs {_fmt(ce_em)}, MAE {_fmt(mae)} vs {_fmt(ce_mae)} ({split})."
        )
        any_ahead = any_ahead or (loss in NTL_LOSSES and bool(ahead))
    has_ntl = any(loss in NTL_LOSSES for loss in histories)
    return Verdict(step, tuple(lines), any_ahead if has_ntl else None)
