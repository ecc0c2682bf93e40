"""Plotly figures of NTL training runs: live curves of each run and per-position digit heatmaps.

Used by the training lab page and notebook 02, so they live in the core (they return figures, never draw).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from ntl_core import loss_registry
from ntl_core.history import eval_rows, train_rows
from ntl_core.objectives import LOSSES, loss_label

MAX_POINTS = 400  # per train curve; longer histories are averaged in bins so a redraw stays cheap
COLORS = {key: loss_registry.get(key).colour for key in LOSSES}  # the same colour as in the explorer
SPLIT_DASH = {"interpolation": "solid", "extrapolation": "dot"}


def _binned(steps: np.ndarray, values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Average consecutive points into at most ``max_points`` bins (keeps the curve's shape, not its noise)."""
    if len(steps) <= max_points:
        return steps, values
    edges = np.linspace(0, len(steps), max_points + 1).astype(int)
    return (np.array([steps[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]),
            np.array([values[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]))


def _panels(n: int, gap: float = 0.06) -> list[list[float]]:
    """Horizontal domains of ``n`` side-by-side panels."""
    width = (1 - gap * (n - 1)) / n
    return [[i * (width + gap), i * (width + gap) + width] for i in range(n)]


def _axis(i: int) -> str:
    return "" if i == 1 else str(i)


def _figure(traces: list[dict], titles: Sequence[str], layout: dict[str, Any]) -> go.Figure:
    """Side-by-side panels from plain dicts.

    Built without plotly's per-property validation (``_validate=False``): validating made a redraw
    ~10x slower (measured: ~180 ms for ``make_subplots`` vs ~16 ms), which the live page pays every tick.
    ``tests/app/test_ntl_lab_logic.py`` checks that the specs pass full validation.
    """
    for i, (domain, title) in enumerate(zip(_panels(len(titles)), titles), start=1):
        layout[f"xaxis{_axis(i)}"] = {"domain": domain, "anchor": f"y{_axis(i)}", **layout.get(f"xaxis{_axis(i)}", {})}
        layout[f"yaxis{_axis(i)}"] = {"anchor": f"x{_axis(i)}", **layout.get(f"yaxis{_axis(i)}", {})}
        layout.setdefault("annotations", []).append(
            {"text": title, "x": sum(domain) / 2, "y": 1.0, "xref": "paper", "yref": "paper", "xanchor": "center",
             "yanchor": "bottom", "showarrow": False})
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def curves_figure(histories: Mapping[str, Sequence[Mapping[str, Any]]]) -> go.Figure:
    """Training loss, exact match and MAE against step, one colour per run.

    The loss panel shows the cross-entropy part (``"ce"``) when the history has it, because the total
    loss of a CE+NTL run also contains the NTL term and would not be comparable with plain CE.
    Held-out metrics: interpolation solid, extrapolation dotted.
    """
    traces: list[dict] = []
    for loss, history in histories.items():
        color = COLORS.get(loss)
        train = train_rows(history)
        key = "ce" if train and "ce" in train[0] else "loss"
        pts = [(row["step"], row[key]) for row in train if row.get(key) is not None]
        if pts:
            x, y = _binned(*(np.asarray(v, dtype=float) for v in zip(*pts)), MAX_POINTS)
            traces.append({"type": "scatter", "x": x.tolist(), "y": y.tolist(), "mode": "lines",
                           "name": loss_label(loss), "legendgroup": loss, "line": {"color": color}})
        for split, dash in SPLIT_DASH.items():
            rows = eval_rows(history, split)
            if not rows:
                continue
            x = [row["step"] for row in rows]
            for axis, metric in (("2", "exact_match"), ("3", "mae")):
                traces.append({
                    "type": "scatter", "x": x, "y": [row.get(metric) for row in rows], "mode": "lines+markers",
                    "xaxis": f"x{axis}", "yaxis": f"y{axis}", "legendgroup": loss,
                    "name": f"{loss_label(loss)} ({split})", "showlegend": axis == "2" and split != "interpolation",
                    "line": {"color": color, "dash": dash}, "marker": {"size": 4}})
    layout = {"height": 360, "margin": {"l": 40, "r": 10, "t": 40, "b": 40},
              "legend": {"orientation": "h", "y": -0.25},
              "xaxis": {"title": {"text": "step"}}, "xaxis2": {"title": {"text": "step"}},
              "xaxis3": {"title": {"text": "step"}}, "yaxis2": {"range": [0, 1]}}
    return _figure(traces, ("Training loss (cross-entropy part)", "Exact match (held-out)",
                            "MAE (held-out, lower is better)"), layout)


def digit_heatmaps(probs: Mapping[str, np.ndarray], question: str, answer: str) -> go.Figure:
    """One heatmap per run: probability of each digit 0-9 (columns) at each answer position (rows).

    Args:
        probs: loss -> array of shape (answer_positions, 10) with entries in [0, 1].
        question: the test question shown in the title.
        answer: its true answer as the model writes it (same order as the rows).
    """
    traces = []
    n_rows = 1
    for i, p in enumerate(probs.values(), start=1):
        p = np.asarray(p, dtype=float)
        n_rows = max(n_rows, p.shape[0])
        rows = [f"pos {k} (true {answer[k] if k < len(answer) else '-'})" for k in range(p.shape[0])]
        traces.append({"type": "heatmap", "z": p.tolist(), "x": [str(d) for d in range(10)], "y": rows,
                       "xaxis": f"x{_axis(i)}", "yaxis": f"y{_axis(i)}", "coloraxis": "coloraxis",
                       "hovertemplate": "digit %{x}<br>%{y}<br>p=%{z:.3f}<extra></extra>"})
    layout: dict[str, Any] = {
        "height": 180 + 40 * n_rows, "margin": {"l": 40, "r": 10, "t": 70, "b": 40},
        "coloraxis": {"colorscale": "Blues", "reversescale": True, "cmin": 0, "cmax": 1,
                      "colorbar": {"title": {"text": "p"}}},
        "title": {"text": f"{question} → {answer}"},
    }
    for i in range(1, len(traces) + 1):
        layout[f"xaxis{_axis(i)}"] = {"title": {"text": "digit"}, "dtick": 1}
        layout[f"yaxis{_axis(i)}"] = {"autorange": "reversed", **({"showticklabels": False} if i > 1 else {})}
    return _figure(traces, [loss_label(k) for k in probs], layout)
