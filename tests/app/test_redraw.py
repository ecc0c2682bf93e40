"""When a live page redraws its figures (pages/_ui/redraw.py), driven by a fake clock."""
from __future__ import annotations

from pages._ui.redraw import Redraw


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_figures_are_due_at_new_rows_every_s_and_whenever_training_stopped():
    clock = FakeClock()
    redraw = Redraw(3.0, clock=clock)
    assert redraw.due(0, running=True)  # nothing drawn yet
    clock.now = 1.0
    assert not redraw.due(0, running=True)  # a tick without new rows: the figures are not sent again
    clock.now = 2.0
    assert redraw.due(4, running=True)  # an epoch's (an evaluation's) rows arrived
    clock.now = 4.9
    assert not redraw.due(4, running=True)
    clock.now = 5.0
    assert redraw.due(4, running=True)  # every_s since the last draw, even without new rows
    assert not redraw.due(4, running=True)
    assert redraw.due(4, running=False)  # paused or finished: the complete view, always
    assert redraw.due(4, running=False)


def test_figures_drawn_already_count_as_a_draw():
    clock = FakeClock()
    clock.now = 10.0
    redraw = Redraw(3.0, drawn=8, clock=clock)
    clock.now = 12.9
    assert not redraw.due(8, running=True)
    assert redraw.due(12, running=True)
    clock.now = 20.0
    assert not Redraw(float("inf"), drawn=12, clock=clock).due(12, running=True)
