"""labkit.workers: one RunHandle interface over in-process, spawned-process and Ray backends.

The same spec must give the same history rows whatever the backend (a tiny NTL comparison, seeded).
Errors keep one contract: the run's ValueError comes back as ValueError, anything else as WorkerError.
"""
from __future__ import annotations

import math
import os
import sys
import time

import pytest

from labkit.workers import RunSpec, WorkerError, backend_from_env, open_run
from ntl_core.training import PRESETS
from pages._ui.ntl_lab import build_lab
from tests.unit.worker_doubles import Counter

pytestmark = pytest.mark.xdist_group("workers")  # spawned workers: keep them on one xdist worker

TINY_LAB = RunSpec(build_lab, {"base": PRESETS["tiny"].replace(steps=4, eval_every=2, seed=3),
                               "losses": ["ce", "was"]})


def _rows_equal(a: dict, b: dict) -> bool:
    def same(x, y):
        if isinstance(x, float) and isinstance(y, float):
            return (math.isnan(x) and math.isnan(y)) or x == y
        return x == y

    drop = ("seconds", "time", "steps_per_s", "wall")  # timings differ between processes; numbers must not
    return a.keys() == b.keys() and all(
        len(a[k]) == len(b[k]) and all(
            {f for f in ra if not any(d in f for d in drop)} == {f for f in rb if not any(d in f for d in drop)}
            and all(same(ra[f], rb[f]) for f in ra if not any(d in f for d in drop))
            for ra, rb in zip(a[k], b[k]))
        for k in a)


@pytest.fixture(scope="module")
def reference_rows() -> dict:
    with open_run(TINY_LAB, "inprocess") as run:
        rows = run.step(4)
        assert run.call("progress")["finished"]
        return rows


def test_in_process_and_spawned_worker_give_the_same_rows(reference_rows):
    assert {k: len(v) for k, v in reference_rows.items()} == {"ce@3": 8, "was@3": 8}  # 4 train + 2 × 2 eval rows
    first = {k: [r for r in v if r["step"] <= 2] for k, v in reference_rows.items()}
    rest = {k: [r for r in v if r["step"] > 2] for k, v in reference_rows.items()}
    with open_run(TINY_LAB, "process") as run:
        assert _rows_equal(run.step(2), first)
        report = run.call("tick", 60.0)
        assert report.steps == 4 and report.progress["finished"]
        assert _rows_equal(report.rows, rest)
        assert run.evaluate()["ce@3"].keys() >= {"exact_match", "mae"}


def test_worker_is_another_process_and_close_ends_it():
    run = open_run(RunSpec(Counter), "process")
    pid = run.call("pid")
    assert pid != os.getpid() and run.step(2) == [{"step": 1}, {"step": 2}] and run.evaluate() == {"value": 2}
    run.close()
    assert not run.alive
    with pytest.raises(WorkerError, match="closed"):
        run.step(1)


@pytest.mark.parametrize("backend", ["inprocess", "process"])
def test_error_contract(backend):
    with open_run(RunSpec(Counter), backend) as run:
        with pytest.raises(ValueError, match="longer than the model's context"):
            run.call("bad")
        with pytest.raises(WorkerError, match="IndexError") as info:
            run.call("boom")
        assert info.value.kind == "IndexError"
        with pytest.raises(ValueError, match="not public"):
            run.call("_secret")
        assert run.step(1) == [{"step": 1}]  # an error in one call does not end the run
    with pytest.raises(ValueError, match="start must be"):
        open_run(RunSpec(Counter, {"start": -1}), backend).step(1)


@pytest.mark.parametrize("backend", ["inprocess", "process"])
def test_concurrent_callers_each_get_their_own_answer(backend):
    """Streamlit's fast reruns run a new script thread while the old one still waits for its tick: two threads
    then share one handle. Each caller must get the answer to its own request (a shared pipe handed them out
    crosswise before the handle had a lock)."""
    from concurrent.futures import ThreadPoolExecutor

    with open_run(RunSpec(Counter), backend) as run, ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(run.call, "echo", i, 0.02 * (i % 3)) for i in range(24)]
        assert [f.result(timeout=120) for f in futures] == list(range(24))


def test_page_workers_are_niced_and_cli_workers_are_not():
    with open_run(RunSpec(Counter), "process") as page_run, open_run(RunSpec(Counter), "process", nice=0) as cli_run:
        niced = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)  # 19 is the lowest priority (tests may run niced)
        assert os.getpriority(os.PRIO_PROCESS, page_run.call("pid")) == niced
        assert os.getpriority(os.PRIO_PROCESS, cli_run.call("pid")) == os.getpriority(os.PRIO_PROCESS, 0)


