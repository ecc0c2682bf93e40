import pytest

from pages._ui.slots import (QueueFull, TrainingSlots, cpu_workers_from_env, gpu_workers_from_env,
                             max_queued_from_env, torch_threads_from_env)


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_cap_refuses_past_max_and_frees_on_release():
    slots = TrainingSlots(2, clock=FakeClock())
    assert slots.acquire("a") and slots.acquire("b")
    assert not slots.acquire("c")
    assert slots.acquire("a")  # a holder refreshing its own slot is not refused
    slots.release("a")
    assert slots.acquire("c")
    assert slots.in_use() == 2


def test_abandoned_slots_and_queue_places_expire():
    clock = FakeClock()
    slots = TrainingSlots(1, ttl_s=300, queue_ttl_s=30, clock=clock)
    assert slots.acquire("gone")
    assert slots.request("left-too") == 1
    clock.t = 31
    assert slots.request("new") == 1 and slots.waiting() == 1  # the waiting place expired, the slot not yet
    clock.t = 120
    assert slots.request("gone") == 0  # a slow first tick (a worker starting on a busy machine) keeps its slot
    clock.t = 421
    assert slots.request("new") == 0  # a holder silent for longer than ttl_s loses it


def test_queue_is_first_come_first_served_and_nobody_overtakes():
    slots = TrainingSlots(2, clock=FakeClock())
    assert [slots.request(h) for h in "abcde"] == [0, 0, 1, 2, 3]
    assert slots.request("d") == 2  # asking again keeps one's place
    slots.release("a")
    assert slots.request("e") == 2  # a free slot goes to the head of the queue, not to whoever asks first
    assert slots.request("c") == 0 and slots.request("d") == 1 and slots.request("e") == 2
    slots.release("d")  # leaving the queue moves the others up
    assert slots.request("e") == 1 and slots.waiting() == 1


def test_queue_cap():
    slots = TrainingSlots(1, clock=FakeClock(), max_queued=2)
    assert [slots.request(h) for h in "abc"] == [0, 1, 2]
    with pytest.raises(QueueFull):
        slots.request("d")
    assert not slots.acquire("d")


def test_wait_estimate_from_recent_holding_times():
    clock = FakeClock()
    slots = TrainingSlots(2, clock=clock)
    assert slots.wait_estimate_s(1) is None  # nothing finished yet: no estimate, not a made-up one
    for holder, held in (("a", 60.0), ("b", 120.0), ("c", 90.0)):
        clock.t = 0.0
        slots.request(holder)
        clock.t = held
        slots.release(holder)
    assert slots.wait_estimate_s(1) == 90.0 and slots.wait_estimate_s(2) == 90.0  # one round of two slots
    assert slots.wait_estimate_s(3) == 180.0


def test_invalid_cap_and_env(monkeypatch):
    with pytest.raises(ValueError):
        TrainingSlots(0)
    monkeypatch.delenv("APP_CPU_WORKERS", raising=False)
    monkeypatch.setenv("APP_MAX_TRAINING_RUNS", "9")
    assert cpu_workers_from_env() == 9  # the old name still works
    monkeypatch.setenv("APP_CPU_WORKERS", "3")
    assert cpu_workers_from_env() == 3
    monkeypatch.setenv("APP_CPU_WORKERS", "lots")
    monkeypatch.delenv("APP_MAX_TRAINING_RUNS")
    assert cpu_workers_from_env(4) == 4
    monkeypatch.setenv("APP_GPU_WORKERS", "16")
    monkeypatch.setenv("APP_MAX_QUEUED", "50")
    assert gpu_workers_from_env() == 16 and max_queued_from_env() == 50


def test_torch_threads_default_one_and_env(monkeypatch):
    monkeypatch.delenv("APP_TORCH_THREADS", raising=False)
    assert torch_threads_from_env() == 1
    monkeypatch.setenv("APP_TORCH_THREADS", "4")
    assert torch_threads_from_env() == 4
    monkeypatch.setenv("APP_TORCH_THREADS", "0")
    assert torch_threads_from_env() == 1


def test_ray_gpu_share_from_env(monkeypatch):
    from pages._ui.live_run import gpu_share_from_env

    for raw, share in (("", 0.0), ("0.25", 0.25), ("1", 1.0), ("3", 0.0), ("half", 0.0), ("-1", 0.0)):
        monkeypatch.setenv("APP_RAY_NUM_GPUS", raw)
        assert gpu_share_from_env() == share, raw


@pytest.mark.parametrize("raw, reason", [("abc", "not a whole number"), ("-1", "not a whole number"),
                                         ("4096", "at least one must be left for the web server")])
def test_an_unusable_training_cpus_value_is_logged_and_ignored(monkeypatch, caplog, raw, reason):
    from pages._ui.slots import cpu_split_from_env

    monkeypatch.setenv("APP_TRAINING_CPUS", raw)
    cpu_split_from_env.cache_clear()
    try:
        with caplog.at_level("ERROR", logger="pages._ui.slots"):
            assert cpu_split_from_env() is None
        assert f"APP_TRAINING_CPUS={raw} ignored" in caplog.text and reason in caplog.text
    finally:
        cpu_split_from_env.cache_clear()


def test_training_cpus_unset_or_zero_is_no_split_and_one_splits(monkeypatch):
    import os

    from pages._ui.slots import cpu_split_from_env

    try:
        for raw in ("", "0"):
            monkeypatch.setenv("APP_TRAINING_CPUS", raw)
            cpu_split_from_env.cache_clear()
            assert cpu_split_from_env() is None
        if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) >= 2:
            monkeypatch.setenv("APP_TRAINING_CPUS", "1")
            cpu_split_from_env.cache_clear()
            split = cpu_split_from_env()
            assert split.training == {max(os.sched_getaffinity(0))} and split.server | split.training == \
                os.sched_getaffinity(0)
    finally:
        cpu_split_from_env.cache_clear()
