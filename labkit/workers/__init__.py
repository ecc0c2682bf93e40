"""Training runs behind one interface, wherever they run: :func:`open_run` returns a :class:`RunHandle`.

Backends: ``"inprocess"`` (notebooks, tests), ``"process"`` (a spawned worker per run, the app's
default) and ``"ray"`` (an actor per run on a Ray cluster). :func:`backend_from_env` reads the
server's choice: ``APP_RAY_ADDRESS`` set → Ray; else ``APP_WORKER_BACKEND`` (``process``/``inprocess``).
"""
from __future__ import annotations

import os

from .handle import RunHandle, RunSpec, WorkerError
from .inprocess import InProcessHandle

BACKENDS = ("inprocess", "process", "ray")


def backend_from_env() -> tuple[str, str | None]:
    """``(backend, ray address)`` the server was started with.

    Raises:
        ValueError: an unknown ``APP_WORKER_BACKEND``.
    """
    address = os.environ.get("APP_RAY_ADDRESS", "").strip()
    if address:
        return "ray", address
    backend = os.environ.get("APP_WORKER_BACKEND", "process").strip() or "process"
    if backend not in BACKENDS[:2]:
        raise ValueError(f"APP_WORKER_BACKEND must be 'process' or 'inprocess', got {backend!r}")
    return backend, None


def open_run(spec: RunSpec, backend: str = "inprocess", ray_address: str | None = None, **options) -> RunHandle:
    """Build the run described by ``spec`` on ``backend``.

    Args:
        spec: factory and arguments of the run.
        backend: one of ``BACKENDS``.
        ray_address: the cluster for ``"ray"`` (``"auto"``, ``"ray://host:10001"``; None/"local" starts one).
        options: passed to the backend's handle (e.g. ``nice``, ``idle_s`` for ``"process"``).

    Raises:
        ValueError: unknown backend, or Ray missing/unreachable.
    """
    if backend == "inprocess":
        return InProcessHandle(spec)
    if backend == "process":
        from .process import ProcessHandle

        return ProcessHandle(spec, **options)
    if backend == "ray":
        from .ray_backend import RayHandle

        return RayHandle(spec, ray_address, **options)
    raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")


__all__ = ["BACKENDS", "RunHandle", "RunSpec", "WorkerError", "backend_from_env", "open_run"]
