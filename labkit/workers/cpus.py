"""Split a machine's cores between the web server and the training workers (Linux CPU affinity).

Why: the workers run at a lower priority (``nice``) so that they never slow the pages down; but then any
other program at normal priority takes the CPU from them (a live run measured 0.2 steps/s beside other
work, against 1.4 for the same run alone). With a split, the server keeps its own cores and the workers
run on theirs at normal priority: they no longer compete with the server, so they need no lower priority,
and they get the same share of their cores as any other program there.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class CpuSplit:
    """Which cores the web process may use, and which the training workers run on."""

    server: frozenset[int]
    training: frozenset[int]


def affinity_supported() -> bool:
    return hasattr(os, "sched_setaffinity")


def split_cpus(n_training: int, available: frozenset[int] | None = None) -> CpuSplit:
    """Give the training workers the last ``n_training`` of the ``available`` cores, the server the rest.

    Args:
        n_training: cores reserved for training (at least 1, and at least one core must be left).
        available: the cores to split (default: those this process may run on).

    Raises:
        ValueError: no affinity API here (macOS, Windows), or not enough cores for the split.
    """
    if not affinity_supported():
        raise ValueError("CPU affinity is not available on this OS (Linux only)")
    cores = sorted(os.sched_getaffinity(0) if available is None else available)
    if not 1 <= n_training < len(cores):
        raise ValueError(f"cannot reserve {n_training} of {len(cores)} usable core(s) for training: at least 1, "
                         "and at least one must be left for the web server")
    return CpuSplit(server=frozenset(cores[:-n_training]), training=frozenset(cores[-n_training:]))


def pin_process(cpus: frozenset[int]) -> None:
    """Move every thread of this process onto ``cpus`` (threads started later inherit it from their creator).

    ``sched_setaffinity(0, …)`` alone would pin only the calling thread.
    """
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except ProcessLookupError:  # the thread ended meanwhile
            pass
