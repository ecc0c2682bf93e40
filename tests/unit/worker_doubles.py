"""Small run objects for the worker tests (module level, so spawned workers and Ray actors can import them)."""
from __future__ import annotations

import os
import time


class Counter:
    """A run whose ``step(n)`` returns n rows; ``boom``/``bad`` raise, ``pid`` says where it lives."""

    def __init__(self, start: int = 0):
        if start < 0:
            raise ValueError("start must be >= 0")
        self.value = start

    def step(self, n: int = 1) -> list[dict]:
        rows = [{"step": self.value + i + 1} for i in range(n)]
        self.value += n
        return rows

    def evaluate(self) -> dict:
        return {"value": self.value}

    def echo(self, value: int, seconds: float = 0.0) -> int:
        time.sleep(seconds)
        return value

    def pid(self) -> int:
        return os.getpid()

    def boom(self) -> None:
        raise IndexError("index 300 is out of bounds")

    def bad(self) -> None:
        raise ValueError("a question longer than the model's context")

    def _secret(self) -> str:
        return "private"
