"""Many independent runs (a sweep over seeds) through the same handles: :func:`map_runs`.

Each item becomes one run, ``fn(item)``, behind a :class:`~labkit.workers.RunHandle` on the chosen
backend, ``jobs`` at a time; with ``"ray"`` the cluster schedules them, so ``--ray auto --seeds 0-19``
fans a sweep out over its machines. Results come back in the order of ``items``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import RunSpec, open_run


class OneShot:
    """A run whose whole work is ``fn(item)``, done by :meth:`evaluate` (so any handle can carry it)."""

    def __init__(self, fn: Callable[[Any], Any], item: Any):
        self.fn, self.item = fn, item

    def step(self, n: int = 1) -> list:
        return []

    def evaluate(self) -> Any:
        return self.fn(self.item)


def map_runs(fn: Callable[[Any], Any], items: Iterable[Any], backend: str = "inprocess", jobs: int = 1,
             ray_address: str | None = None, on_result: Callable[[Any], None] | None = None) -> list:
    """``[fn(item) for item in items]``, each in its own run on ``backend``, ``jobs`` at a time.

    Args:
        fn: a module-level function (it is pickled by reference for other processes).
        items: picklable arguments, one per run.
        backend: ``"inprocess"``, ``"process"`` or ``"ray"``.
        jobs: runs at once (threads here, each waiting on its worker).
        ray_address: the cluster for ``"ray"``.
        on_result: called with each result, in order, as soon as it and those before it are done.

    Raises:
        ValueError: ``jobs < 1``, an unknown backend, Ray missing, or the first run's ``ValueError``.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    items = list(items)
    # Whole runs take minutes: no per-call timeout, and the workers keep normal priority (no web server here).
    options = {"nice": 0, "call_timeout_s": None} if backend == "process" else \
        {"call_timeout_s": None} if backend == "ray" else {}

    def one(item: Any) -> Any:
        with open_run(RunSpec(OneShot, {"fn": fn, "item": item}), backend, ray_address, **options) as run:
            return run.evaluate()

    if jobs == 1:
        out = []
        for item in items:
            out.append(one(item))
            if on_result:
                on_result(out[-1])
        return out
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(one, item) for item in items]
        out = []
        for fut in futures:
            out.append(fut.result())
            if on_result:
                on_result(out[-1])
        return out
