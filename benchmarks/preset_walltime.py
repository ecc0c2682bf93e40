"""Wall time of a preset's comparison as the lab trains it: every (loss, seed) run side by side.

Trains the preset's losses × seeds as one :class:`~ntl_core.ensemble.SeedEnsemble` (a loop over the
runs on CPU, as in the lab's worker) for ``--steps`` steps with evaluations on the preset's schedule,
and projects the wall time of the full budget from the measured rate. Prints the load average too:
on a shared machine the projection is only as good as the CPU it got.

    python benchmarks/preset_walltime.py --preset cpu-classroom --steps 200 --threads 1
    python benchmarks/preset_walltime.py --preset gpu-multiplication --losses ce,was,mse --device cuda --compare-batched

``--compare-batched`` also times the same runs as one batched (vmapped) ensemble against the loop, both
without evaluations, interleaved over ``--rounds`` (the GPU target: batched ≥ 5× the loop's steps/s).
"""
from __future__ import annotations

import argparse
import os
import time

import torch

from ntl_core.ensemble import SeedEnsemble
from ntl_core.training import PRESET_INFO


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="cpu-classroom", choices=list(PRESET_INFO))
    parser.add_argument("--steps", type=int, default=200, help="steps measured (evaluations included)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the app's worker uses 1)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--losses", help="comma-separated (default: the preset's)")
    parser.add_argument("--compare-batched", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    preset = PRESET_INFO[args.preset]
    cfg = preset.config.replace(device=args.device)
    losses = args.losses.split(",") if args.losses else list(preset.losses)
    if args.compare_batched:
        return compare_batched(cfg, losses, list(preset.seeds), args.steps, args.rounds)
    ensemble = SeedEnsemble(cfg, losses, preset.seeds)
    ensemble.step(5)  # warm-up (first steps allocate)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    ensemble.step(args.steps)
    seconds = time.perf_counter() - started
    runs = len(ensemble.members)
    rate = args.steps / seconds  # lockstep steps (each = one step of every run) per second
    print(f"preset {preset.id}: {runs} runs ({', '.join(losses)} × seeds {list(preset.seeds)}), "
          f"{args.threads} thread(s), device {ensemble.device}, load average {load_before:.1f}→{os.getloadavg()[0]:.1f}")
    print(f"{args.steps} steps of every run in {seconds:.1f} s: {rate:.2f} steps/s per run, "
          f"{rate * runs:.1f} steps/s in total (evaluations every {cfg.eval_every} steps included)")
    print(f"projected wall time for the preset's {cfg.steps} steps: {cfg.steps / rate:.0f} s "
          f"({cfg.steps / rate / 60:.1f} min)")


def compare_batched(cfg, losses: list[str], seeds: list[int], steps: int, rounds: int) -> None:
    """Total steps/s of the loop against the batched ensemble, evaluation off, interleaved rounds."""
    cfg = cfg.replace(eval_every=0)
    ensembles = {"loop": SeedEnsemble(cfg, losses, seeds, batched=False),
                 "batched": SeedEnsemble(cfg, losses, seeds, batched=True)}
    sync = torch.cuda.synchronize if ensembles["loop"].device.type == "cuda" else (lambda: None)
    for ens in ensembles.values():
        ens.step(3)  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in ensembles}
    for r in range(rounds):
        for name in (("loop", "batched") if r % 2 == 0 else ("batched", "loop")):
            sync()
            started = time.perf_counter()
            ensembles[name].step(steps)
            sync()
            rates[name].append(steps * len(ensembles[name].members) / (time.perf_counter() - started))
    runs = len(ensembles["loop"].members)
    print(f"{runs} runs ({', '.join(losses)} × seeds {seeds}), device {ensembles['loop'].device}, "
          f"torch threads {torch.get_num_threads()}, {rounds} rounds × {steps} steps")
    for name, values in rates.items():
        print(f"{name:>8}: median {sorted(values)[len(values) // 2]:.1f} steps/s in total "
              f"(rounds: {' '.join(f'{v:.1f}' for v in values)})")
    ratio = sorted(b / a for a, b in zip(rates["loop"], rates["batched"]))[rounds // 2]
    print(f"batched / loop total steps/s: {ratio:.2f} (median per-round ratio; GPU target ≥ 5)")


if __name__ == "__main__":
    main()
