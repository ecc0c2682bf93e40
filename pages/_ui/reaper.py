"""Close the training workers of browser sessions that went away.

A closed tab never presses Reset, and Streamlit drops a disconnected session's state only lazily, so
without this a worker would live until its idle timeout (minutes) holding hundreds of MB. The reaper
checks every ``period_s`` whether each tracked run's session still has a connection; a session gone
for longer than ``grace_s`` (a brief network drop is forgiven) has its worker closed.
"""
from __future__ import annotations

import ctypes
import gc
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any


class WorkerReaper:
    """Tracks ``(session id, run)`` pairs and frees the runs of sessions without a connection.

    Args:
        is_active: whether a Streamlit session id still has a live connection.
        grace_s: how long a session may be disconnected before its run is freed.
        period_s: how often the background sweep runs (None: no thread; call :meth:`sweep` yourself).
        clock: monotonic seconds (tests pass a fake).
    """

    def __init__(self, is_active: Callable[[str], bool], grace_s: float = 60.0, period_s: float | None = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        self._is_active, self.grace_s, self._clock = is_active, grace_s, clock
        self._lock = threading.Lock()
        self._runs: list[tuple[str, weakref.ref, Callable[[], None]]] = []
        self._gone_since: dict[str, float] = {}
        if period_s is not None:
            threading.Thread(target=self._loop, args=(period_s,), daemon=True, name="worker-reaper").start()

    def track(self, session_id: str, run: Any, release: Callable[[], None] = lambda: None) -> None:
        """Free ``run`` (anything with ``free()``) and call ``release`` (give its slot back) once ``session_id``
        has been gone for ``grace_s``."""
        with self._lock:
            self._runs.append((session_id, weakref.ref(run), release))

    def sweep(self) -> int:
        """One pass: free the runs of sessions gone too long; returns how many were freed."""
        now = self._clock()
        freed, keep = [], []
        with self._lock:
            for entry in self._runs:
                session_id, ref, release = entry
                run = ref()
                if run is None:
                    release()
                    continue
                if self._is_active(session_id):
                    self._gone_since.pop(session_id, None)
                    keep.append(entry)
                elif now - self._gone_since.setdefault(session_id, now) >= self.grace_s:
                    freed.append((run, release))
                else:
                    keep.append(entry)
            self._runs = keep
            live = {s for s, _, _ in keep}
            self._gone_since = {s: t for s, t in self._gone_since.items() if s in live}
        for run, release in freed:
            run.free()
            release()
        return len(freed)

    def _loop(self, period_s: float) -> None:
        while True:
            time.sleep(period_s)
            try:
                self.sweep()
                give_memory_back()
            except Exception:  # noqa: BLE001 - the reaper must outlive any one bad run
                pass


def give_memory_back() -> None:
    """Collect garbage and return free heap pages to the OS (glibc keeps them otherwise: the server's RSS
    stayed gigabytes above idle after sessions ended, measured in issue 12)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass
