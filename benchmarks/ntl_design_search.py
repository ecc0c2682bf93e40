"""Pre-registered search for a classroom setting where CE + NTL-WAS beats CE (protocol: docs/ntl_design_search_protocol.md).

One-factor-at-a-time design around a base setting (multiplication, 2-digit operands, normal answer
order, a fixed set of 3000 training pairs cycled for epochs, λ = 0.3, gpt2-tiny, gradient clipping
at 1.0): each variant changes one factor. Every (setting, loss, seed) run trains the same number of
optimiser steps and scores the interpolation split every ``EVAL_EVERY`` steps.

Phases:

* ``select``  — seeds 0–2 on every setting (amended from 0–4, see the protocol); the decision rule (``decide``) picks the winner and the
  contrast setting from these runs alone.
* ``confirm`` — seeds 100–104 on the two settings ``select`` picked (read from the JSON, not typed
  in), the numbers a preset may claim.
* ``report``  — prints the markdown tables of both phases from the JSON.
* ``gallery`` — writes the confirmation runs of the two confirmed settings as run directories
  (histories and summary, no weights) under ``gallery/ntl/`` for the lab's Replay tab.

Runs are appended to ``--json`` as each finishes, and runs already there are skipped, so an
interrupted search resumes where it stopped.

    python benchmarks/ntl_design_search.py select  --jobs 2 --json docs/ntl_design_search.json
    python benchmarks/ntl_design_search.py confirm --jobs 2 --json docs/ntl_design_search.json
    python benchmarks/ntl_design_search.py report  --json docs/ntl_design_search.json
    python benchmarks/ntl_design_search.py gallery --json docs/ntl_design_search.json
"""
from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from ntl_core.design_search import (CONFIRMATION_SEEDS, EVAL_EVERY, LOSSES, SELECTION_SEEDS, SETTINGS, STEPS,
                                   analyse, config, load, table)


def train_one(setting: str, loss: str, seed: int, threads: int) -> dict:
    """Train one run; the interpolation curve every EVAL_EVERY steps and the final extrapolation row."""
    import torch

    torch.set_num_threads(threads)
    from ntl_core.training import TrainConfig, Trainer

    trainer = Trainer(TrainConfig.from_dict(config(setting, loss, seed)))
    curve = [trainer.evaluate("interpolation")]
    while trainer.step_count < STEPS:
        trainer.step(EVAL_EVERY)
        curve.append(trainer.evaluate("interpolation"))
    extrapolation = trainer.evaluate("extrapolation")
    return {"setting": setting, "loss": loss, "seed": seed, "config": config(setting, loss, seed),
            "curve": curve, "extrapolation": extrapolation, "train_seconds": trainer.train_seconds}


def run_all(jobs: list[tuple[str, str, int]], path: Path, workers: int, threads: int) -> None:
    runs = load(path)
    done = {(r["setting"], r["loss"], r["seed"]) for r in runs}
    todo = [j for j in jobs if j not in done]
    print(f"{len(todo)} runs to train ({len(jobs) - len(todo)} already in {path})", flush=True)
    started = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        futures = {pool.submit(train_one, *job, threads): job for job in todo}
        for i, future in enumerate(as_completed(futures), 1):
            run = future.result()
            runs.append(run)
            path.write_text(json.dumps({"protocol": "docs/ntl_design_search_protocol.md", "runs": runs}))
            final = run["curve"][-1]
            print(f"[{i}/{len(todo)} {time.perf_counter() - started:6.0f} s] {run['setting']:>14} {run['loss']:>3} "
                  f"seed {run['seed']:>3}: EM {final['exact_match']:.3f} MAPE {final['mape']:.4f} "
                  f"({STEPS / run['train_seconds']:.1f} steps/s)", flush=True)


def write_gallery(path: Path, gallery: Path) -> None:
    """The confirmed settings' confirmation runs as run directories ``<gallery>/<setting>/<loss>-seed<k>/``.

    Histories are the search's evaluation rows (interpolation every EVAL_EVERY steps, extrapolation at
    the end); the search recorded no per-step training loss, so the replay's loss panel stays empty.
    """
    import shutil

    from labkit.strict_json import jsonable
    from ntl_core.runs import write_history
    from ntl_core.training import TrainConfig

    result = analyse(path)
    runs = load(path)
    for stats in result["confirmation"]:
        folder = gallery / f"search-{stats['setting']}-seeds-{CONFIRMATION_SEEDS[0]}-{CONFIRMATION_SEEDS[-1]}"
        shutil.rmtree(folder, ignore_errors=True)
        for run in runs:
            if run["setting"] == stats["setting"] and run["seed"] in CONFIRMATION_SEEDS:
                cfg = TrainConfig.from_dict(run["config"])
                write_history(folder / f"{run['loss']}-seed{run['seed']}", cfg, [*run["curve"], run["extrapolation"]])
        (folder / "summary.json").write_text(json.dumps(jsonable(stats), indent=2))
        print(f"wrote {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("phase", choices=("select", "confirm", "report", "gallery"))
    parser.add_argument("--gallery", type=Path, default=Path("gallery/ntl"))
    parser.add_argument("--json", type=Path, default=Path("docs/ntl_design_search.json"))
    parser.add_argument("--jobs", type=int, default=2, help="parallel runs (processes)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    args = parser.parse_args()
    if args.phase == "select":
        run_all([(name, loss, seed) for seed in SELECTION_SEEDS for name in SETTINGS for loss in LOSSES],
                args.json, args.jobs, args.threads)
    elif args.phase == "confirm":
        choice = analyse(args.json)["choice"]
        if choice is None:
            raise SystemExit("the selection phase is incomplete; run `select` first")
        picked = list(dict.fromkeys([choice["winner"] or choice["best_mean"], choice["contrast"]]))
        print(f"selection picked {choice}; confirming {picked} on seeds {CONFIRMATION_SEEDS}")
        run_all([(name, loss, seed) for seed in CONFIRMATION_SEEDS for name in picked for loss in LOSSES],
                args.json, args.jobs, args.threads)
    elif args.phase == "gallery":
        write_gallery(args.json, args.gallery)
    result = analyse(args.json)
    print("## Selection (seeds 0–2)\n\n" + table(result["selection"]))
    print(f"\ndecision: {result['choice']}")
    if result["confirmation"]:
        print("\n## Confirmation (seeds 100–104)\n\n" + table(result["confirmation"]))


if __name__ == "__main__":
    main()
