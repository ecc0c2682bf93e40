"""Train several losses on several seeds and summarise: mean ± 95 % CI, paired differences vs CE.

Runs that share a seed share the data order and the initial weights (see :class:`Trainer`), so
the per-seed difference "loss − CE" isolates the effect of the loss; it is summarised with a
paired t-interval and a two-sided paired t-test.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import stats

from labkit.callbacks import Callback
from labkit.device import pick_device
from labkit.stats import t_interval
from labkit.workers.pool import map_runs
from ntl_core.ensemble import SeedEnsemble, stackable
from ntl_core.history import eval_rows
from ntl_core.train_config import TrainConfig
from ntl_core.trainer import Trainer

METRICS = ("exact_match", "digit_acc", "mae", "mape", "r2")
HIGHER_IS_BETTER = {"exact_match": True, "digit_acc": True, "mae": False, "mape": False, "r2": True}


@dataclass
class RunResult:
    """Final held-out metrics of one (loss, seed) run."""

    loss: str
    seed: int
    final: dict[str, dict[str, float]]  # split -> metric -> value
    steps: int
    train_seconds: float
    steps_per_second: float
    history: list[dict] = field(default_factory=list, repr=False)


def mean_ci(values: list[float], level: float = 0.95) -> dict[str, float]:
    """Mean and half-width of the Student-t confidence interval (None, NaN and ±inf dropped).

    Returns:
        ``{"mean", "ci95", "n"}``; ``ci95`` is NaN for fewer than two values. See :func:`labkit.stats.t_interval`.
    """
    ci = t_interval(values, level)
    return {"mean": ci.mean, "ci95": ci.half_width, "n": ci.n}


def paired(values: list[float], baseline: list[float], higher_is_better: bool) -> dict[str, float]:
    """Per-seed differences ``values − baseline``: mean ± CI, wins and a paired t-test p-value."""
    pairs = [(v, b) for v, b in zip(values, baseline) if v is not None and b is not None
             and math.isfinite(v) and math.isfinite(b)]
    diffs = [v - b for v, b in pairs]
    out = mean_ci(diffs)
    wins = sum((d > 0) if higher_is_better else (d < 0) for d in diffs)
    p_value = math.nan
    if len(diffs) >= 2 and np.std(diffs) > 0:
        p_value = float(stats.ttest_rel([v for v, _ in pairs], [b for _, b in pairs]).pvalue)
    return {"mean_diff": out["mean"], "ci95": out["ci95"], "n": out["n"], "wins": int(wins), "p_value": p_value}


def steps_until(history: list[dict], below: float, metric: str = "mape", split: str = "interpolation") -> int | None:
    """The first evaluated step at which ``metric`` on ``split`` is below ``below`` (None: never).

    The paper's sample-efficiency measure ("epochs until the relative error is below 0.5 %"),
    here in optimiser steps; its resolution is the run's evaluation interval.
    """
    for row in eval_rows(history, split):
        value = row.get(metric)
        if value is not None and math.isfinite(value) and value < below:
            return int(row["step"])
    return None


def _result(trainer: Trainer) -> RunResult:
    """Final metrics of a trained run (every split evaluated at the last step, once)."""
    final = {}
    for split in trainer.available_splits:
        done = [r for r in eval_rows(trainer.history, split) if r["step"] == trainer.step_count]
        final[split] = done[-1] if done else trainer.evaluate(split)
    final = {s: {m: row[m] for m in (*METRICS, "valid")} for s, row in final.items()}
    cfg = trainer.cfg
    return RunResult(cfg.loss, cfg.seed, final, trainer.step_count, trainer.train_seconds,
                     trainer.step_count / trainer.train_seconds if trainer.train_seconds else 0.0, trainer.history)


def train_and_save(job: tuple[TrainConfig, int, str | None, bool]) -> RunResult:
    """One ``(config, steps, out, weights)`` run, saved to ``out/<loss>-seed<seed>/`` when ``out`` is given
    (with its checkpoint when ``weights``): a worker's job."""
    cfg, steps, out, weights = job
    trainer = Trainer(cfg)
    if steps:
        trainer.step(steps)
    result = _result(trainer)
    if out is not None:
        trainer.save(Path(out) / f"{cfg.loss}-seed{cfg.seed}", weights)
    return result


