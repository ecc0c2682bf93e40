"""The loss explorer's shareable state: parsing the URL query string and writing it back.

Kept apart from the page so that the rules (what is valid, what falls back to a default) are plain
functions; the page only copies the result into widget state on first load.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ntl_core.scoring import LOGIT_LIMIT, N_DIGITS, PRESETS, check_number, parse_distribution

MODES = ("digit", "number")
TEMP_MIN, TEMP_MAX, TEMP_STEP = 0.1, 5.0, 0.1
LOGIT_DECIMALS = 2  # slider step 0.01: presets are rounded to this before being shown and scored


@dataclass
class ExplorerState:
    """Everything needed to rebuild one view of the explorer (seed lives in the sidebar)."""

    mode: str = "digit"
    preset: str = "bimodal"
    target: int = 4
    temperature: float = 1.0
    logits: list[float] | None = None  # custom slider values; None = the preset's
    probs: str = ""  # a typed distribution, as typed
    number: str = "472"
    position_presets: list[str] = field(default_factory=lambda: ["peaked", "neighbour", "peaked"])


def _first(params: Mapping[str, object], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, list):
        return value[0] if value else None
    return None if value is None else str(value)


def parse_query(params: Mapping[str, object]) -> tuple[ExplorerState, list[str]]:
    """Read an ``ExplorerState`` from query parameters; invalid values fall back with a warning.

    Args:
        params: e.g. ``st.query_params.to_dict()``.

    Returns:
        The state and a list of human-readable warnings (one per rejected parameter).
    """
    state, warnings = ExplorerState(), []
    if (mode := _first(params, "mode")) is not None:
        if mode in MODES:
            state.mode = mode
        else:
            warnings.append(f"Unknown mode {mode!r} in the link; showing the one-digit mode.")
    if (preset := _first(params, "preset")) is not None:
        if preset in PRESETS:
            state.preset = preset
        else:
            warnings.append(f"Unknown preset {preset!r} in the link; choose one of {', '.join(PRESETS)}.")
    if (target := _first(params, "target")) is not None:
        if target.isascii() and target.isdigit() and 0 <= int(target) <= 9:
            state.target = int(target)
        else:
            warnings.append(f"The true digit must be 0-9, the link says {target!r}; using {state.target}.")
    if (temp := _first(params, "temp")) is not None:
        try:
            value = float(temp)
        except ValueError:
            value = float("nan")
        if TEMP_MIN <= value <= TEMP_MAX:
            state.temperature = round(value, 1)
        else:
            warnings.append(f"Temperature must be between {TEMP_MIN} and {TEMP_MAX}, the link says {temp!r}.")
    if (logits := _first(params, "logits")) is not None:
        try:
            values = [float(v) for v in logits.split(",")]
            if len(values) != N_DIGITS or not all(abs(v) <= LOGIT_LIMIT for v in values):
                raise ValueError
            state.logits = [round(v, LOGIT_DECIMALS) for v in values]
        except ValueError:
            warnings.append(f"The logits in the link must be {N_DIGITS} numbers within ±{LOGIT_LIMIT:g}; "
                            "using the preset.")
    if (probs := _first(params, "probs")) is not None:
        try:
            parse_distribution(probs)
            state.probs = probs
        except ValueError as err:
            warnings.append(f"The distribution in the link is not usable: {err}.")
    if (number := _first(params, "number")) is not None:
        try:
            state.number = check_number(number)
        except ValueError as err:
            warnings.append(f"The number in the link is not usable: {err}.")
    if (pos := _first(params, "presets")) is not None:
        names = pos.split(",")
        if all(n in PRESETS for n in names):
            state.position_presets = names
        else:
            warnings.append(f"Unknown per-position preset in {pos!r}; using 'peaked'.")
    return state, warnings


def to_query(state: ExplorerState) -> dict[str, str]:
    """The query parameters for ``state`` (only those that matter in its mode)."""
    out = {"mode": state.mode, "temp": f"{state.temperature:g}"}
    if state.mode == "digit":
        out.update(preset=state.preset, target=str(state.target))
        if state.logits is not None:
            out["logits"] = ",".join(f"{v:g}" for v in state.logits)
        if state.probs:
            out["probs"] = state.probs
    else:
        out.update(number=state.number, presets=",".join(state.position_presets))
    return out


def rounded(logits: np.ndarray) -> list[float]:
    """Logits as the sliders hold them."""
    return [round(float(v), LOGIT_DECIMALS) for v in logits]
