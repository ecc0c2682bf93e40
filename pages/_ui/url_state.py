"""Mirror widget values in the URL (``st.query_params``) so a link reproduces a page's state.

A spec maps a widget key to ``(query-param name, parser, bound check)``. Junk in a shared link
(unparsable or out of bounds) is ignored, never an error.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

ParamSpec = Mapping[str, tuple[str, Callable[[str], Any], Callable[[Any], bool]]]


def parse_bool(raw: str) -> bool:
    """``"1"`` → True, ``"0"`` → False; KeyError otherwise (ignored by :func:`read_query_params`)."""
    return {"1": True, "0": False}[raw]


def read_query_params(spec: ParamSpec) -> None:
    """Copy every valid query parameter of ``spec`` into ``st.session_state`` under its widget key."""
    for key, (param, parse, ok) in spec.items():
        raw = st.query_params.get(param)
        if raw is None:
            continue
        try:
            value = parse(raw)
        except (ValueError, KeyError):
            continue
        if ok(value):
            st.session_state[key] = value


def write_query_params(spec: ParamSpec) -> None:
    """Write the current value of every widget in ``spec`` to the URL (lists comma-joined, bools 1/0)."""
    for key, (param, _, _) in spec.items():
        if key not in st.session_state:
            continue
        value = st.session_state[key]
        if isinstance(value, bool):
            value = "1" if value else "0"
        elif isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        st.query_params[param] = str(value)
