"""Server-wide training slots with a fair queue, shared by every training page.

Each live training run takes a worker (a CPU core, or a share of a GPU), so only ``max_runs``
sessions may train at once; the others wait in a first-come, first-served queue and start by
themselves when a slot frees. Sessions that vanish (closed tab) never call ``release``: a queue place
expires after ``queue_ttl_s`` seconds without a heartbeat (a queued page beats every couple of
seconds), a slot after ``ttl_s`` (the training page beats on every tick, but a worker that is still
starting on a busy machine can keep the first tick waiting for a minute or more: a short expiry would
hand the slot to the next student while the first run still trains, measured; the worker reaper
releases a closed tab's slot sooner).
"""
from __future__ import annotations

import functools
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable

from labkit.workers.cpus import CpuSplit, split_cpus


class QueueFull(RuntimeError):
    """The waiting list is at its cap (``APP_MAX_QUEUED``)."""


class TrainingSlots:
    """Thread-safe registry of who holds a training slot and who waits for one.

    Args:
        max_runs: slots (concurrent training runs).
        ttl_s: a holder that has not been heard of for this long loses its slot.
        queue_ttl_s: a waiting session that has not been heard of for this long loses its place.
        clock: monotonic seconds (tests pass a fake).
        max_queued: longest waiting list; past it :meth:`request` raises :class:`QueueFull`.
    """

    def __init__(self, max_runs: int, ttl_s: float = 300.0, clock: Callable[[], float] = time.monotonic,
                 max_queued: int = 30, queue_ttl_s: float = 30.0):
        if max_runs < 1:
            raise ValueError(f"max_runs must be at least 1, got {max_runs}")
        self.max_runs = max_runs
        self.ttl_s, self.queue_ttl_s = ttl_s, queue_ttl_s
        self.max_queued = max_queued
        self._clock = clock
        self._lock = threading.Lock()
        self._last_seen: dict[str, float] = {}  # holders
        self._since: dict[str, float] = {}  # when each holder got its slot
        self._queue: deque[str] = deque()
        self._queue_seen: dict[str, float] = {}
        self._holds: deque[float] = deque(maxlen=20)  # recent slot holding times, for the wait estimate

    def _expire(self, now: float) -> None:
        for key in [k for k, t in self._last_seen.items() if now - t > self.ttl_s]:
            self._drop_holder(key, now)
        for key in [k for k, t in self._queue_seen.items() if now - t > self.queue_ttl_s]:
            self._queue.remove(key)
            del self._queue_seen[key]

    def _drop_holder(self, holder: str, now: float) -> None:
        if self._last_seen.pop(holder, None) is not None:
            self._holds.append(now - self._since.pop(holder))

    def request(self, holder: str) -> int:
        """Take or refresh a slot (returns 0), or join/refresh the queue (returns the 1-based position).

        A slot goes to whoever is first in the queue: a newcomer never overtakes a waiting session.

        Raises:
            QueueFull: no slot free and ``max_queued`` sessions already wait.
        """
        with self._lock:
            now = self._clock()
            self._expire(now)
            if holder in self._last_seen:
                self._last_seen[holder] = now
                return 0
            if holder not in self._queue_seen:
                if len(self._queue) >= self.max_queued:
                    raise QueueFull(f"{len(self._queue)} sessions are already waiting")
                self._queue.append(holder)
            self._queue_seen[holder] = now
            free = self.max_runs - len(self._last_seen)
            position = self._queue.index(holder) + 1
            if position <= free:
                self._queue.remove(holder)
                del self._queue_seen[holder]
                self._last_seen[holder] = self._since[holder] = now
                return 0
            return position - max(free, 0)

    def acquire(self, holder: str) -> bool:
        """Take (or refresh) a slot right now; False when none is free (then ``holder`` waits in the queue)."""
        try:
            return self.request(holder) == 0
        except QueueFull:
            return False

    def release(self, holder: str) -> None:
        """Give the slot back, or leave the queue."""
        with self._lock:
            self._drop_holder(holder, self._clock())
            if holder in self._queue_seen:
                self._queue.remove(holder)
                del self._queue_seen[holder]

    def in_use(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._last_seen)

    def waiting(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._queue)

    def wait_estimate_s(self, position: int) -> float | None:
        """Rough wait for queue ``position``: whole rounds of ``max_runs`` runs × the median recent holding time.

        None until some run has given its slot back (nothing to estimate from).
        """
        with self._lock:
            holds = sorted(self._holds)
        if not holds or position < 1:
            return None
        median = holds[len(holds) // 2]
        return math.ceil(position / self.max_runs) * median


def positive_int_from_env(name: str, default: int) -> int:
    """A server setting from the environment; unset or not a number gives ``default``, minimum 1."""
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        return default
    return max(1, value)


def cpu_workers_from_env(default: int = 4) -> int:
    """Concurrent CPU training runs: ``APP_CPU_WORKERS`` (``APP_MAX_TRAINING_RUNS``, its old name, also works)."""
    fallback = positive_int_from_env("APP_MAX_TRAINING_RUNS", default)
    return positive_int_from_env("APP_CPU_WORKERS", fallback)


def gpu_workers_from_env(default: int = 8) -> int:
    """Concurrent training runs sharing the GPU(s): ``APP_GPU_WORKERS``."""
    return positive_int_from_env("APP_GPU_WORKERS", default)


def max_queued_from_env(default: int = 30) -> int:
    """Longest waiting list: ``APP_MAX_QUEUED``."""
    return positive_int_from_env("APP_MAX_QUEUED", default)


def torch_threads_from_env(default: int = 1) -> int:
    """Torch intra-op threads for the app and for each training worker from ``APP_TORCH_THREADS``.

    One by default: several runs train at once on few cores, and with the browser on the same CPU a
    multi-threaded pool was measured 9x slower per step (0.11x of bare-CLI speed with 2 threads,
    0.92x with 1, on a 2-core machine).
    """
    return positive_int_from_env("APP_TORCH_THREADS", default)


@functools.cache  # once, before the server pins itself: later the server's own mask would be split again
def cpu_split_from_env() -> CpuSplit | None:
    """``APP_TRAINING_CPUS=N``: the training workers get the last N cores at normal priority, the web server
    the others (Linux). Unset or 0: no split (workers anywhere, at a lower priority than the server).

    A value that cannot be used (not a whole number, no CPU affinity on this OS, too few cores) is logged
    once and ignored: a teacher's typo must not stop the class.
    """
    raw = os.environ.get("APP_TRAINING_CPUS", "").strip()
    if raw in ("", "0"):
        return None
    problem = "not a whole number of cores"
    if raw.isdigit():
        try:
            return split_cpus(int(raw))
        except ValueError as err:
            problem = str(err)
    logging.getLogger(__name__).error("APP_TRAINING_CPUS=%s ignored (%s): training workers run on any core",
                                      raw, problem)
    return None
