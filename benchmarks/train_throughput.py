"""Training steps per second of a preset: CE against CE + NTL-WAS (and NTL-MSE), interleaved.

Every round trains each loss for ``--steps`` optimiser steps on its own trainer (same seed, same
data), in a rotated order so that background load hits all losses alike. Prints the median
steps/s of each loss and each loss's time per step relative to the baseline (target ≤ 1.05), both
as ratio of medians and as median of per-round ratios. Evaluation is off: only optimiser steps are
timed. Runs on the auto-picked device (CUDA when present), or ``--device``.

Baselines (both are printed; ``was0`` is the default "same code path" one):

* ``was0`` — the fused CE + NTL path with λ = 0: the same kernel, softmax and NTL computation as the
  NTL runs, only the weight differs. Its ratio isolates what λ > 0 changes (nothing in the forward,
  the NTL gradient in the backward), i.e. two runs on *the same CE code path*.
* ``ce`` — plain ``F.cross_entropy``, what a CE-only model would train with: the end-to-end price
  of adding NTL, which also includes the fused kernel computing the NTL term at all.

    python benchmarks/train_throughput.py                      # CPU classroom preset
    python benchmarks/train_throughput.py --preset gpu-multiplication --device cuda
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from labkit.device import describe_device
from ntl_core.training import PRESETS, Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="cpu-classroom", choices=list(PRESETS))
    parser.add_argument("--losses", default="was0,ce,was,mse", help="was0 = fused CE + NTL-WAS path with λ = 0")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=30, help="optimiser steps per loss per round")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    losses = args.losses.split(",")
    base = PRESETS[args.preset].replace(eval_every=0, device=args.device)
    trainers = {loss: Trainer(base.replace(loss="was", ntl_weight=0.0) if loss == "was0" else base.replace(loss=loss))
                for loss in losses}
    print(f"preset {args.preset!r}, device {describe_device(trainers[losses[0]].device)}, "
          f"torch threads {torch.get_num_threads()}, {args.rounds} rounds × {args.steps} steps")
    sync = torch.cuda.synchronize if trainers[losses[0]].device.type == "cuda" else (lambda: None)
    for tr in trainers.values():
        tr.step(args.warmup)
    rates: dict[str, list[float]] = {loss: [] for loss in losses}
    for r in range(args.rounds):
        order = losses[r % len(losses):] + losses[: r % len(losses)]
        for loss in order:
            sync()
            started = time.perf_counter()
            trainers[loss].step(args.steps)  # .item() per step syncs CUDA too
            sync()
            rates[loss].append(args.steps / (time.perf_counter() - started))
    for loss in losses:
        print(f"{loss:>4}: median {statistics.median(rates[loss]):7.2f} steps/s  (rounds: "
              + " ".join(f"{x:.1f}" for x in rates[loss]) + ")")
    for baseline in [b for b in ("was0", "ce") if b in rates]:
        for loss in [x for x in losses if x not in ("was0", baseline)]:
            of_medians = statistics.median(rates[baseline]) / statistics.median(rates[loss])
            per_round = statistics.median(c / x for c, x in zip(rates[baseline], rates[loss]))
            print(f"time per step {loss}/{baseline}: {of_medians:.3f} (ratio of medians), "
                  f"{per_round:.3f} (median per-round ratio)")


if __name__ == "__main__":
    main()
