"""Field checks for what a file holds: each failure is one ``ValueError`` naming the field and what it expected.

The run-directory schemas of both cores are written with these, so a malformed upload gets a message
like ``metrics.json: test.uncertainty_gap.predictive_entropy.gap: expected a number, got 'x'`` instead of
a crash somewhere in a chart.
"""
from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

SHOWN_CHARS = 40  # of a bad value in a message


def shown(value: Any) -> str:
    """A short ``repr`` of a bad value for a message (an upload may hold a megabyte where a number belongs)."""
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def fail(field: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"{field}: expected {expected}, got {shown(value)}")


def number(value: Any, field: str, lo: float = -math.inf, hi: float = math.inf, *, whole: bool = False,
           missing_ok: bool = False) -> float | int | None:
    """A finite number in ``[lo, hi]`` (a whole one if ``whole``); ``None`` where ``missing_ok``.

    Booleans are not numbers here, though Python counts them as ints.
    """
    if value is None and missing_ok:
        return None
    kinds = (int,) if whole else (int, float)
    expected = f"{'a whole number' if whole else 'a number'}" + (
        f" from {lo:g} to {hi:g}" if math.isfinite(lo) and math.isfinite(hi)
        else f" ≥ {lo:g}" if math.isfinite(lo) else f" ≤ {hi:g}" if math.isfinite(hi) else "")
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or not lo <= value <= hi:
        raise fail(field, expected + (" or null" if missing_ok else ""), value)
    return value


def text(value: Any, field: str, options: Collection[str] | None = None, max_chars: int = 200) -> str:
    """A string (one of ``options`` when given)."""
    if options is not None:
        if not isinstance(value, str) or value not in options:
            raise fail(field, f"one of {', '.join(sorted(options))}", value)
    elif not isinstance(value, str) or len(value) > max_chars:
        raise fail(field, f"text of at most {max_chars} characters", value)
    return value


def mapping(value: Any, field: str, required: Collection[str] = ()) -> Mapping[str, Any]:
    """A JSON object holding at least the ``required`` keys."""
    if not isinstance(value, Mapping):
        raise fail(field, "an object", value)
    missing = [k for k in required if k not in value]
    if missing:
        raise ValueError(f"{field}: missing {', '.join(map(repr, missing))}")
    return value


def items(value: Any, field: str, lo: int = 0, hi: int = 10**6) -> list:
    """A JSON list of ``lo`` to ``hi`` items."""
    if not isinstance(value, list) or not lo <= len(value) <= hi:
        raise fail(field, f"a list of {lo} items" if lo == hi else f"a list of {lo} to {hi:,} items", value)
    return value


def config_numbers(values: Mapping[str, Any], defaults: Any, field: str) -> None:
    """Type-check the fields of a config dict whose dataclass default is a number (``null`` allowed where the
    default is ``None``), so a string there is named as such before the config's own checks compare it."""
    for name, value in values.items():
        default = getattr(defaults, name, None)
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            number(value, f"{field}.{name}", whole=isinstance(default, int))


def array(value: np.ndarray, field: str, ndim: int, kinds: str, lo: float = -math.inf, hi: float = math.inf,
          min_len: int = 1) -> np.ndarray:
    """A numeric array of ``ndim`` dimensions, each at least ``min_len`` long, of dtype kind in ``kinds``
    (``"b"``, ``"i"``, ``"u"``, ``"f"``), finite and within ``[lo, hi]``."""
    if value.ndim != ndim or min(value.shape, default=1) < min_len:
        raise ValueError(f"{field}: expected {ndim} dimension(s) of length ≥ {min_len}, got shape {value.shape}")
    if value.dtype.kind not in kinds:
        raise ValueError(f"{field}: expected dtype kind {'/'.join(kinds)}, got {value.dtype}")
    if value.size and value.dtype.kind == "f" and not np.isfinite(value).all():
        raise ValueError(f"{field}: holds NaN or infinite values")
    if value.size and (value.min() < lo or value.max() > hi):
        raise ValueError(f"{field}: values must lie in [{lo:g}, {hi:g}], found {value.min():g} to {value.max():g}")
    return value