def run_comparison(base: TrainConfig, losses: list[str], seeds: list[int], steps: int,
                   out: str | Path | None = None,
                   callbacks: Callable[[TrainConfig], list[Callback]] = lambda cfg: [],
                   batched: bool | None = None, backend: str = "inprocess", jobs: int = 1,
                   ray_address: str | None = None,
                   on_result: Callable[[RunResult], None] | None = None, weights: bool = True) -> list[RunResult]:
    """Train every loss on every seed (seed-major, so a partial result is still paired).

    Args:
        base: shared configuration; ``loss`` and ``seed`` are replaced per run.
        losses: e.g. ``["ce", "was", "mse"]``.
        seeds: e.g. ``[0, 1, 2]``.
        steps: optimiser steps per run.
        out: when given, each run is saved to ``out/<loss>-seed<seed>/`` (on a Ray cluster: a path every
            node can write, e.g. shared storage), with its checkpoint when ``weights``.
        callbacks: builds the callbacks of one run (e.g. a tqdm bar); in-process, unbatched runs only.
        batched: train all runs as one :class:`~ntl_core.ensemble.SeedEnsemble` (one vmapped model);
            default: on CUDA when every run is a GPT-2 token loss, in-process. Results equal separate runs.
        backend: ``"inprocess"`` (one run after the other, here), ``"process"`` (``jobs`` local worker
            processes) or ``"ray"`` (actors on the cluster at ``ray_address``); see :mod:`labkit.workers`.
        jobs: runs at once for the ``process``/``ray`` backends.
        ray_address: e.g. ``"auto"`` or ``"ray://head:10001"``.
        on_result: called with each finished run's result, in order (progress for the parallel backends).
    """
    if backend != "inprocess" or jobs > 1:
        todo = [(base.replace(loss=loss, seed=seed, steps=steps), steps, None if out is None else str(out), weights)
                for seed in seeds for loss in losses]
        return map_runs(train_and_save, todo, "process" if backend == "inprocess" else backend, jobs, ray_address,
                        on_result)
    if batched is None:
        batched = pick_device(base.device).type == "cuda" and stackable(base, losses)
    if batched:
        ensemble = SeedEnsemble(base.replace(steps=steps), losses, seeds, batched=True)
        if steps:
            ensemble.step(steps)
        trainers = list(ensemble.members.values())
    else:
        trainers = []
        for seed in seeds:
            for loss in losses:
                cfg = base.replace(loss=loss, seed=seed, steps=steps)
                cbs = callbacks(cfg)
                trainer = Trainer(cfg, cbs)
                if steps:
                    trainer.step(steps)
                for cb in cbs:
                    getattr(cb, "close", lambda: None)()
                trainers.append(trainer)
    results = []
    for trainer in trainers:
        results.append(_result(trainer))
        if out is not None:
            trainer.save(Path(out) / f"{trainer.cfg.loss}-seed{trainer.cfg.seed}", weights)
        if on_result:
            on_result(results[-1])
    return results


def summarize(results: list[RunResult], baseline: str = "ce") -> dict:
    """Per loss, split and metric: ``mean``/``ci95``/``n``/``values``; and paired diffs vs ``baseline``.

    Returns:
        ``{"summary": {loss: {split: {metric: {...}}}}, "paired_vs_<baseline>": {loss: {split: {metric: {...}}}}}``
        (the paired part is empty when ``baseline`` was not trained).
    """
    losses = list(dict.fromkeys(r.loss for r in results))
    seeds = sorted({r.seed for r in results})
    by = {(r.loss, r.seed): r for r in results}

    def values(loss: str, split: str, metric: str) -> list[float | None]:
        return [by[(loss, s)].final.get(split, {}).get(metric) if (loss, s) in by else None for s in seeds]

    splits = list(dict.fromkeys(s for r in results for s in r.final))
    summary = {loss: {split: {m: {**mean_ci(values(loss, split, m)), "values": values(loss, split, m)}
                              for m in METRICS} for split in splits} for loss in losses}
    paired_part = {}
    if baseline in losses:
        paired_part = {loss: {split: {m: paired(values(loss, split, m), values(baseline, split, m), HIGHER_IS_BETTER[m])
                                      for m in METRICS} for split in splits}
                       for loss in losses if loss != baseline}
    return {"summary": summary, f"paired_vs_{baseline}": paired_part}
