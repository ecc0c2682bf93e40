"""The run in a Ray actor, so a class outgrows one machine by pointing the app at a cluster.

Ray is optional: it is imported only when this backend is chosen (``APP_RAY_ADDRESS`` or ``--ray``),
and its absence is a clear ``ValueError``. One actor per run, asking for ``spec.threads`` CPUs and
``spec.num_gpus`` GPUs (fractional shares pack several small runs on one GPU).
"""
from __future__ import annotations

from typing import Any

from .handle import RunHandle, RunSpec, WorkerError, call_target, remote_error, raise_remote

_ACTOR_CLASS = None


def require_ray(address: str | None = None):
    """Import Ray and connect to ``address`` (``"auto"``, ``"ray://host:10001"``, ``"local"``) once.

    Raises:
        ValueError: Ray is not installed, or the cluster cannot be reached.
    """
    try:
        import ray
    except ImportError:
        raise ValueError("the Ray backend needs the 'ray' package: pip install 'ray>=2.40' "
                         "(or unset APP_RAY_ADDRESS / drop --ray to train in local worker processes)") from None
    if not ray.is_initialized():
        try:
            ray.init(address=None if address in (None, "", "local") else address, log_to_driver=False,
                     ignore_reinit_error=True)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ValueError(f"cannot reach the Ray cluster at {address!r}: {exc}") from None
    return ray


def cluster_slots(resources: dict[str, float], threads: int, num_gpus: float = 0.0) -> int:
    """How many runs of ``threads`` CPUs (and ``num_gpus`` GPUs each) the cluster's ``resources`` hold at once.

    A slot beyond this is granted by the app but its actor waits, silently, for a CPU (measured: 4 slots on a
    cluster of 2 one-CPU nodes trained 2 runs), so the app caps its slots here.

    Raises:
        ValueError: ``threads`` below 1 or ``num_gpus`` negative.
    """
    if threads < 1 or num_gpus < 0:
        raise ValueError(f"a run needs at least one CPU thread and no negative GPU share; got {threads}, {num_gpus}")
    slots = int(resources.get("CPU", 0) // threads)
    if num_gpus > 0:
        slots = min(slots, int(resources.get("GPU", 0) // num_gpus))
    return slots


def connected_cluster_slots(address: str | None, threads: int, num_gpus: float = 0.0) -> int:
    """:func:`cluster_slots` of the cluster at ``address`` (connecting once, like a run would)."""
    return cluster_slots(require_ray(address).cluster_resources(), threads, num_gpus)


class _Host:
    """The actor: holds one run and answers calls, returning errors as values (no Ray traceback wrapping)."""

    def __init__(self, spec: RunSpec):
        import torch

        torch.set_num_threads(max(1, spec.threads))
        try:
            self.target, self.error = spec.build(), None
        except Exception as exc:  # noqa: BLE001
            self.target, self.error = None, remote_error(exc)

    def call(self, method: str, args: tuple, kwargs: dict) -> tuple[str, Any]:
        if self.error is not None:
            return "err", self.error
        try:
            return "ok", call_target(self.target, method, args, kwargs)
        except Exception as exc:  # noqa: BLE001
            return "err", remote_error(exc)


def _actor_class(ray):
    global _ACTOR_CLASS
    if _ACTOR_CLASS is None:
        _ACTOR_CLASS = ray.remote(_Host)
    return _ACTOR_CLASS


class RayHandle(RunHandle):
    """A run in a Ray actor on the cluster at ``address`` (already initialised ``ray`` is reused)."""

    backend = "ray"

    def __init__(self, spec: RunSpec, address: str | None = None, call_timeout_s: float | None = 600.0):
        self._ray = require_ray(address)
        self._actor = _actor_class(self._ray).options(num_cpus=spec.threads, num_gpus=spec.num_gpus).remote(spec)
        self.call_timeout_s = call_timeout_s

    @property
    def alive(self) -> bool:
        return self._actor is not None

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self._actor is None:
            raise WorkerError("WorkerGone", "the run was closed")
        ray = self._ray
        try:
            status, payload = ray.get(self._actor.call.remote(method, args, kwargs), timeout=self.call_timeout_s)
        except ray.exceptions.GetTimeoutError:
            self.close()
            raise WorkerError("Timeout", f"the Ray actor did not answer within {self.call_timeout_s:g} s") from None
        except ray.exceptions.RayError as exc:  # the actor died (out of memory, node lost)
            self.close()
            raise WorkerError("WorkerGone", f"the Ray actor stopped: {type(exc).__name__}") from None
        if status == "err":
            raise_remote(*payload)
        return payload

    def close(self) -> None:
        actor, self._actor = self._actor, None
        if actor is not None:
            try:
                self._ray.kill(actor)  # frees the actor's process and its CPU/GPU reservation
            except Exception:  # noqa: BLE001 - closing must not fail
                pass
