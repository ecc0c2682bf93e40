import pytest

from pages._ui.slots import TrainingSlots, max_runs_from_env, torch_threads_from_env


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


def test_abandoned_slots_expire():
    clock = FakeClock()
    slots = TrainingSlots(1, ttl_s=30, clock=clock)
    assert slots.acquire("gone")
    clock.t = 31
    assert slots.acquire("new")


def test_invalid_cap_and_env(monkeypatch):
    with pytest.raises(ValueError):
        TrainingSlots(0)
    monkeypatch.setenv("APP_MAX_TRAINING_RUNS", "9")
    assert max_runs_from_env() == 9
    monkeypatch.setenv("APP_MAX_TRAINING_RUNS", "lots")
    assert max_runs_from_env(3) == 3


def test_torch_threads_default_one_and_env(monkeypatch):
    monkeypatch.delenv("APP_TORCH_THREADS", raising=False)
    assert torch_threads_from_env() == 1
    monkeypatch.setenv("APP_TORCH_THREADS", "4")
    assert torch_threads_from_env() == 4
    monkeypatch.setenv("APP_TORCH_THREADS", "0")
    assert torch_threads_from_env() == 1
