"""The page's side of a training run that lives in a worker: mirrored histories, progress and views.

A :class:`LiveRun` is what a page keeps in ``st.session_state``: the spec it was built from, a
handle (opened only once a training slot is granted), the history rows and progress numbers that
ticks reported, and views fetched from the worker. The web process holds no model: when the run
finishes (or its worker is freed) the handle is closed and the page keeps drawing from what it has.
"""
from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from labkit.timing import TimingStore
from labkit.workers import RunHandle, RunSpec, backend_from_env, open_run
from pages._ui.lockstep import TickReport
from pages._ui.server_timing import server_timing
from pages._ui.slots import cpu_split_from_env, positive_int_from_env

VIEWS_BUDGET_S = 60.0  # an evaluation (test-split results, sample answers) may take this long, then it is stopped


def open_from_env(spec: RunSpec) -> RunHandle:
    """A handle on the server's configured backend (local worker process unless told otherwise).

    ``APP_WORKER_IDLE_S`` (default 300): a paused run's worker exits after this long without a call.
    ``APP_TRAINING_CPUS`` (default unset): the workers' own cores (:func:`~pages._ui.slots.cpu_split_from_env`).
    ``APP_RAY_NUM_GPUS`` (default 0): the GPU share each Ray actor asks for, e.g. 0.25 for four runs per GPU.
    """
    backend, address = backend_from_env()
    if backend == "process":
        idle_s = float(positive_int_from_env("APP_WORKER_IDLE_S", 300))
        split = cpu_split_from_env()
        if split is not None:  # own cores: no lower priority needed to keep the pages fast
            return open_run(spec, "process", idle_s=idle_s, nice=0, cpus=split.training)
        return open_run(spec, "process", idle_s=idle_s)
    if backend == "ray":
        return open_run(replace(spec, num_gpus=gpu_share_from_env()), backend, address)
    return open_run(spec, backend, address)


def gpu_share_from_env() -> float:
    """``APP_RAY_NUM_GPUS`` as a number in [0, 1]; anything else is 0 (CPU actors)."""
    try:
        share = float(os.environ.get("APP_RAY_NUM_GPUS", "0") or 0)
    except ValueError:
        return 0.0
    return share if 0.0 <= share <= 1.0 else 0.0


class ModelFreed(RuntimeError):
    """The run's worker is gone (finished, idle too long, or freed); only its curves remain."""


class LiveRun:
    """A run trained elsewhere, as the page sees it.

    Args:
        spec: how to build the run in a worker.
        meta: what the page needs to know about it without asking the worker (its config, its settings key).
        opener: makes the handle (the server's backend by default; tests pass the in-process one).
        timing: where each tick's wall and CPU time is recorded (the server's store by default).
    """

    def __init__(self, spec: RunSpec, meta: dict[str, Any] | None = None,
                 opener: Callable[[RunSpec], RunHandle] = open_from_env, timing: TimingStore | None = None):
        self.spec, self.meta = spec, dict(meta or {})
        self._opener = opener
        self.id = uuid.uuid4().hex[:12]  # names the run in the server's timing record and log
        self._timing = timing
        self.handle: RunHandle | None = None
        self.running = False
        self.rows: dict[str, list[dict]] = {}
        self.progress: dict[str, Any] = {}
        self.last_tick: TickReport | None = None
        self.views: dict[str, Any] = {}
        self._cache: dict[str, tuple[Any, Any]] = {}
        self._ticks = 0
        # Streamlit's fast reruns run a new script thread while the previous one is still inside a tick:
        # one conversation with the worker at a time, and a tick's rows merged before the next call starts.
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- state the page draws
    @property
    def started(self) -> bool:
        return bool(self.progress.get("steps_done"))

    @property
    def finished(self) -> bool:
        return bool(self.progress.get("finished"))

    @property
    def has_model(self) -> bool:
        return self.handle is not None and self.handle.alive

    def histories(self) -> dict[str, list[dict]]:
        return self.rows

    @property
    def n_rows(self) -> int:
        """History rows mirrored so far, all members together (the figures change only when this grows)."""
        return sum(len(rows) for rows in self.rows.values())

    # ---------------------------------------------------------------- talking to the worker
    def open(self) -> None:
        """Start the worker (the model is built there; the first call waits for it).

        Raises:
            ModelFreed: the run had trained and its worker is gone (a new worker would start from step 0).
        """
        with self._lock:
            if self.handle is not None and self.handle.alive:
                return
            if self.started or self.handle is not None:
                raise ModelFreed("this run's model was freed")
            self.handle = self._opener(self.spec)

    def _merge(self, report: TickReport) -> None:
        for name, rows in report.rows.items():
            self.rows.setdefault(name, []).extend(rows)
        self.progress = dict(report.progress)

    def tick(self, budget_s: float) -> TickReport:
        """One bounded chunk of training in the worker; its new rows and progress are mirrored here."""
        with self._lock:
            if not self.has_model:
                raise ModelFreed("this run's model was freed")
            report = self.handle.call("tick", budget_s)
            (self._timing or server_timing()).tick(self.id, report.steps, report.seconds, report.cpu_seconds,
                                                   report.progress.get("members", 1))
            self._merge(report)
            self.last_tick = report
            self._ticks += 1
            return report

    def query(self, method: str, *args: Any) -> Any:
        """Ask the worker's run for a view (e.g. sample answers), within ``VIEWS_BUDGET_S``.

        Raises:
            ModelFreed: the worker is gone.
        """
        with self._lock:
            if not self.has_model:
                raise ModelFreed("this run's model was freed")
            handle = self.handle
            previous = getattr(handle, "call_timeout_s", None)
            if previous is not None:
                handle.call_timeout_s = VIEWS_BUDGET_S
            try:
                return handle.call(method, *args)
            finally:
                if previous is not None and handle.alive:
                    handle.call_timeout_s = previous

    def cached(self, name: str, compute: Callable[[], Any], version: Any = None) -> Any:
        """``compute()`` again only when ``version`` changed (default: after every tick); views are not free."""
        version = self._ticks if version is None else version
        hit = self._cache.get(name)
        if hit is None or hit[0] != version:
            hit = self._cache[name] = (version, compute())
        return hit[1]

    def settle(self, views_method: str | None) -> None:
        """Fetch the run's views (e.g. test-split results) now, while the caller still holds the slot."""
        if views_method and self.has_model:
            self.views = self.query(views_method)

    def free(self) -> None:
        """Close the worker (finish, Reset, eviction); the mirrored curves and views stay."""
        # No lock: free() runs from finalizers on the server's event loop, which must not wait for a tick
        # another thread is in; closing never waits, and that tick then ends with "worker gone".
        self.running = False
        handle, self.handle = self.handle, None
        if handle is not None:
            handle.close()

    def __del__(self) -> None:  # the browser session ended and Streamlit dropped its state
        try:
            self.free()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass
