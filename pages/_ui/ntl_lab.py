"""Training-lab logic: one Trainer per (loss, seed), advanced together in time-bounded ticks.

On CUDA the runs train as one batched model (:class:`~ntl_core.ensemble.SeedEnsemble`) when they can
be stacked; elsewhere, and for a regression head or T5, as a loop over the Trainers.

Streamlit-free on purpose: a training worker builds the session (:func:`build_lab`), the page's live
fragment calls its ``tick`` through a run handle, and ``benchmarks/ntl_lab_overhead.py`` times the
very same call against bare ``Trainer.step``.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

from ntl_core.ensemble import SeedEnsemble
from ntl_core.deepmind import TASK_PREFIX
from ntl_core.models import MODEL_PRESETS
from ntl_core.objectives import loss_label
from ntl_core.training import Trainer, TrainConfig
from pages._ui.lockstep import LockstepSession

# One lockstep round (one step of every run) on a CPU worker costs about this many seconds per unit of
# layers × width² × batch × runs × digits: gpt2-medium, batch 256, 4 losses, 6-digit multiplication
# took 26.5 s per round on the 2-core class laptop (issue 12). Pause waits for the round in progress,
# so a CPU server refuses settings whose round would take more than CPU_ROUND_LIMIT_S.
CPU_SECONDS_PER_UNIT = 26.5 / (6 * 384 ** 2 * 256 * 4 * 6)
CPU_ROUND_LIMIT_S = 3.0
MAIN_SPLIT = "interpolation"


def member_name(loss: str, seed: int) -> str:
    """Name of one run in a session and in its tick reports, e.g. ``"was@1"``."""
    return f"{loss}@{seed}"


def by_key(histories: Mapping[str, Any]) -> dict[tuple[str, int], Any]:
    """``{"was@1": rows}`` -> ``{("was", 1): rows}``, the keys :mod:`ntl_core.verdict` and the plots read."""
    out = {}
    for name, rows in histories.items():
        loss, _, seed = name.rpartition("@")
        out[(loss, int(seed))] = rows
    return out


class LabSession(LockstepSession):
    """One comparison: every loss trained on each of k seeds; runs with the same seed share data order and init.

    Lives in a training worker (see :func:`build_lab`); the page receives tick reports and asks for
    sample answers and heatmaps (of the first seed's runs) by name. A lockstep round is one step of
    every run: on CPU a loop over the Trainers (measured faster there), on CUDA one batched step of
    the :class:`~ntl_core.ensemble.SeedEnsemble` when its members can be stacked; ``progress()["path"]``
    says which.

    Args:
        base: config shared by every run; its ``loss`` and ``seed`` are replaced per run and each run
            trains ``base.steps`` optimiser steps.
        losses: loss keys to compare, e.g. ``("ce", "was")``; at least one, no repeats.
        seeds: e.g. ``(0, 1, 2)``; default: ``base.seed`` alone.
        batched: passed to :class:`~ntl_core.ensemble.SeedEnsemble`; default: on CUDA when the runs
            can be stacked (GPT-2 token losses), else the loop.

    Raises:
        ValueError: on an empty/duplicated loss or seed list, zero steps, or a config that is invalid for
            one of the losses (the message of ``TrainConfig.__post_init__``/``Trainer`` is passed through).
    """

    def __init__(self, base: TrainConfig, losses: Sequence[str], seeds: Sequence[int] | None = None,
                 batched: bool | None = None):
        seeds = [base.seed] if seeds is None else [int(s) for s in seeds]
        if not losses:
            raise ValueError("choose at least one loss to train")
        if len(set(losses)) != len(losses):
            raise ValueError(f"each loss may appear once, got {list(losses)}")
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"choose at least one seed, each once; got {seeds}")
        if base.steps < 1:
            raise ValueError(f"steps must be at least 1, got {base.steps}")
        self.base = base
        self.total_steps = base.steps
        self.seeds = seeds
        self.ensemble: SeedEnsemble | None = SeedEnsemble(base, losses, seeds, batched)  # None once closed
        super().__init__({member_name(loss, seed): tr for (loss, seed), tr in self.ensemble.members.items()})

    @property
    def trainers(self) -> dict[str, Trainer]:
        """The first seed's run of each loss (samples and heatmaps show these)."""
        return {loss: tr for (loss, seed), tr in by_key(self.members).items() if seed == self.seeds[0]}

    def _round(self) -> None:
        # ValueError on a NaN/inf loss: the page shows it and pauses
        if self.ensemble.batched:
            self.ensemble.step(1, sync=False)  # the members' models are synced once per tick
        else:
            super()._round()

    def _advance(self, member: Trainer) -> None:
        member.step(1)

    def _after_rounds(self) -> None:
        if self.ensemble is not None:
            self.ensemble.sync()  # samples, heatmaps and evaluations read the members' own models

    def _done(self, member: Trainer) -> bool:
        return member.step_count >= self.total_steps

    def _history(self, member: Trainer) -> list[dict]:
        return member.history

    @property
    def current_step(self) -> int:
        """Steps completed by the slowest run (runs advance in lockstep, so all are equal between ticks)."""
        return min(tr.step_count for tr in self.members.values())

    def steps_done(self) -> int:
        return sum(tr.step_count for tr in self.members.values())

    def steps_planned(self) -> int:
        return self.total_steps * len(self.members)

    def progress(self) -> dict[str, Any]:
        first = next(iter(self.trainers.values()))
        return {**super().progress(), "step": self.current_step, "total_steps": self.total_steps,
                "path": self.ensemble.path, "splits": list(first.available_splits)}

    def evaluate(self, split: str = MAIN_SPLIT) -> dict[str, dict[str, float]]:
        """Held-out metrics of every run on ``split`` now."""
        return {name: tr.evaluate(split) for name, tr in self.members.items()}

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

    def close(self) -> None:
        self.ensemble = None  # batched: the stacked weights and their optimiser state go with the members
        super().close()


DM_LENGTH_UNITS = 10


def check_cpu_cost(base: TrainConfig, n_runs: int) -> None:
    """Refuse settings whose lockstep round would take much longer than a tick on a CPU worker.

    Raises:
        ValueError: with the estimate and what to lower.
    """
    size = MODEL_PRESETS[base.model]
    # Sequence length in "digit" units: a DeepMind question is a sentence; its steps took ~5x those of 2-digit
    # arithmetic (measured on gpt2-tiny, one thread), hence 10.
    length = DM_LENGTH_UNITS if base.task.startswith(TASK_PREFIX) else max(base.digits, 1)
    units = size.layers * size.dim ** 2 * base.batch_size * n_runs * length
    seconds = units * CPU_SECONDS_PER_UNIT
    if seconds > CPU_ROUND_LIMIT_S:
        raise ValueError(f"on this CPU server one step of all {n_runs} runs would take about {seconds:.0f} s "
                         f"(limit {CPU_ROUND_LIMIT_S:g} s, so that Pause answers quickly): choose a smaller model, "
                         "a smaller batch, fewer digits, fewer losses or fewer seeds")


def build_lab(base: TrainConfig, losses: Sequence[str], data_text: str | None = None,
              seeds: Sequence[int] | None = None, batched: bool | None = None) -> LabSession:
    """The worker-side factory of a :class:`LabSession`; an uploaded task file arrives as ``data_text``.

    The text is written to a temporary folder of the worker, removed when the session closes, so the
    web server keeps no upload folder and a remote worker (Ray) gets the data with the spec.
    """
    if data_text is None:
        return LabSession(base, losses, seeds, batched)
    folder = tempfile.mkdtemp(prefix="ntl_lab_")
    try:
        path = os.path.join(folder, "train.txt")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(data_text)
        lab = LabSession(base.replace(data_path=path), losses, seeds, batched)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    lab.cleanup.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    return lab
