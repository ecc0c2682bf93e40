"""Training-lab logic: several Trainers that differ only in their loss, advanced together in time-bounded ticks.

Streamlit-free on purpose: a training worker builds the session (:func:`build_lab`), the page's live
fragment calls its ``tick`` through a run handle, and ``benchmarks/ntl_lab_overhead.py`` times the
very same call against bare ``Trainer.step``.
"""
from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ntl_core.history import eval_rows
from ntl_core.loss_registry import NTL_TRAINABLE
from ntl_core.models import MODEL_PRESETS
from ntl_core.objectives import loss_label
from ntl_core.training import Trainer, TrainConfig
from pages._ui.lockstep import LockstepSession

BASELINE = "ce"
# One lockstep round (one step of every run) on a CPU worker costs about this many seconds per unit of
# layers × width² × batch × runs × digits: gpt2-medium, batch 256, 4 losses, 6-digit multiplication
# took 26.5 s per round on the 2-core class laptop (issue 12). Pause waits for the round in progress,
# so a CPU server refuses settings whose round would take more than CPU_ROUND_LIMIT_S.
CPU_SECONDS_PER_UNIT = 26.5 / (6 * 384 ** 2 * 256 * 4 * 6)
CPU_ROUND_LIMIT_S = 3.0
NTL_LOSSES = NTL_TRAINABLE
MAIN_SPLIT = "interpolation"


class LabSession(LockstepSession):
    """One side-by-side comparison: the same config (seed, data order, init) trained with each loss.

    Lives in a training worker (see :func:`build_lab`); the page receives tick reports and asks for
    sample answers and heatmaps by name.

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
        super().__init__({loss: Trainer(base.replace(loss=loss)) for loss in losses})

    @property
    def trainers(self) -> dict[str, Trainer]:
        return self.members

    def _advance(self, member: Trainer) -> None:
        member.step(1)  # ValueError on a NaN/inf loss: the page shows it and pauses

    def _done(self, member: Trainer) -> bool:
        return member.step_count >= self.total_steps

    def _history(self, member: Trainer) -> list[dict]:
        return member.history

    @property
    def current_step(self) -> int:
        """Steps completed by the slowest run (runs advance in lockstep, so all are equal between ticks)."""
        return min(tr.step_count for tr in self.trainers.values())

    def steps_done(self) -> int:
        return sum(tr.step_count for tr in self.trainers.values())

    def progress(self) -> dict[str, Any]:
        first = next(iter(self.trainers.values()))
        return {**super().progress(), "step": self.current_step, "total_steps": self.total_steps,
                "device": str(first.device), "splits": list(first.available_splits)}

    def evaluate(self, split: str = MAIN_SPLIT) -> dict[str, dict[str, float]]:
        """Held-out metrics of every run on ``split`` now."""
        return {loss: tr.evaluate(split) for loss, tr in self.trainers.items()}

    def samples(self, split: str, k: int) -> dict[str, list[str]]:
        """``k`` held-out questions of ``split``, their true answers and each run's answer (✓/✗ marked)."""
        first = next(iter(self.trainers.values()))
        pairs = first.sample_questions(k, split)
        table = {"question": [q for q, _ in pairs], "true answer": [a for _, a in pairs]}
        for loss, tr in self.trainers.items():
            answers = tr.predict([q for q, _ in pairs])
            table[loss_label(loss)] = [f"{got} {'✓' if got == a else '✗'}" for got, (_, a) in zip(answers, pairs)]
        return table

    def heatmap(self, question: str, answer: str) -> tuple[dict[str, Any], str]:
        """Per digit-token run: the answer-digit distributions for ``question``; and ``answer`` as written."""
        token_runs = {loss: tr for loss, tr in self.trainers.items() if loss != "reg"}  # reg has no digit distribution
        first = next(iter(self.trainers.values()))
        return ({loss: tr.answer_digit_probs(question) for loss, tr in token_runs.items()},
                first.task.to_target(answer))


def check_cpu_cost(base: TrainConfig, n_runs: int) -> None:
    """Refuse settings whose lockstep round would take much longer than a tick on a CPU worker.

    Raises:
        ValueError: with the estimate and what to lower.
    """
    size = MODEL_PRESETS[base.model]
    units = size.layers * size.dim ** 2 * base.batch_size * n_runs * max(base.digits, 1)
    seconds = units * CPU_SECONDS_PER_UNIT
    if seconds > CPU_ROUND_LIMIT_S:
        raise ValueError(f"on this CPU server one step of all {n_runs} runs would take about {seconds:.0f} s "
                         f"(limit {CPU_ROUND_LIMIT_S:g} s, so that Pause answers quickly): choose a smaller model, "
                         "a smaller batch, fewer digits or fewer losses")


def build_lab(base: TrainConfig, losses: Sequence[str], data_text: str | None = None) -> LabSession:
    """The worker-side factory of a :class:`LabSession`; an uploaded task file arrives as ``data_text``.

    The text is written to a temporary folder of the worker, removed when the session closes, so the
    web server keeps no upload folder and a remote worker (Ray) gets the data with the spec.
    """
    if data_text is None:
        return LabSession(base, losses)
    folder = tempfile.mkdtemp(prefix="ntl_lab_")
    try:
        path = os.path.join(folder, "train.txt")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(data_text)
        lab = LabSession(base.replace(data_path=path), losses)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    lab.cleanup.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    return lab


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
    evals = {loss: {row["step"]: row for row in eval_rows(hist, split)} for loss, hist in histories.items()}
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
