"""What an NTL run directory's history rows must hold, checked in one place for the library and the pages.

:func:`~ntl_core.runs.load_run` checks every row of ``metrics.jsonl`` here (the config is checked by
:class:`~ntl_core.train_config.TrainConfig` itself): a whole ``step`` a browser can plot, a known
``split`` on evaluation rows, and numbers (or ``null``) everywhere else, shares in [0, 1] and errors
≥ 0. Anything else is refused with one message naming the line and the field.
"""
from __future__ import annotations

import math
from typing import Any

from labkit import fields as f

from .tasks import SPLITS

MAX_STEP = 10**9  # far beyond any run, and well inside a browser's exact integers (2**53)
MAX_KEY_CHARS = 64
RANGES = {"exact_match": (0, 1), "digit_acc": (0, 1), "valid": (0, 1), "mae": (0, math.inf), "mape": (0, math.inf),
          "r2": (-math.inf, 1), "lr": (0, math.inf), "time": (0, math.inf)}


def check_row(row: Any, where: str) -> dict[str, Any]:
    """One history row as the trainer wrote it, with ``null`` metrics read as ``nan``.

    Raises:
        ValueError: ``"{where}: field: expected …"`` for the first bad field.
    """
    try:
        f.mapping(row, "the row", ("step",))
        f.number(row["step"], "step", 0, MAX_STEP, whole=True)
        for key, value in row.items():
            if len(key) > MAX_KEY_CHARS:
                raise ValueError(f"a field name is longer than {MAX_KEY_CHARS} characters")
            if key == "split":
                f.text(value, "split", SPLITS)
            elif key != "step":
                f.number(value, key, *RANGES.get(key, (-math.inf, math.inf)), missing_ok=True)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    return {k: (math.nan if v is None else v) for k, v in row.items()}
