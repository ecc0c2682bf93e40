"""Server-wide cap on concurrent training runs, shared by every training page.

A teacher's laptop serves ~30 students; each live training run takes a CPU core, so only
``max_runs`` sessions may train at once. Sessions that vanish (closed tab) never call
``release``; their slot expires after ``ttl_s`` seconds without a heartbeat.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable


class TrainingSlots:
    """Thread-safe registry of which sessions currently hold a training slot."""

    def __init__(self, max_runs: int, ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        if max_runs < 1:
            raise ValueError(f"max_runs must be at least 1, got {max_runs}")
        self.max_runs = max_runs
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last_seen: dict[str, float] = {}

    def _expire(self, now: float) -> None:
        for key in [k for k, t in self._last_seen.items() if now - t > self.ttl_s]:
            del self._last_seen[key]

    def acquire(self, holder: str) -> bool:
        """Take (or refresh) a slot for ``holder``; False when all slots are held by others."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            if holder in self._last_seen or len(self._last_seen) < self.max_runs:
                self._last_seen[holder] = now
                return True
            return False

    def release(self, holder: str) -> None:
        with self._lock:
            self._last_seen.pop(holder, None)

    def in_use(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._last_seen)


def positive_int_from_env(name: str, default: int) -> int:
    """A server setting from the environment; unset or not a number gives ``default``, minimum 1."""
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        return default
    return max(1, value)


def max_runs_from_env(default: int = 4) -> int:
    """Cap from ``APP_MAX_TRAINING_RUNS`` (a teacher can raise it on a GPU box)."""
    return positive_int_from_env("APP_MAX_TRAINING_RUNS", default)


def torch_threads_from_env(default: int = 1) -> int:
    """Torch intra-op threads for the app from ``APP_TORCH_THREADS``.

    One by default: the server trains several sessions at once in script threads, and
    with the browser on the same CPU a multi-threaded pool was measured 9x slower per step
    (0.11x of bare-CLI speed with 2 threads, 0.92x with 1, on a 2-core machine).
    """
    return positive_int_from_env("APP_TORCH_THREADS", default)
