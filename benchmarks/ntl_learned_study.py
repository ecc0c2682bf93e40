"""The second pre-registered NTL study, in the learned regime (protocol: docs/ntl_learned_study_protocol.md).

Phases (each resumes where it stopped: runs already in the runs file are skipped, each finished run is
appended at once):

* ``calibrate`` — stage 0: CE on seed 0 of every candidate setting until ≥ 50 % interpolation exact match
  or 300 CPU-seconds; the budgets follow by the rule in :func:`ntl_core.learned_study.budget`.
* ``select``    — stage 1: CE, CE + NTL-WAS, CE + NTL-MSE on seeds 0–4 of every kept setting, at its budget.
* ``confirm``   — stage 2: seeds 200–211 of the selected setting (all losses) and of the contrast.
* ``report``    — prints the tables.

    OMP_NUM_THREADS=1 python benchmarks/ntl_learned_study.py calibrate --jobs 2
    OMP_NUM_THREADS=1 python benchmarks/ntl_learned_study.py select --jobs 2
    OMP_NUM_THREADS=1 python benchmarks/ntl_learned_study.py confirm --jobs 2
    python benchmarks/ntl_learned_study.py report
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from labkit.study_log import current_commit
from ntl_core import learned_study as plan

OUT = Path(__file__).resolve().parent.parent / "docs" / "ntl_learned_study"


def train_run(stage: str, setting: str, loss: str, seed: int, steps: int, every: int) -> dict:
    """One run. Stage 0 trains until the target or the CPU cap; later stages train ``steps`` steps.

    Budgets count CPU time of the training steps only (evaluation and data generation excluded), so the
    figure is what the run costs on one idle thread, whatever else the machine does.
    """
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from ntl_core.training import TrainConfig, Trainer

    trainer = Trainer(TrainConfig.from_dict(plan.config(setting, loss, seed, steps)))
    for split in trainer.available_splits:  # generate (or read) every data set before the clock starts
        trainer.sample_questions(1, split)
    trainer.task.sample_train(np.random.default_rng(0), 1)
    curve, cpu, wall0 = [trainer.evaluate("interpolation")], 0.0, time.perf_counter()
    while True:
        c0 = time.process_time()
        trainer.step(every)
        cpu += time.process_time() - c0
        curve.append(trainer.evaluate("interpolation"))
        if stage == "0":
            if curve[-1]["exact_match"] >= plan.EM_TARGET or cpu >= plan.CPU_CAP_S:
                break
        elif trainer.step_count >= steps:
            break
    return {"stage": stage, "setting": setting, "loss": loss, "seed": seed, "steps": trainer.step_count,
            "every": every, "config": plan.config(setting, loss, seed, steps), "curve": curve,
            "extrapolation": trainer.evaluate("extrapolation") if "extrapolation" in trainer.available_splits else None,
            "cpu_seconds": cpu, "wall_seconds": time.perf_counter() - wall0}


def run_jobs(jobs: list[tuple], path: Path, workers: int) -> None:
    """Train ``(stage, setting, loss, seed, steps, every)`` jobs not yet in ``path``, appending each result."""
    done = {(r["stage"], r["setting"], r["loss"], r["seed"]) for r in plan.load(path)}
    todo = [j for j in jobs if j[:4] not in done]
    print(f"{len(todo)} runs to train ({len(jobs) - len(todo)} already in {path.name})", flush=True)
    commit, started = current_commit(), time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(train_run, *job) for job in todo]
        for i, future in enumerate(as_completed(futures), 1):
            run = {**future.result(), "commit": commit}
            with path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(run) + "\n")
            final = run["curve"][-1]
            print(f"[{i}/{len(todo)} {time.perf_counter() - started:6.0f} s] stage {run['stage']} {run['setting']:>16} "
                  f"{run['loss']:>3} seed {run['seed']:>3}: step {run['steps']}, EM {final['exact_match']:.3f}, "
                  f"MAE {final['mae']:.4g}, {run['cpu_seconds']:.0f} CPU-s ({run['wall_seconds']:.0f} s wall)", flush=True)


def _fmt(stat: dict, digits: int = 3) -> str:
    return f"{stat['mean']:+.{digits}f} [{stat['low']:+.{digits}f}, {stat['high']:+.{digits}f}]"


def report(runs: list[dict]) -> None:
    print("## Stage 0 — calibration (CE, seed 0)\n\n| setting | s50 | CPU-s/step | budget B |\n|---|---|---|---|")
    for r in (r for r in runs if r["stage"] == "0"):
        s50 = plan.first_step_at(r["curve"])
        b = plan.budget(r)
        print(f"| {r['setting']} | {s50 if s50 is not None else 'never'} (EM {r['curve'][-1]['exact_match']:.3f} at "
              f"{r['steps']}) | {r['cpu_seconds'] / r['steps'] * 1000:.1f} ms | {b if b else 'dropped'} |")
    for title, stats in (("Stage 1 — selection (seeds 0–4)", (plan.selection(runs) or {}).get("stats", [])),
                         ("Stage 2 — confirmation (seeds 200–211)", plan.confirmation(runs))):
        if not stats:
            continue
        print(f"\n## {title}\n\n| setting | X | n | EM CE | EM X | d_EM (X − CE) | ln MAE_CE/MAE_X | steps saved | "
              "censored CE/X | d_EM extrapolation | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|")
        for s in stats:
            print(f"| {s['setting']} | {s['loss']} | {s['d_em']['n']} | {s['em_ce']['mean']:.3f} | {s['em_x']['mean']:.3f} | "
                  f"{_fmt(s['d_em'])} | {_fmt(s['log_mae_ratio'], 2)} | {_fmt(s['steps_saved'], 0)} | "
                  f"{s['censored_ce']}/{s['censored_x']} | {_fmt(s['d_em_extrapolation'])} | {s['verdict']} |")
    choice = plan.selection(runs)
    if choice:
        print(f"\nselection: {choice['selected']} (robust: {choice['robust']}), contrast {choice['contrast']}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("phase", choices=("calibrate", "select", "confirm", "report"))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--dir", type=Path, default=OUT)
    args = p.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / "runs.jsonl"
    runs = plan.load(path)
    if args.phase == "calibrate":
        run_jobs([("0", s, "ce", 0, 0, plan.calibration_interval(s)) for s in plan.SETTINGS], path, args.jobs)
    elif args.phase == "select":
        kept = {s: b for s, b in plan.budgets(runs).items() if b is not None}
        if len(plan.budgets(runs)) < len(plan.SETTINGS):
            print("stage 0 is not complete: run calibrate first", file=sys.stderr)
            return 1
        print(f"budgets: {plan.budgets(runs)}", flush=True)
        run_jobs([("1", s, loss, seed, b, plan.eval_every(b)) for seed in plan.SELECTION_SEEDS
                  for s, b in kept.items() for loss in plan.LOSSES], path, args.jobs)
    elif args.phase == "confirm":
        choice = plan.selection(runs)
        if choice is None:
            print("stage 1 is not complete: run select first", file=sys.stderr)
            return 1
        budgets = plan.budgets(runs)
        jobs = plan.confirmation_jobs(choice)
        print(f"selection {choice['selected']} (robust: {choice['robust']}), contrast {choice['contrast']}: {jobs}")
        run_jobs([("2", s, loss, seed, budgets[s], plan.eval_every(budgets[s])) for seed in plan.CONFIRMATION_SEEDS
                  for s, loss in jobs], path, args.jobs)
    report(plan.load(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
