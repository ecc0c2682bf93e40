"""Does the CPU-classroom preset show the NTL effect? Exact match along training, losses × seeds.

Trains every (loss, seed) of a preset for ``--steps`` optimiser steps, several runs in parallel
processes (``--jobs``, each with ``--threads`` torch threads), evaluating every ``eval_every`` steps.
Prints, per loss, the interpolation exact match at each evaluation step (mean over seeds, and the
per-seed values at the preset's own step budget), and writes every history to ``--json``.
Steps, not seconds, are the budget, so the numbers do not depend on how busy the machine is;
measure the preset's steps/s separately with ``benchmarks/train_throughput.py``.

    python benchmarks/preset_effect.py --seeds 0,1,2 --steps 3000 --jobs 8 --json effect.json
"""
from __future__ import annotations

import argparse
import json
import statistics
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from ntl_core.history import eval_rows


def _train(cfg_dict: dict, steps: int, threads: int) -> list[dict]:
    import torch

    torch.set_num_threads(threads)
    from ntl_core.training import TrainConfig, Trainer

    trainer = Trainer(TrainConfig.from_dict(cfg_dict))
    trainer.step(steps)
    return trainer.history


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # a bare string such as addition


def main() -> None:
    from ntl_core.training import PRESETS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="cpu-classroom", choices=list(PRESETS))
    parser.add_argument("--losses", default="ce,was,mse")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=0, help="default: the preset's step budget")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--split", default="interpolation")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a preset field, e.g. --set digits=4 (VALUE parsed as JSON when it can be)")
    parser.add_argument("--json", type=Path, help="histories, rewritten as each run finishes")
    args = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in args.set)
    preset = PRESETS[args.preset].replace(device=args.device, **{k: _value(v) for k, v in overrides.items()})
    steps = args.steps or preset.steps
    runs = [(loss, int(seed)) for seed in args.seeds.split(",") for loss in args.losses.split(",")]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(_train, preset.replace(loss=loss, seed=seed).to_dict(), steps, args.threads): (loss, seed)
                   for loss, seed in runs}
        histories = {}
        for future in as_completed(futures):  # save as we go: a run cut short loses only itself
            histories[futures[future]] = future.result()
            if args.json:
                args.json.write_text(json.dumps({f"{loss}-seed{seed}": h for (loss, seed), h in histories.items()}))
    histories = {run: histories[run] for run in runs}
    curves = {run: {r["step"]: r["exact_match"] for r in eval_rows(h, args.split)}
              for run, h in histories.items()}
    eval_steps = sorted(next(iter(curves.values())))
    losses = list(dict.fromkeys(loss for loss, _ in runs))
    print(f"{args.preset} {overrides or ''}: {args.split} exact match, mean over seeds {args.seeds}")
    print(f"{'step':>6}" + "".join(f"{loss:>8}" for loss in losses))
    for step in eval_steps:
        print(f"{step:>6}" + "".join(
            f"{statistics.mean(c[step] for (l, _), c in curves.items() if l == loss):8.3f}" for loss in losses))
    budget = max(s for s in eval_steps if s <= preset.steps) if any(s <= preset.steps for s in eval_steps) else None
    if budget is not None:
        print(f"at the preset's budget ({budget} steps), per seed:")
        for loss in losses:
            print(f"  {loss:>4}: " + " ".join(f"{c[budget]:.3f}" for (l, _), c in curves.items() if l == loss))


if __name__ == "__main__":
    main()
