"""When a live page redraws its figures: the decision both training pages' fragments ask after each tick.

A live page's progress numbers change with every tick, its figures only with new history rows (an
evaluation, an epoch). Building and sending Plotly figures is the web server's main cost per tick, and
it is shared by every student's page, so the figures are redrawn only when rows arrived, at least every
``every_s`` seconds while training, and always once training stopped (a paused or finished run's view
is complete). No Streamlit here: a unit test drives it with a fake clock.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable


class Redraw:
    """Remembers the last figure draw (rows seen, when) and says whether the next one is due.

    Args:
        every_s: while training, redraw at least this often, even without new rows.
        drawn: rows the figures already show (drawn just now); None when nothing is drawn yet.
        clock: seconds, monotonic (tests pass a fake).
    """

    def __init__(self, every_s: float, drawn: int | None = None, clock: Callable[[], float] = time.perf_counter):
        self.every_s, self._clock = every_s, clock
        self._seen = drawn
        self._at = -math.inf if drawn is None else clock()

    def due(self, seen: int, running: bool) -> bool:
        """Are the figures due, now that ``seen`` history rows exist? A True answer counts as a draw."""
        now = self._clock()
        if running and seen == self._seen and now - self._at < self.every_s:
            return False
        self._seen, self._at = seen, now
        return True
