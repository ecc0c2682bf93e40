"""Plotly figures of the training lab: live curves of each run and per-position digit heatmaps."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pages._ui.ntl_lab import loss_label

MAX_POINTS = 400  # per train curve; longer histories are averaged in bins so a redraw stays cheap
COLORS = {"ce": "#636efa", "mse": "#00cc96", "was": "#ef553b", "reg": "#ab63fa"}
SPLIT_DASH = {"interpolation": "solid", "extrapolation": "dot"}


def _binned(steps: np.ndarray, values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Average consecutive points into at most ``max_points`` bins (keeps the curve's shape, not its noise)."""
    if len(steps) <= max_points:
        return steps, values
    edges = np.linspace(0, len(steps), max_points + 1).astype(int)
    return (np.array([steps[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]),
            np.array([values[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]))


def curves_figure(histories: Mapping[str, Sequence[Mapping[str, Any]]]) -> go.Figure:
    """Training loss, exact match and MAE against step, one colour per run.

    The loss panel shows the cross-entropy part (``"ce"``) when the history has it, because the total
    loss of a CE+NTL run also contains the NTL term and would not be comparable with plain CE.
    Held-out metrics: interpolation solid, extrapolation dotted.
    """
    fig = make_subplots(rows=1, cols=3, subplot_titles=(
        "Training loss (cross-entropy part)", "Exact match (held-out)", "MAE (held-out, lower is better)"))
    for loss, history in histories.items():
        color = COLORS.get(loss)
        train = [row for row in history if "split" not in row]
        key = "ce" if train and "ce" in train[0] else "loss"
        pts = [(row["step"], row[key]) for row in train if row.get(key) is not None]
        if pts:
            x, y = _binned(*(np.asarray(v, dtype=float) for v in zip(*pts)), MAX_POINTS)
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=loss_label(loss), legendgroup=loss,
                                     line={"color": color}), row=1, col=1)
        for split, dash in SPLIT_DASH.items():
            rows = [row for row in history if row.get("split") == split]
            if not rows:
                continue
            x = [row["step"] for row in rows]
            for col, metric in ((2, "exact_match"), (3, "mae")):
                fig.add_trace(go.Scatter(
                    x=x, y=[row.get(metric) for row in rows], mode="lines+markers", legendgroup=loss,
                    name=f"{loss_label(loss)} ({split})", showlegend=col == 2 and split != "interpolation",
                    line={"color": color, "dash": dash}, marker={"size": 4}), row=1, col=col)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    fig.update_layout(height=360, margin={"l": 40, "r": 10, "t": 40, "b": 40},
                      legend={"orientation": "h", "y": -0.25})
    return fig


def digit_heatmaps(probs: Mapping[str, np.ndarray], question: str, answer: str) -> go.Figure:
    """One heatmap per run: probability of each digit 0-9 (columns) at each answer position (rows).

    Args:
        probs: loss -> array of shape (answer_positions, 10), rows summing to 1.
        question: the test question shown in the title.
        answer: its true answer, in the order of the rows.
    """
    fig = make_subplots(rows=1, cols=len(probs), subplot_titles=[loss_label(k) for k in probs],
                        shared_yaxes=True, horizontal_spacing=0.04)
    for col, p in enumerate(probs.values(), start=1):
        p = np.asarray(p, dtype=float)
        rows = [f"pos {i} (true {answer[i] if i < len(answer) else '-'})" for i in range(p.shape[0])]
        fig.add_trace(go.Heatmap(z=p, x=[str(d) for d in range(10)], y=rows, zmin=0, zmax=1,
                                 coloraxis="coloraxis", hovertemplate="digit %{x}<br>%{y}<br>p=%{z:.3f}<extra></extra>"),
                      row=1, col=col)
    fig.update_xaxes(title_text="digit")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=120 + 40 * max(np.asarray(p).shape[0] for p in probs.values()),
                      coloraxis={"colorscale": "Blues", "cmin": 0, "cmax": 1}, title_text=f"{question} → {answer}",
                      margin={"l": 40, "r": 10, "t": 70, "b": 40})
    return fig
