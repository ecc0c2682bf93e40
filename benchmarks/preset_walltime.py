"""Wall time of a preset's comparison as the lab trains it: every (loss, seed) run side by side.

Trains the preset's losses × seeds as one :class:`~ntl_core.ensemble.SeedEnsemble` (a loop over the
runs on CPU, as in the lab's worker) for ``--steps`` steps with evaluations on the preset's schedule,
and projects the wall time of the full budget from the measured rate. Prints the load average too:
on a shared machine the projection is only as good as the CPU it got.

    python benchmarks/preset_walltime.py --preset cpu-classroom --steps 200 --threads 1
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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    preset = PRESET_INFO[args.preset]
    cfg = preset.config.replace(device=args.device)
    ensemble = SeedEnsemble(cfg, preset.losses, preset.seeds)
    ensemble.step(5)  # warm-up (first steps allocate)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    ensemble.step(args.steps)
    seconds = time.perf_counter() - started
    runs = len(ensemble.members)
    rate = args.steps / seconds  # lockstep steps (each = one step of every run) per second
    print(f"preset {preset.id}: {runs} runs ({', '.join(preset.losses)} × seeds {list(preset.seeds)}), "
          f"{args.threads} thread(s), device {ensemble.device}, load average {load_before:.1f}→{os.getloadavg()[0]:.1f}")
    print(f"{args.steps} steps of every run in {seconds:.1f} s: {rate:.2f} steps/s per run, "
          f"{rate * runs:.1f} steps/s in total (evaluations every {cfg.eval_every} steps included)")
    print(f"projected wall time for the preset's {cfg.steps} steps: {cfg.steps / rate:.0f} s "
          f"({cfg.steps / rate / 60:.1f} min)")


if __name__ == "__main__":
    main()