def test_close_returns_at_once_even_while_a_call_is_in_flight():
    """close() can run on the web server's event loop (a dropped session): it must not wait for the worker."""
    import threading

    run = open_run(RunSpec(Counter), "process")
    run.step(1)
    def in_flight() -> None:
        try:
            run.call("echo", 1, 3.0)
        except WorkerError:  # either outcome is fine: the answer, or "worker gone"
            pass

    caller = threading.Thread(target=in_flight, daemon=True)
    caller.start()
    time.sleep(0.3)
    t0 = time.perf_counter()
    run.close()
    assert time.perf_counter() - t0 < 0.5 and not run.alive
    caller.join(timeout=30)


def test_silent_worker_exits_by_itself():
    run = open_run(RunSpec(Counter), "process", idle_s=0.5)
    assert run.step(1) == [{"step": 1}]
    deadline = time.monotonic() + 30
    while run._process.is_alive() and time.monotonic() < deadline:  # noqa: SLF001 - the point of the test
        time.sleep(0.1)
    assert not run._process.is_alive()  # noqa: SLF001
    with pytest.raises(WorkerError, match="stopped"):
        run.step(1)


def test_backend_from_env(monkeypatch):
    monkeypatch.delenv("APP_RAY_ADDRESS", raising=False)
    monkeypatch.delenv("APP_WORKER_BACKEND", raising=False)
    assert backend_from_env() == ("process", None)
    monkeypatch.setenv("APP_WORKER_BACKEND", "inprocess")
    assert backend_from_env() == ("inprocess", None)
    monkeypatch.setenv("APP_RAY_ADDRESS", "auto")
    assert backend_from_env() == ("ray", "auto")
    monkeypatch.delenv("APP_RAY_ADDRESS")
    monkeypatch.setenv("APP_WORKER_BACKEND", "gpu-please")
    with pytest.raises(ValueError, match="APP_WORKER_BACKEND"):
        backend_from_env()


def test_missing_ray_is_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError, as when not installed
    with pytest.raises(ValueError, match="needs the 'ray' package"):
        open_run(RunSpec(Counter), "ray", "auto")


def test_cluster_slots_count_the_runs_the_cluster_can_hold():
    from labkit.workers.ray_backend import cluster_slots

    assert cluster_slots({"CPU": 2.0}, threads=1) == 2  # the measured case: 2 one-CPU nodes
    assert cluster_slots({"CPU": 7.0}, threads=2) == 3
    assert cluster_slots({"CPU": 16.0, "GPU": 1.0}, threads=1, num_gpus=0.25) == 4
    assert cluster_slots({"CPU": 16.0}, threads=1, num_gpus=0.5) == 0  # no GPU in the cluster: no run fits
    assert cluster_slots({}, threads=1) == 0
    with pytest.raises(ValueError, match="at least one CPU"):
        cluster_slots({"CPU": 2.0}, threads=0)


@pytest.mark.slow
def test_ray_actor_gives_the_same_rows(reference_rows):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        from labkit.workers.ray_backend import connected_cluster_slots

        assert connected_cluster_slots("local", threads=1) == 2
        with open_run(TINY_LAB, "ray", "local") as run:
            assert _rows_equal(run.step(4), reference_rows)
            with pytest.raises(ValueError, match="each loss"):
                open_run(RunSpec(build_lab, {"base": PRESETS["tiny"], "losses": ["ce", "ce"]}), "ray").step(1)
        with open_run(RunSpec(Counter), "ray") as run:
            with pytest.raises(WorkerError, match="IndexError"):
                run.call("boom")
    finally:
        ray.shutdown()


needs_two_cores = pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                                     reason="needs Linux CPU affinity and at least two cores")


@needs_two_cores
def test_a_worker_runs_on_the_cores_it_is_given_with_all_its_threads():
    core = max(os.sched_getaffinity(0))
    with open_run(RunSpec(Counter), "process", nice=0, cpus=frozenset({core})) as run:
        pid = run.call("pid")
        threads = os.listdir(f"/proc/{pid}/task")  # torch's and multiprocessing's threads included
        assert len(threads) >= 1 and all(os.sched_getaffinity(int(t)) == {core} for t in threads)
    assert os.sched_getaffinity(0) != {core}  # this process is not moved


@needs_two_cores
def test_app_training_cpus_gives_page_workers_their_own_cores_at_normal_priority(monkeypatch):
    from pages._ui.live_run import open_from_env
    from pages._ui.slots import cpu_split_from_env

    monkeypatch.setenv("APP_WORKER_BACKEND", "process")
    monkeypatch.setenv("APP_TRAINING_CPUS", "1")
    cpu_split_from_env.cache_clear()
    try:
        with open_from_env(RunSpec(Counter)) as run:
            pid = run.call("pid")
            assert os.sched_getaffinity(pid) == {max(os.sched_getaffinity(0))}
            assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0)
        monkeypatch.delenv("APP_TRAINING_CPUS")
        cpu_split_from_env.cache_clear()
        with open_from_env(RunSpec(Counter)) as run:  # no split: anywhere, below the server's priority
            pid = run.call("pid")
            assert os.sched_getaffinity(pid) == os.sched_getaffinity(0)
            assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    finally:
        cpu_split_from_env.cache_clear()
