"""Shareable page state: one declaration per page maps widget keys to query parameters, with their bounds.

A page lists its parameters once in a :class:`UrlSpec`. The same declaration

* reads a shared link (:meth:`UrlSpec.parse` is pure; :meth:`UrlSpec.read` copies the result into
  ``st.session_state``): a value that does not parse, is out of bounds or is off its widget's grid
  is skipped with a warning saying what was expected (never replaced by a nearby value in silence),
  so a teacher's typo never crashes a page and is never silently ignored. The warning shows the
  link's value as plain text (a link in a URL parameter must not become a link on the page);
* writes the widgets' values back to the URL (:meth:`UrlSpec.write`);
* gives the widgets their bounds and options (``SPEC["lab_digits"].lo``), so a slider and the link
  check cannot disagree.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from pages._ui.plain_text import plain

MAX_SHOWN = 60  # characters of a rejected value echoed in its warning
MAX_DIGITS = 18  # a whole number in a link: far beyond every bound, far below Python's 4,300-digit limit

@dataclass(frozen=True)
class Param:
    """One shareable widget value.

    Attributes:
        key: the widget's session-state key.
        name: the query-parameter name (part of shared links: keep it stable).
        parse: raw query text → value; raises ``ValueError``/``KeyError`` for a bad value.
        expect: what a valid value looks like, for the warning (e.g. ``"a whole number from 1 to 6"``).
        encode: value → query text.
        lo, hi: numeric bounds (widgets read them).
        options: allowed choices (widgets read them).
    """

    key: str
    name: str
    parse: Callable[[str], Any]
    expect: str
    encode: Callable[[Any], str] = str
    lo: float | None = None
    hi: float | None = None
    options: tuple = ()

    @property
    def bounds(self) -> tuple:
        """``(lo, hi)``, to unpack into a slider or number input."""
        return self.lo, self.hi


def _bounded(value: float, lo: float, hi: float) -> float:
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(value)
    return value


def floats(raw: str) -> list[float]:
    """Comma-separated numbers, for list parameters (``ValueError`` without Python's wording, as in :func:`number`)."""
    try:
        return [float(v) for v in raw.split(",")]
    except ValueError:
        raise ValueError(raw) from None


def on_grid(value: float, decimals: int) -> float:
    """``value`` if it has at most ``decimals`` decimal places (a slider's step), else ``ValueError``:
    rounding it would show a value the link did not ask for."""
    rounded = round(value, decimals)
    if not math.isclose(rounded, value, rel_tol=0.0, abs_tol=1e-9):
        raise ValueError(f"it has more than {decimals} decimal place(s)")
    return rounded


def whole(raw: str) -> int:
    """An ASCII whole number of at most ``MAX_DIGITS`` digits (``int`` also takes ``'٣'`` and fails on ``'²'``)."""
    text = raw.strip()
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit() and len(digits) <= MAX_DIGITS):
        raise ValueError(raw)
    return int(text)


def integer(key: str, name: str, lo: int, hi: int) -> Param:
    """A whole number in ``[lo, hi]``."""
    return Param(key, name, lambda raw: int(_bounded(whole(raw), lo, hi)), f"a whole number from {lo} to {hi}",
                 lo=lo, hi=hi)


def number(key: str, name: str, lo: float, hi: float, decimals: int | None = None) -> Param:
    """A number in ``[lo, hi]`` with at most ``decimals`` decimal places when given (a slider's step)."""
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(raw) from None  # Python's wording is not for students; the warning says what to give
        value = _bounded(value, lo, hi)
        return on_grid(value, decimals) if decimals is not None else value

    places = f" with at most {decimals} decimal place(s)" if decimals is not None else ""
    return Param(key, name, parse, f"a number from {lo:g} to {hi:g}{places}", encode=lambda v: f"{v:g}", lo=lo, hi=hi)


def choice(key: str, name: str, options: Iterable[Any], convert: Callable[[str], Any] = str) -> Param:
    """One of ``options`` (compared after ``convert``, e.g. :func:`whole` for a select slider of numbers)."""
    options = tuple(options)

    def parse(raw: str) -> Any:
        value = convert(raw)
        if value not in options:
            raise ValueError(raw)
        return value

    shown = ", ".join(str(o) for o in options)
    return Param(key, name, parse, f"one of {shown}", options=options)


