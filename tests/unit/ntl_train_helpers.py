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
