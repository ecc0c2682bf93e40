"""labkit.timing: the rolling store of page-run and tick times, its summaries and its JSON-lines file."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from labkit.timing import RunRate, TimingStore, percentile


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