def choices(key: str, name: str, options: Iterable[str], unique: bool = True) -> Param:
    """A non-empty comma-separated list of ``options``, no empty item, each at most once when ``unique``
    (a link's repeated or empty item is refused, not cleaned up in silence)."""
    options = tuple(options)

    def parse(raw: str) -> list[str]:
        values = raw.split(",")
        if not set(values) <= set(options) or (unique and len(set(values)) != len(values)):
            raise ValueError(raw)
        return values

    once = ", each at most once" if unique else ""
    return Param(key, name, parse, f"a comma-separated list of {', '.join(options)}{once}", encode=",".join,
                 options=options)


def flag(key: str, name: str) -> Param:
    """A checkbox: ``1`` or ``0``."""
    return Param(key, name, lambda raw: {"1": True, "0": False}[raw], "1 or 0", encode=lambda v: "1" if v else "0")


def text(key: str, name: str, check: Callable[[str], Any] = str, expect: str = "text",
         encode: Callable[[Any], str] = str) -> Param:
    """Free text; ``check`` may turn it into a value or raise ``ValueError`` (a sentence in it is shown)."""
    return Param(key, name, check, expect, encode=encode)


class UrlSpec:
    """The shareable parameters of one page (see the module docstring)."""

    def __init__(self, *params: Param) -> None:
        self.params: dict[str, Param] = {p.key: p for p in params}

    def __getitem__(self, key: str) -> Param:
        return self.params[key]

    def parse(self, query: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Valid values by widget key, and one warning per rejected parameter.

        Args:
            query: e.g. ``st.query_params.to_dict()`` (a list value counts by its first item).
        """
        values: dict[str, Any] = {}
        warnings: list[str] = []
        for p in self.params.values():
            raw = query.get(p.name)
            if isinstance(raw, Sequence) and not isinstance(raw, str):
                raw = raw[0] if raw else None
            if raw is None:
                continue
            try:
                values[p.key] = p.parse(str(raw))
            except (ValueError, KeyError) as err:
                warnings.append(bad_value(p, str(raw), str(err) if _has_message(err) else ""))
        return values, warnings

    def encode(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Query parameters for the given widget values (keys missing from ``values`` are left out)."""
        return {p.name: p.encode(values[p.key]) for p in self.params.values() if p.key in values}

    def read(self) -> list[str]:
        """Copy the link's valid values into ``st.session_state``; the warnings for the rest."""
        values, warnings = self.parse(st.query_params.to_dict())
        st.session_state.update(values)
        return warnings

    def init_session(self, defaults: Mapping[str, Any]) -> None:
        """Once per session (until the first default's key exists): the defaults, then the link's valid values;
        the warnings for the rest are shown where the page is being drawn."""
        if next(iter(defaults)) in st.session_state:
            return
        st.session_state.update(defaults)
        for warning in self.read():
            st.warning(warning)

    def write(self) -> None:
        """Mirror the widgets' current values in the URL (one update: the browser never sees a half-written link)."""
        changed = {name: value for name, value in self.encode(st.session_state).items()
                   if st.query_params.get(name) != value}
        if changed:
            st.query_params.update(changed)


def bad_value(p: Param, raw: str, why: str = "", fallback: str = "kept the default") -> str:
    """The warning for a link value that is not used, as Markdown that shows the value as plain text."""
    shown = raw if len(raw) <= MAX_SHOWN else raw[:MAX_SHOWN] + f"… ({len(raw):,} characters)"
    return plain(f"The link's {p.name}={shown!r} is not usable{f' ({why})' if why else ''}: expected {p.expect}; "
                 f"{fallback}.")


def _has_message(err: Exception) -> bool:
    """Whether a checker raised a sentence worth showing (not just the raw value echoed back)."""
    return isinstance(err, ValueError) and bool(err.args) and isinstance(err.args[0], str) and " " in err.args[0]
