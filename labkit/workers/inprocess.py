"""The run in this very process: for notebooks, tests and the CLIs' default."""
from __future__ import annotations

import threading
from typing import Any

from .handle import RunHandle, RunSpec, WorkerError, call_target


class InProcessHandle(RunHandle):
    backend = "in-process"

    def __init__(self, spec: RunSpec):
        self._target: Any = spec.build()
        self._lock = threading.Lock()  # a run object is not thread-safe; callers may be (see ProcessHandle)

    @property
    def target(self) -> Any:
        """The run object itself (only this backend can hand it out)."""
        if self._target is None:
            raise WorkerError("WorkerGone", "the run was closed")
        return self._target

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            with self._lock:
                return call_target(self.target, method, args, kwargs)
        except (ValueError, WorkerError):
            raise
        except Exception as exc:  # the same error contract as the other backends; the cause stays chained
            raise WorkerError(type(exc).__name__, str(exc)) from exc

    @property
    def alive(self) -> bool:
        return self._target is not None

    def close(self) -> None:
        target, self._target = self._target, None
        if target is not None and hasattr(target, "close"):
            target.close()
