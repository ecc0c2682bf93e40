"""The web process's timing record (one per server) and what the pages say from it.

The store itself is :class:`labkit.timing.TimingStore` (Streamlit-free, read back by the benchmarks); the
log line and the ``?debug=1`` panel are in :mod:`pages._ui.server_panel`.
"""
from __future__ import annotations

import threading

from labkit.timing import RunRate, TimingStore

_STORE: TimingStore | None = None
_STORE_LOCK = threading.Lock()


def server_timing() -> TimingStore:
    """The web process's one store (made on first use, from the environment)."""
    global _STORE
    with _STORE_LOCK:
        if _STORE is None:
            _STORE = TimingStore.from_env()
        return _STORE


# A worker that got under 60 % of the CPU it could use spent over 40 % of its ticks waiting for a core.
BUSY_SHARE = 0.6
# Judge from at least this much tick time: a worker's start-up and one slow tick are not a trend.
MIN_TICK_SECONDS = 5.0


def busy_note(rate: RunRate, expected_share: float, steps_left: int, since_s: float) -> str | None:
    """The page's plain message when other programs on the machine slow a run down, else None.

    Args:
        rate: the run's measured speed (:meth:`TimingStore.run_rates`).
        expected_share: the CPU share its worker could get if only the class ran (its threads, or the
            training cores divided among the runs training).
        steps_left: optimiser steps, all models together, until the run ends and gives its final verdict.
        since_s: the window ``rate`` was measured over (for the message).
    """
    if rate.cpu_share is None or rate.tick_seconds < MIN_TICK_SECONDS or rate.cpu_share >= BUSY_SHARE * expected_share:
        return None
    text = (f"This machine is busy with other programs: over the last {since_s:.0f} s the training worker got "
            f"{rate.cpu_share:.0%} of a CPU core (it could use {min(expected_share, 1.0):.0%}), so training runs at "
            f"≈ {rate.steps_per_s:.1f} steps/s per model.")
    if rate.steps_per_s > 0 and steps_left > 0:
        minutes = steps_left / (rate.steps_per_s * rate.models) / 60
        text += f" At this rate the final verdict needs ≈ {max(1, round(minutes))} more min."
    return text + " Closing other programs (or a teacher's APP_TRAINING_CPUS) gives it back its speed."
