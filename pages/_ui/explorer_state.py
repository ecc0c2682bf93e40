"""The loss explorer's shareable state: parsing the URL query string and writing it back.

Kept apart from the page so that the rules (what is valid, what falls back to a default) are plain
functions; the page only copies the result into widget state on first load.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ntl_core.scoring import DISTRIBUTION_PRESETS, LOGIT_LIMIT, N_DIGITS, check_number, parse_distribution
from pages._ui.plain_text import plain
from pages._ui.url_spec import UrlSpec, choice, choices, floats, integer, number, on_grid, text

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


def _logits(raw: str) -> list[float]:
    values = floats(raw)
    if len(values) != N_DIGITS or not all(abs(v) <= LOGIT_LIMIT for v in values):
        raise ValueError(raw)
    return [on_grid(v, LOGIT_DECIMALS) for v in values]


def _typed_distribution(raw: str) -> str:
    parse_distribution(raw)  # raises ValueError with what is wrong
    return raw


# The shareable view; keys are the fields of ExplorerState.
URL = UrlSpec(
    choice("mode", "mode", MODES),
    choice("preset", "preset", DISTRIBUTION_PRESETS),
    integer("target", "target", 0, N_DIGITS - 1),
    number("temperature", "temp", TEMP_MIN, TEMP_MAX, decimals=1),
    text("logits", "logits", _logits,
         f"{N_DIGITS} comma-separated numbers within ±{LOGIT_LIMIT:g}, at most {LOGIT_DECIMALS} decimal places",
         encode=lambda v: ",".join(f"{x:g}" for x in v)),
    text("probs", "probs", _typed_distribution, "ten weights, one per digit"),
    text("number", "number", check_number, "a whole number"),
    choices("position_presets", "presets", DISTRIBUTION_PRESETS, unique=False),  # one per digit position
)
DIGIT_FIELDS = ("preset", "target", "logits", "probs")  # in the link only in the one-digit mode
NUMBER_FIELDS = ("number", "position_presets")  # only in the whole-number mode


def parse_query(params: Mapping[str, object]) -> tuple[ExplorerState, list[str]]:
    """Read an ``ExplorerState`` from query parameters; invalid values fall back with a warning.

    Args:
        params: e.g. ``st.query_params.to_dict()``.

    Returns:
        The state and a list of human-readable warnings (one per rejected parameter, and one per
        parameter of the other mode, which is kept but not shown).
    """
    values, warnings = URL.parse(params)
    state = ExplorerState(**values)
    other = NUMBER_FIELDS if state.mode == "digit" else DIGIT_FIELDS  # to_query leaves these out of the link
    for key in (k for k in other if k in values):
        shown = URL[key].encode(values[key])
        warnings.append(plain(f"The link's {URL[key].name}={shown!r} belongs to the other mode; it is kept for when "
                              "you switch, and left out of the link until then."))
    return state, warnings


def to_query(state: ExplorerState) -> dict[str, str]:
    """The query parameters for ``state`` (only those that matter in its mode; no empty ones)."""
    hidden = NUMBER_FIELDS if state.mode == "digit" else DIGIT_FIELDS
    values = {k: v for k, v in vars(state).items() if k not in hidden and v not in (None, "")}
    return URL.encode(values)


def rounded(logits: np.ndarray) -> list[float]:
    """Logits as the sliders hold them."""
    return [round(float(v), LOGIT_DECIMALS) for v in logits]
