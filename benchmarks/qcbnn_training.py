"""Seconds per training epoch on the phantom (default settings) for every model of the comparison, threads 1 vs 2.

Target (issue 4): the default QCBNN phantom training (``python -m qcbnn_core train``, 30 epochs) in at most about
2 minutes on a 2-core CPU. Prints medians over interleaved repeats and the projected full-run time; not a test.

    .venv/bin/python benchmarks/qcbnn_training.py [--repeats 3] [--threads 1 2] [--models qcbnn,qcbnn::born,mlp,bnn,cnn]

Models are ``qcbnn_core.study`` specs: ``qcbnn`` = semi-implicit QCBNN (the default), ``qcbnn::born`` = Born machine
with the adversarial KL, ``mlp`` = the classical generator control.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from qcbnn_core.data import make_phantom
from qcbnn_core.ansatz import DEFAULT_PRESET
from qcbnn_core.study import parse_spec
from qcbnn_core.trainer import TrainConfig, Trainer


def one_epoch(data, spec: str, threads: int) -> float:
    """Wall time of one full epoch (training steps + validation scoring + weight snapshot)."""
    torch.set_num_threads(threads)
    trainer = Trainer(data, parse_spec(spec, DEFAULT_PRESET, "semi_implicit"), TrainConfig(device="cpu"))
    trainer.step(1)  # warm-up: first-call allocations
    t0 = time.perf_counter()
    trainer.epoch()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--models", default="qcbnn,qcbnn::born,mlp,bnn,cnn")
    args = ap.parse_args()
    data = make_phantom(seed=0)
    epochs = TrainConfig().epochs
    kinds = tuple(args.models.split(","))
    times: dict[tuple[str, int], list[float]] = {(k, t): [] for k in kinds for t in args.threads}
    for _ in range(args.repeats):  # interleaved, so a load spike hits every configuration alike
        for t in args.threads:
            for k in kinds:
                times[(k, t)].append(one_epoch(data, k, t))
    print(f"phantom, default TrainConfig, {args.repeats} interleaved repeats; medians")
    print(f"load average {os.getloadavg()[0]:.1f} (the machine may be shared)")
    print(f"{'model':<14}{'threads':>8}{'s/epoch':>10}{f'x{epochs} epochs (s)':>20}")
    for (k, t), v in times.items():
        med = statistics.median(v)
        print(f"{k:<14}{t:>8}{med:>10.2f}{med * epochs:>20.1f}")
    t0 = args.threads[0]
    if "qcbnn" in kinds and "bnn" in kinds:
        q, b = statistics.median(times[("qcbnn", t0)]), statistics.median(times[("bnn", t0)])
        print(f"ratio QCBNN/BNN per epoch (threads={t0}): {q / b:.2f}")
        if len(args.threads) > 1:
            t1 = args.threads[1]
            print(f"ratio QCBNN threads={t1} / threads={t0}: {statistics.median(times[('qcbnn', t1)]) / q:.2f}")


if __name__ == "__main__":
    main()
