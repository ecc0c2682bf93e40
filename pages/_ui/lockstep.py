"""Several trainers advanced in lockstep, in time-bounded ticks: the run object both labs hand to a worker.

Streamlit-free and picklable-by-spec: the page builds it in a worker (``labkit.workers``) from a
module-level factory and only receives :class:`TickReport` values (new history rows and progress),
so the web server never trains.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TickReport:
    """What one tick did: optimiser steps summed over the members, wall time, and what changed.

    Attributes:
        steps: optimiser steps done by all members together.
        seconds: wall time of the tick.
        rows: ``{member: history rows added since the previous tick}``.
        progress: the session's :meth:`LockstepSession.progress` after the tick.
        cpu_seconds: CPU time the process used during the tick (in a worker process: the worker's own);
            well below ``seconds`` means the run waited for a core.
    """

    steps: int
    seconds: float
    rows: Mapping[str, list[dict]] = field(default_factory=dict)
    progress: Mapping[str, Any] = field(default_factory=dict)
    cpu_seconds: float | None = None

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0


class LockstepSession:
    """Members (trainers) that differ in one setting, advanced one step each in turn.

    Round robin keeps the members at the same step, so curves stay comparable while training and a
    pause between ticks leaves them aligned. Subclasses say how to advance one member, when it is
    done, where its history is and how many steps the session has done.
    """

    def __init__(self, members: Mapping[str, Any]):
        if not members:
            raise ValueError("choose at least one model to train")
        self.members = dict(members)
        self.cleanup: list[Callable[[], None]] = []  # run by close(), e.g. removing a temporary data folder
        self._sent = {name: 0 for name in self.members}  # history rows already reported per member

    # ---------------------------------------------------------------- subclass hooks
    def _advance(self, member: Any) -> None:
        raise NotImplementedError

    def _done(self, member: Any) -> bool:
        raise NotImplementedError

    def _history(self, member: Any) -> list[dict]:
        raise NotImplementedError

    def steps_done(self) -> int:
        raise NotImplementedError

    def steps_planned(self) -> int:
        """Optimiser steps of all members together once every member is done."""
        raise NotImplementedError

    def _after_rounds(self) -> None:
        """Called when a tick's or step's rounds end (also on an error): e.g. bring shared state up to date."""

    def progress(self) -> dict[str, Any]:
        """Numbers the page shows between ticks (must pickle); subclasses add theirs."""
        return {"finished": self.finished, "steps_done": self.steps_done(), "steps_planned": self.steps_planned(),
                "members": len(self.members)}

    # ---------------------------------------------------------------- shared logic
    @property
    def finished(self) -> bool:
        return all(self._done(m) for m in self.members.values())

    def _round(self) -> None:
        for member in self.members.values():
            if not self._done(member):
                self._advance(member)

    def new_rows(self) -> dict[str, list[dict]]:
        """History rows added since the last call, per member."""
        out = {}
        for name, member in self.members.items():
            hist = self._history(member)
            out[name] = [dict(r) for r in hist[self._sent[name]:]]
            self._sent[name] = len(hist)
        return out

    def tick(self, budget_s: float) -> TickReport:
        """Rounds until ``budget_s`` seconds have passed (at least one round), then what changed."""
        start, cpu_start, before = time.perf_counter(), time.process_time(), self.steps_done()
        try:
            while not self.finished:
                self._round()
                if time.perf_counter() - start >= budget_s:
                    break
        finally:
            self._after_rounds()
        return TickReport(self.steps_done() - before, time.perf_counter() - start, self.new_rows(), self.progress(),
                          time.process_time() - cpu_start)

    def step(self, n: int = 1) -> dict[str, list[dict]]:
        """``n`` rounds (the :class:`~labkit.workers.RunHandle` contract); returns the new history rows."""
        try:
            for _ in range(n):
                if self.finished:
                    break
                self._round()
        finally:
            self._after_rounds()
        return self.new_rows()

    def histories(self) -> dict[str, list[dict]]:
        return {name: list(self._history(m)) for name, m in self.members.items()}

    def close(self) -> None:
        self.members.clear()
        while self.cleanup:
            self.cleanup.pop()()
