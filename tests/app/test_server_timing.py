"""Server-side timing: the rolling store, its summaries, the busy-machine note, and where the app records."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from labkit.workers import RunSpec
from pages._ui import server_panel
from pages._ui.live_run import LiveRun
from pages._ui.lockstep import LockstepSession
from pages._ui.server_timing import BUSY_SHARE, RunRate, TimingStore, busy_note, percentile, server_timing
from pages._ui.slots import TrainingSlots

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.mark.parametrize("values", [[3.0], [1.0, 2.0], [5.0, 1.0, 4.0, 2.0, 3.0], list(np.arange(1, 101) / 7)])
@pytest.mark.parametrize("q", [50, 95, 100])
def test_percentile_is_the_nearest_rank(values, q):
    assert percentile(values, q) == np.percentile(values, q, method="inverted_cdf")


def test_page_runs_per_page_within_the_window_and_bounded():
    clock = FakeClock()
    store = TimingStore(window_s=100, max_records=3, clock=clock)
    store.page_run("ntl_explorer", 0.5)
    clock.t += 50
    store.page_run("ntl_explorer", 0.7)
    store.page_run("home", 0.1)
    assert store.page_times(60) == {"ntl_explorer": [0.5, 0.7], "home": [0.1]}
    assert store.page_times(10) == {"ntl_explorer": [0.7], "home": [0.1]}
    store.page_run("home", 0.2)  # a fourth record: the oldest goes (bounded memory)
    assert store.page_times(1e9) == {"ntl_explorer": [0.7], "home": [0.1, 0.2]}
    clock.t += 101
    assert store.page_times(1e9) == {}  # older than the window


def test_run_rate_counts_the_gaps_between_ticks_and_the_cpu_share():
    clock = FakeClock()
    store = TimingStore(clock=clock)
    for _ in range(3):  # a 1 s tick (20 steps of 2 models, 0.25 s of CPU) every 2 s
        clock.t += 1.0
        store.tick("r1", steps=20, wall_s=1.0, cpu_s=0.25, models=2)
        clock.t += 1.0
    store.tick("r2", steps=5, wall_s=1.0, cpu_s=None)
    rates = store.run_rates(60)
    # 60 steps of two models from the first tick's start to the last tick's end: 5 s
    assert rates["r1"] == RunRate(steps_per_s=60 / 5 / 2, cpu_share=0.25, ticks=3, tick_seconds=3.0, models=2)
    assert rates["r2"].cpu_share is None and rates["r2"].steps_per_s == 5.0
    assert set(store.run_rates(60, "r2")) == {"r2"}


def test_summary_line_has_what_the_log_promises():
    clock = FakeClock()
    store = TimingStore(clock=clock)
    for seconds in (0.1, 0.2, 0.3, 0.4, 2.0):
        store.page_run("ntl_explorer", seconds)
    store.tick("r1", steps=10, wall_s=1.0, cpu_s=0.5)
    line = store.summary_line(sessions=7, training=4, queued=3)
    assert line == ("last 60 s: sessions 7, runs training 4, queued 3; page runs 5, p50 0.30 s, p95 2.00 s; "
                    "steps/s per run: 10.0 (50% CPU)")
    assert "page runs 0" in TimingStore(clock=clock).summary_line(None, 0, 0) and "sessions ?" in \
        TimingStore(clock=clock).summary_line(None, 0, 0)


def test_records_go_to_the_json_lines_file(tmp_path, monkeypatch):
    path = tmp_path / "timing.jsonl"
    monkeypatch.setenv("APP_TIMING_FILE", str(path))
    store = TimingStore.from_env()
    store.page_run("ntl_explorer", 0.25)
    store.tick("r1", 4, 1.0, 0.9, models=2)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [{k: v for k, v in r.items() if k != "time"} for r in rows] == [
        {"kind": "page", "page": "ntl_explorer", "seconds": 0.25},
        {"kind": "tick", "run": "r1", "steps": 4, "wall_s": 1.0, "cpu_s": 0.9, "models": 2}]
    assert all(abs(r["time"] - time.time()) < 60 for r in rows)  # wall-clock time, to match a benchmark's phases


def test_a_timing_file_replays_into_the_same_summaries_for_a_time_window(tmp_path, monkeypatch):
    path = tmp_path / "timing.jsonl"
    monkeypatch.setenv("APP_TIMING_FILE", str(path))
    store = TimingStore.from_env()
    store.page_run("ntl_explorer", 9.0)  # before the window
    time.sleep(0.02)
    start = time.time()
    store.page_run("ntl_explorer", 0.5)
    store.page_run("ntl_explorer", 1.5)
    store.tick("r1", 10, 1.0, 0.5, models=2)
    end = time.time()
    time.sleep(0.02)
    store.page_run("ntl_explorer", 7.0)  # after it
    replayed = TimingStore.replay(path.read_text().splitlines(), start, end)
    assert replayed.page_times(end - start) == {"ntl_explorer": [0.5, 1.5]}
    assert replayed.run_rates(end - start)["r1"].cpu_share == 0.5


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
    clock = FakeClock()
    store = TimingStore(clock=clock)
    store.page_run("ntl_explorer", 0.4)
    slots = TrainingSlots(2)
    slots.acquire("a")
    slots.request("b")
    slots.request("c")
    line = server_panel.log_timing(store, slots)
    assert line.startswith("class server, last 60 s: sessions ?, runs training 2, queued 1; page runs 1")
