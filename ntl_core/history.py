"""Views of one training history: a list of rows where train rows have no ``"split"`` and
evaluation rows name theirs (``"interpolation"``, ``"extrapolation"``).

The trainer, run records, comparisons, plots and the lab page all read histories through these
two functions instead of filtering the list by key themselves.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

Row = TypeVar("Row", bound=Mapping)


def train_rows(history: Iterable[Row]) -> list[Row]:
    """The rows written after optimiser steps, in order."""
    return [row for row in history if "split" not in row]


def last_train_row(history: Sequence[Row]) -> Row:
    """The latest train row, found from the end (a per-step caller must not filter a long history).

    Raises:
        ValueError: if there is none yet.
    """
    for row in reversed(history):
        if "split" not in row:
            return row
    raise ValueError("no optimiser step yet")


def eval_rows(history: Iterable[Row], split: str | None = None) -> list[Row]:
    """The evaluation rows, in order: all of them, or only those of ``split``."""
    return [row for row in history if "split" in row and (split is None or row["split"] == split)]
