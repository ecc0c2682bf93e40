"""Shared pieces of the ntl training tests: a tiny config and one torch thread per test.

Two xdist workers on two cores with two torch threads each oversubscribe the CPU badly (measured
here: a step ran ~6× slower with 2 threads than with 1 under load), so these tests use one.
"""
from __future__ import annotations

import pytest
import torch

from ntl_core.training import PRESETS, TrainConfig


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(**changes) -> TrainConfig:
    """1-digit addition, 2-layer GPT-2, batch 16, CPU: a step takes milliseconds."""
    return PRESETS["tiny"].replace(device="cpu", **changes)


def assert_same_rows(got: list[dict], want: list[dict]) -> None:
    """History rows equal to float tolerance, ``time`` aside (batched members share their joint step's time)."""
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.keys() == w.keys()
        for key, value in w.items():
            if key == "time":
                continue
            if isinstance(value, float):
                assert g[key] == pytest.approx(value, rel=1e-4, abs=1e-5, nan_ok=True), key
            else:
                assert g[key] == value, key
