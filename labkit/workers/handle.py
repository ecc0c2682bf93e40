"""One interface to a training run wherever it lives: :class:`RunHandle`.

A run is any object built by a picklable :class:`RunSpec` (a module-level factory and its keyword
arguments) that has ``step(n)`` returning its new history rows, ``evaluate()`` and, optionally,
``close()``. The handle forwards those (and any other public method, through :meth:`RunHandle.call`)
to the object in this process, in a spawned worker process, or in a Ray actor; results are the
same for the same seed because the object and its calls are the same.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class WorkerError(RuntimeError):
    """The worker failed in a way that is not the run's own ``ValueError`` (crash, timeout, bug).

    Attributes:
        kind: the remote exception's type name (``"IndexError"``), or ``"WorkerGone"``/``"Timeout"``.
    """

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@dataclass(frozen=True)
class RunSpec:
    """How to build a run in any process: ``factory(**kwargs)``.

    Attributes:
        factory: a module-level callable (so that it pickles by reference).
        kwargs: its keyword arguments (picklable: configs, tensors, bytes).
        threads: torch intra-op threads in the worker.
        num_gpus: the GPU share a Ray actor asks for (0 on CPU; e.g. 0.25 packs four runs per GPU).
    """

    factory: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    threads: int = 1
    num_gpus: float = 0.0

    def build(self) -> Any:
        return self.factory(**self.kwargs)


def remote_error(exc: BaseException) -> tuple[str, str, bool]:
    """What crosses the process boundary for an exception: type name, message, is it a ValueError."""
    return type(exc).__name__, str(exc), isinstance(exc, ValueError)


def raise_remote(kind: str, message: str, is_value_error: bool) -> None:
    """Re-raise a worker's exception here: the run's ``ValueError`` as such (its message is for the user)."""
    if is_value_error:
        raise ValueError(message)
    raise WorkerError(kind, message)


def call_target(target: Any, method: str, args: tuple, kwargs: dict) -> Any:
    """Call a public method of the run (private names are refused: a handle is not a remote shell)."""
    if method.startswith("_"):
        raise ValueError(f"method {method!r} is not public")
    return getattr(target, method)(*args, **kwargs)


class RunHandle:
    """Base of the backends. Subclasses implement :meth:`call` and :meth:`close`.

    Errors: the run's ``ValueError`` comes back as ``ValueError`` with the same message; anything
    else (another exception in the run, a dead or silent worker) as :class:`WorkerError`.
    """

    backend = "abstract"

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def step(self, n: int = 1) -> Any:
        """Advance ``n`` steps; returns the run's new history rows."""
        return self.call("step", n)

    def evaluate(self, *args: Any, **kwargs: Any) -> Any:
        return self.call("evaluate", *args, **kwargs)

    @property
    def alive(self) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> "RunHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
