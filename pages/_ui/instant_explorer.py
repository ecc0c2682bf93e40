"""The explorer's instant panel: one digit's losses and gradients computed in the browser (HTML + JS).

Moving a slider here costs no server round-trip: ``instant/ntl_math.js`` recomputes every number
client-side and ``instant/panel.js`` redraws the charts. The numbers are tested against
``ntl_core.scoring`` (``tests/unit/test_instant_math.py``); labels, colours and the gradient floor
come from the same registry and plot module as the server-drawn charts.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import streamlit as st

from ntl_core.loss_registry import DIGIT_LOSSES
from ntl_core.plots import GRADIENT_FLOOR, OTHER_COLOR, TARGET_COLOR
from ntl_core.scoring import LOGIT_LIMIT, LOSS_NAMES

HERE = Path(__file__).resolve().parent / "instant"
HEIGHT = 720

_STYLE = """
body { font-family: "Source Sans Pro", sans-serif; margin: 0; color: #31333f; }
#metrics { display: grid; grid-template-columns: repeat(3, 1fr); gap: 4px 12px; margin: 6px 0; }
.metric .label { font-size: 13px; } .metric .value { font-size: 22px; }
#sliders { display: grid; grid-template-columns: repeat(5, 1fr); gap: 2px 10px; font-size: 12px; }
#sliders input, #target { width: 100%; }
svg { width: 100%; height: auto; display: block; margin-top: 6px; }
.title { font-size: 13px; font-weight: 600; } .tick, .axis { font-size: 11px; fill: #666; }
.tick, .panel { text-anchor: middle; } .panel { font-size: 12px; }
.mean { stroke: black; stroke-dasharray: 4 3; } .zero { stroke: #444; }
.target { stroke: #2ca02c; stroke-dasharray: 2 2; }
"""


def panel_html(logits: np.ndarray, target: int) -> str:
    """The self-contained HTML document of the panel, starting from ``logits`` (10,) and ``target``."""
    config = {"logits": [float(v) for v in logits], "target": int(target), "names": list(LOSS_NAMES),
              "colours": {s.label: s.colour for s in DIGIT_LOSSES}, "floor": GRADIENT_FLOOR,
              "targetColour": TARGET_COLOR, "otherColour": OTHER_COLOR, "limit": LOGIT_LIMIT}
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>{_STYLE}</style></head><body>
<label>True digit y: <b id="target-value"></b>
  <input id="target" type="range" min="0" max="9" step="1" aria-label="instant true digit"></label>
<div id="sliders"></div>
<div id="metrics"></div>
<svg id="dist" viewBox="0 0 600 170"></svg>
<svg id="grad" viewBox="0 0 600 190"></svg>
<script>const CONFIG = {json.dumps(config)};
{(HERE / "ntl_math.js").read_text()}
{(HERE / "panel.js").read_text()}</script></body></html>"""


def instant_panel(logits: np.ndarray, target: int) -> None:
    """Draw the panel (an iframe; its HTML is ours, built from numbers only) in the current container."""
    st.iframe(panel_html(logits, target), height=HEIGHT)
