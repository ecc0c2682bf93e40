"""The run in a spawned worker process: the web server only sends requests and draws the answers.

Why a process per run: training in the web server's threads starved it (opening another page took
36-55 s with four runs going, measured). A worker runs at a lower OS priority (``os.nice``) with its
own torch thread count, so the server stays responsive, and its memory goes back to the OS when it
exits. A worker exits when it is closed, when its handle is garbage-collected (the browser session
ended), when the server dies (its pipe closes) and when nobody has called it for ``idle_s`` seconds.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import threading
import weakref
from typing import Any

from .handle import RunHandle, RunSpec, WorkerError, call_target, raise_remote, remote_error

_CTX = mp.get_context("spawn")  # fork would copy the web server's threads and torch state


def _pin_all_threads(cpus: frozenset[int]) -> None:
    """Pin every thread of this process to ``cpus``: sched_setaffinity(0) moves only the calling thread, and
    unpickling the spec may already have started threads (a module that imports torch starts its pool)."""
    tids = os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else ["0"]
    for tid in tids:
        try:
            os.sched_setaffinity(int(tid), cpus)
        except (ProcessLookupError, PermissionError):
            pass  # a thread that ended meanwhile; new threads inherit the main thread's affinity


def _serve(conn, spec: RunSpec, nice: int, idle_s: float | None, cpus: frozenset[int] | None = None) -> None:
    """Worker main loop: build the run, then answer ``(method, args, kwargs)`` requests until told to stop."""
    if cpus:
        _pin_all_threads(cpus)
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass
    import torch

    torch.set_num_threads(max(1, spec.threads))
    try:
        target = spec.build()
    except Exception as exc:  # noqa: BLE001 - every failure must reach the caller, not a log
        conn.send(("err", remote_error(exc)))
        return
    conn.send(("ok", None))
    try:
        while conn.poll(idle_s):
            try:
                request = conn.recv()
            except EOFError:  # the server is gone
                break
            if request is None:
                break
            method, args, kwargs = request
            try:
                conn.send(("ok", call_target(target, method, args, kwargs)))
            except Exception as exc:  # noqa: BLE001
                conn.send(("err", remote_error(exc)))
    finally:
        if hasattr(target, "close"):
            target.close()


def _stop(process, conn) -> None:
    """Ask the worker to stop and reap it in the background (also run by the handle's finalizer).

    Never waits here: the finalizer can run on the web server's event-loop thread (a dropped session's
    state), where waiting for a busy worker stalls every page (a likely cause of a CI failure).
    """
    try:
        conn.send(None)
    except (OSError, ValueError):
        pass
    threading.Thread(target=_reap, args=(process, conn), daemon=True, name="worker-reap").start()


def _reap(process, conn) -> None:
    process.join(timeout=5)
    if process.is_alive():
        process.kill()
        process.join(timeout=5)
    conn.close()


class ProcessHandle(RunHandle):
    """A run in its own spawned process.

    Args:
        spec: what to build there.
        nice: added to the worker's OS niceness (the web server keeps priority; 0 for the CLIs). Not Linux's
            idle class: on a busy machine a worker there can get no CPU at all and hold its slot (a likely
            cause of a CI failure).
        idle_s: the worker exits after this many seconds without a request (None: never).
        start_timeout_s: how long the first call waits for the worker to import and build the run.
        call_timeout_s: how long one call may take before the worker is killed (None: no limit).
        cpus: run the worker on these cores only (Linux; see :mod:`labkit.workers.cpus`); None: anywhere.
    """

    backend = "process"

    def __init__(self, spec: RunSpec, nice: int = 10, idle_s: float | None = 600.0, start_timeout_s: float = 300.0,
                 call_timeout_s: float | None = 600.0, cpus: frozenset[int] | None = None):
        self._conn, child = _CTX.Pipe()
        self._process = _CTX.Process(target=_serve, args=(child, spec, nice, idle_s, cpus), daemon=True)
        self._process.start()
        child.close()
        self._started = False
        # One request in flight at a time: Streamlit's fast reruns start a new script thread while the old one
        # still waits for a tick, and two callers reading one pipe take each other's answers (seen: a tick got
        # the sample table, the page a TickReport).
        self._lock = threading.Lock()
        self.start_timeout_s, self.call_timeout_s = start_timeout_s, call_timeout_s
        self._finalizer = weakref.finalize(self, _stop, self._process, self._conn)

    @property
    def alive(self) -> bool:
        return self._finalizer.alive and self._process.is_alive()

    def _receive(self, timeout: float | None) -> Any:
        try:
            ready = self._conn.poll(timeout)
        except (OSError, EOFError, ValueError):
            ready = False
        if not ready:
            gone = not self._process.is_alive()
            self.close()
            if gone:
                raise WorkerError("WorkerGone", "the training worker stopped (it was idle too long, ran out of "
                                                "memory or crashed)")
            raise WorkerError("Timeout", f"the training worker did not answer within {timeout:g} s")
        try:
            status, payload = self._conn.recv()
        except (EOFError, OSError):
            self.close()
            raise WorkerError("WorkerGone", "the training worker stopped (it ran out of memory or crashed)") from None
        if status == "err":
            raise_remote(*payload)
        return payload

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self._call(method, args, kwargs)

    def _call(self, method: str, args: tuple, kwargs: dict) -> Any:
        if not self._finalizer.alive:
            raise WorkerError("WorkerGone", "the run was closed")
        if not self._started:
            try:
                self._receive(self.start_timeout_s)
            except Exception:
                self.close()
                raise
            self._started = True
        try:
            self._conn.send((method, args, kwargs))
        except (OSError, ValueError):
            self.close()
            raise WorkerError("WorkerGone", "the training worker stopped") from None
        return self._receive(self.call_timeout_s)

    def close(self) -> None:
        self._finalizer()
