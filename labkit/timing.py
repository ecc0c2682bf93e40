"""Server-side timing: each page run's server time and each training tick's wall and CPU time.

Browser-side load times mix the server's work with the browser's (in a benchmark the browsers share the
server's cores), so the app's web process keeps its own record: a small rolling store (the last
``window_s`` seconds, at most ``max_records`` of each kind), summarised for the ``?debug=1`` panel and for
one log line a minute (``pages/_ui/server_timing.py``, ``pages/_ui/server_panel.py``). With
``APP_TIMING_FILE`` set, every record is also appended to that file as a JSON line, which
:meth:`TimingStore.replay` reads back (``benchmarks/classroom_load.py``).
"""
from __future__ import annotations

import itertools
import json
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class PageRun:
    """One full run of a page's script (fragment reruns are not page runs)."""

    at: float  # monotonic seconds when the run ended
    page: str
    seconds: float


@dataclass(frozen=True)
class Tick:
    """One training tick, as the worker reported it."""

    at: float  # monotonic seconds when the answer arrived
    run: str
    steps: int  # all the run's models together
    wall_s: float
    cpu_s: float | None
    models: int = 1  # models trained side by side in the run (losses x seeds, or architectures)


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0 < q <= 100) by the nearest-rank method: always one of ``values``.

    Raises:
        ValueError: no values.
    """
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class RunRate:
    """A run's recent training speed.

    Attributes:
        steps_per_s: optimiser steps of one model per second of wall time (the CLI's "steps/s" of one run),
            from the first tick's start to the last tick's end: gaps between ticks included.
        cpu_share: CPU seconds per tick second (1.0: one core all the time); None when not measured.
        ticks: ticks it is computed from.
        tick_seconds: their wall time together.
        models: models the run trains side by side.
    """

    steps_per_s: float
    cpu_share: float | None
    ticks: int
    tick_seconds: float
    models: int = 1


class TimingStore:
    """Thread-safe rolling record of page runs and ticks.

    Args:
        window_s: records older than this are dropped.
        max_records: at most this many of each kind are kept (bounded memory whatever the traffic).
        clock: monotonic seconds (tests pass a fake).
        sink: a text file that gets every record as a JSON line (wall-clock ``time``), or None.
    """

    def __init__(self, window_s: float = 600.0, max_records: int = 10_000,
                 clock: Callable[[], float] = time.monotonic, sink: TextIO | None = None):
        self.window_s, self._clock, self._sink = window_s, clock, sink
        self._pages: deque[PageRun] = deque(maxlen=max_records)
        self._ticks: deque[Tick] = deque(maxlen=max_records)
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> "TimingStore":
        """The server's store; ``APP_TIMING_FILE`` names the JSON-lines sink (appended to)."""
        path = os.environ.get("APP_TIMING_FILE", "").strip()
        return cls(sink=open(path, "a", buffering=1, encoding="utf-8") if path else None)

    @classmethod
    def replay(cls, lines: Iterable[str], start: float, end: float) -> "TimingStore":
        """The records of an ``APP_TIMING_FILE`` written between wall-clock times ``start`` and ``end`` (seconds
        since the epoch), in a store to ask with ``since_s = end - start``: a benchmark's phase, summarised
        by the same code as the server's panel."""
        now = [start]
        store = cls(window_s=math.inf, max_records=10**7, clock=lambda: now[0])
        for line in lines:
            record = json.loads(line)
            if not start <= record["time"] <= end:
                continue
            now[0] = record["time"]
            if record["kind"] == "page":
                store.page_run(record["page"], record["seconds"])
            else:
                store.tick(record["run"], record["steps"], record["wall_s"], record["cpu_s"], record.get("models", 1))
        now[0] = end
        return store

    def _write(self, record: dict) -> None:
        if self._sink is not None:
            self._sink.write(json.dumps({"time": time.time(), **record}) + "\n")

    def page_run(self, page: str, seconds: float) -> None:
        with self._lock:
            self._pages.append(PageRun(self._clock(), page, seconds))
            self._write({"kind": "page", "page": page, "seconds": seconds})

    def tick(self, run: str, steps: int, wall_s: float, cpu_s: float | None, models: int = 1) -> None:
        with self._lock:
            self._ticks.append(Tick(self._clock(), run, steps, wall_s, cpu_s, models))
            self._write({"kind": "tick", "run": run, "steps": steps, "wall_s": wall_s, "cpu_s": cpu_s,
                         "models": models})

    def _recent(self, records: deque, since_s: float) -> list:
        """Records of the last ``since_s`` seconds, oldest first (newest first is read: a page asks every tick)."""
        now = self._clock()
        with self._lock:
            while records and now - records[0].at > self.window_s:
                records.popleft()
            recent = list(itertools.takewhile(lambda r: now - r.at <= since_s, reversed(records)))
        return recent[::-1]

    def page_times(self, since_s: float) -> dict[str, list[float]]:
        """Server seconds of the page runs that ended in the last ``since_s`` seconds, per page."""
        out: dict[str, list[float]] = {}
        for r in self._recent(self._pages, since_s):
            out.setdefault(r.page, []).append(r.seconds)
        return out

    def run_rates(self, since_s: float, run: str | None = None) -> dict[str, RunRate]:
        """Each run's (or only ``run``'s) speed over its ticks of the last ``since_s`` seconds."""
        by_run: dict[str, list[Tick]] = {}
        for t in self._recent(self._ticks, since_s):
            if run is None or t.run == run:
                by_run.setdefault(t.run, []).append(t)
        out = {}
        for name, ticks in by_run.items():
            wall = sum(t.wall_s for t in ticks)
            span = max(ticks[-1].at - (ticks[0].at - ticks[0].wall_s), wall)
            cpu = [t.cpu_s for t in ticks if t.cpu_s is not None]
            share = sum(cpu) / wall if cpu and len(cpu) == len(ticks) and wall > 0 else None
            models = max(1, ticks[-1].models)
            rate = sum(t.steps for t in ticks) / span / models if span > 0 else 0.0
            out[name] = RunRate(rate, share, len(ticks), wall, models)
        return out

    def summary_line(self, sessions: int | None, training: int, queued: int, since_s: float = 60.0) -> str:
        """The server log's line: sessions, runs training/queued, page-run p50/p95, steps/s per run."""
        times = [s for per_page in self.page_times(since_s).values() for s in per_page]
        pages = (f"page runs {len(times)}, p50 {percentile(times, 50):.2f} s, p95 {percentile(times, 95):.2f} s"
                 if times else "page runs 0")
        rates = self.run_rates(since_s)
        per_run = ", ".join(f"{r.steps_per_s:.1f}" + (f" ({r.cpu_share:.0%} CPU)" if r.cpu_share is not None else "")
                            for r in rates.values()) or "-"
        return (f"last {since_s:.0f} s: sessions {sessions if sessions is not None else '?'}, runs training {training}, "
                f"queued {queued}; {pages}; steps/s per run: {per_run}")
