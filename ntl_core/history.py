"""Views of one training history: a list of rows where train rows have no ``"split"`` and
evaluation rows name theirs (``"interpolation"``, ``"extrapolation"``).

The trainer, run records, comparisons, plots and the lab page all read histories through these
two functions instead of filtering the list by key themselves.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

Row = TypeVar("Row", bound=Mapping)


def train_rows(history: Iterable[Row]) -> list[Row]:
    """The rows written after optimiser steps, in order."""
    return [row for row in history if "split" not in row]


def eval_rows(history: Iterable[Row], split: str | None = None) -> list[Row]:
    """The evaluation rows, in order: all of them, or only those of ``split``."""
    return [row for row in history if "split" in row and (split is None or row["split"] == split)]
