"""Server-side timing in the app: the busy-machine note, tick CPU time, the page-run record and the panel."""
from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from labkit.timing import RunRate, TimingStore
from labkit.workers import RunSpec
from pages._ui import server_panel
from pages._ui.live_run import LiveRun
from pages._ui.lockstep import LockstepSession
from pages._ui.server_timing import BUSY_SHARE, busy_note, server_timing
from pages._ui.slots import TrainingSlots

ROOT = Path(__file__).resolve().parents[2]


def test_busy_note_only_when_measured_and_starved():
    slow = RunRate(steps_per_s=0.2, cpu_share=0.15, ticks=10, tick_seconds=10.0, models=2)
    note = busy_note(slow, expected_share=1.0, steps_left=2 * 1800, since_s=30)
    # 3,600 steps of two models at 0.2 steps/s per model: 9,000 s = 150 min
    assert note.startswith("This machine is busy with other programs") and "got 15% of a CPU core" in note
    assert "≈ 0.2 steps/s per model" in note and "needs ≈ 150 more min" in note
    assert busy_note(slow, 1.0, 0, 30) is not None and "more min" not in busy_note(slow, 1.0, 0, 30)
    fine = RunRate(0.9, BUSY_SHARE + 0.05, 10, 10.0)
    assert busy_note(fine, 1.0, 100, 30) is None
    # four runs sharing one training core each get a quarter of it: the class, not the machine
    assert busy_note(RunRate(0.3, 0.2, 10, 10.0), expected_share=0.25, steps_left=100, since_s=30) is None
    assert busy_note(RunRate(0.2, 0.15, 2, 2.0), 1.0, 100, 30) is None  # too little evidence yet
    assert busy_note(RunRate(0.2, None, 10, 10.0), 1.0, 100, 30) is None  # CPU time not measured


class _Sleeper(LockstepSession):
    """Members that wait instead of computing: a worker that gets no CPU."""

    def __init__(self):
        super().__init__({"a": [0]})

    def _advance(self, member):
        time.sleep(0.05)
        member[0] += 1

    def _done(self, member):
        return member[0] >= 4

    def _history(self, member):
        return []

    def steps_done(self):
        return self.members["a"][0]

    def steps_planned(self):
        return 4


def test_a_tick_reports_its_cpu_time_and_the_live_run_records_it():
    report = _Sleeper().tick(budget_s=10.0)
    assert report.steps == 4 and report.seconds >= 0.2
    assert 0 <= report.cpu_seconds < 0.5 * report.seconds  # sleeping takes wall time, not CPU time
    assert report.progress["steps_planned"] == 4 and report.progress["members"] == 1

    store = TimingStore()
    from labkit.workers import open_run

    live = LiveRun(RunSpec(_Sleeper), opener=lambda spec: open_run(spec, "inprocess"), timing=store)
    live.open()
    live.tick(10.0)
    rate = store.run_rates(60)[live.id]
    assert rate.ticks == 1 and rate.cpu_share < 0.5 and rate.models == 1


def test_app_records_each_page_run_and_the_debug_panel_shows_it():
    before = len(server_timing().page_times(1e9).get("home", []))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert len(server_timing().page_times(1e9)["home"]) == before + 1
    assert not any("Server timing" in e.label for e in at.sidebar.expander)

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["debug"] = "1"
    at.run()
    panel = next(e for e in at.sidebar.expander if e.label == "Server timing (debug)")
    caption = " ".join(c.value for c in panel.caption)
    assert "runs training" in caption and "page runs" in caption
    assert any("home" in list(d.value["page"]) for d in panel.dataframe)


def test_the_log_line_reads_the_store_and_the_slots():
    store = TimingStore(clock=lambda: 1000.0)
    store.page_run("ntl_explorer", 0.4)
    slots = TrainingSlots(2)
    slots.acquire("a")
    slots.request("b")
    slots.request("c")
    line = server_panel.log_timing(store, slots)
    assert line.startswith("class server, last 60 s: sessions ?, runs training 2, queued 1; page runs 1")
