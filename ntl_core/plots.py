"""Plotly figures for the scoring results of ``ntl_core.scoring`` (shared by the page and notebooks).

Builders take the dataclasses that ``ntl_core.scoring`` returns and only draw them: every number on
a chart comes from the same code path as the numbers printed next to it.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ntl_core import loss_registry
from ntl_core.scoring import LOSS_NAMES, DigitScore, NumberScore, Sweep

# Colours come from the loss registry, keyed by the labels the scoring dicts use.
LOSS_COLORS: dict[str, str] = {spec.label: spec.colour for spec in loss_registry.LOSSES}
NUMBER_COLOR = loss_registry.get("number").colour
TARGET_COLOR = "#2ca02c"
OTHER_COLOR = "#9aa4b1"
_DIGITS = list(range(10))
_LAYOUT = dict(margin=dict(l=40, r=20, t=50, b=40), template="plotly_white")
PLACE_NAMES = ("units", "tens", "hundreds", "thousands", "ten-thousands", "hundred-thousands",
               "millions", "ten-millions")


def _place_label(position: int, length: int, digit: str) -> str:
    return f"{PLACE_NAMES[length - 1 - position]} ({digit})"


def distribution_figure(score: DigitScore, title: str = "Predicted distribution over the digits") -> go.Figure:
    """Bars of p(digit), the true digit in green, a dashed line at the expected value."""
    colors = [TARGET_COLOR if d == score.target else OTHER_COLOR for d in _DIGITS]
    fig = go.Figure(go.Bar(x=_DIGITS, y=score.probs, marker_color=colors, name="p(digit)",
                           hovertemplate="digit %{x}: p = %{y:.3f}<extra></extra>"))
    fig.add_vline(x=score.expected, line_dash="dash", line_color="black",
                  annotation_text=f"expected value {score.expected:.2f}", annotation_position="top")
    fig.update_layout(title=f"{title} (true digit {score.target} in green)", yaxis=dict(title="probability",
                      range=[0, 1.08]), xaxis=dict(title="digit", tickmode="array", tickvals=_DIGITS),
                      showlegend=False, **_LAYOUT)
    return fig


def losses_figure(score: DigitScore, names: Sequence[str] = LOSS_NAMES) -> go.Figure:
    """One bar per loss, its value printed on it."""
    values = [score.losses[n] for n in names]
    fig = go.Figure(go.Bar(x=list(names), y=values, marker_color=[LOSS_COLORS[n] for n in names],
                           text=[f"{v:.3g}" for v in values], textposition="outside",
                           hovertemplate="%{x}: %{y:.4g}<extra></extra>"))
    top = max(values) if max(values) > 0 else 1.0
    fig.update_layout(title="The same distribution, scored by each loss", yaxis=dict(title="loss",
                      range=[0, top * 1.2]), showlegend=False, **_LAYOUT)
    return fig


def _panels(traces: list, titles: Sequence[str], target: int, x_title: str, title: str,
            shared_y: dict | None = None) -> go.Figure:
    """One row of panels, one trace each, built as a single layout dict.

    ``make_subplots`` plus per-panel ``update_*``/``add_vline`` calls cost ~100 ms per chart (plotly
    validates every call); one dict is validated once, which keeps an explorer rerun short.
    Small panel titles and a two-line chart title let five panels fit a 1024 px projector.

    Args:
        shared_y: axis settings for ONE y-axis shared by every panel (None: each panel scales alone).
    """
    n, gap = len(traces), 0.02 if shared_y is not None else 0.04
    width = (1 - gap * (n - 1)) / n
    layout = dict(_LAYOUT, title=dict(text=title, font_size=14), showlegend=False,
                  margin=dict(l=40, r=10, t=80, b=40), annotations=[], shapes=[])
    for i, (trace, name) in enumerate(zip(traces, titles)):
        suffix = "" if i == 0 else str(i + 1)
        lo = i * (width + gap)
        trace.update(xaxis=f"x{suffix}", yaxis=f"y{suffix}")
        layout[f"xaxis{suffix}"] = dict(domain=[lo, lo + width], anchor=f"y{suffix}", title_text=x_title,
                                        tickvals=_DIGITS[::3])
        if shared_y is None:
            layout[f"yaxis{suffix}"] = dict(anchor=f"x{suffix}")
        elif i:  # the shared axis is drawn once, at the first panel; the others match it
            layout[f"yaxis{suffix}"] = dict(matches="y", anchor=f"x{suffix}", showticklabels=False)
        layout["annotations"].append(dict(text=name, x=lo + width / 2, y=1.0, xref="paper", yref="paper",
                                          xanchor="center", yanchor="bottom", showarrow=False, font_size=12))
        layout["shapes"].append(dict(type="line", x0=target, x1=target, y0=0, y1=1, xref=f"x{suffix}",
                                     yref=f"y{suffix} domain",
                                     line=dict(dash="dot", color=TARGET_COLOR)))
    if shared_y is not None:
        layout["yaxis"] = dict(shared_y, anchor="x")
    return go.Figure(data=traces, layout=layout)


def sweep_figure(sweep: Sweep, names: Sequence[str] = LOSS_NAMES) -> go.Figure:
    """One panel per loss: the loss as the peak moves over the digits; the target marked."""
    traces = [go.Scatter(x=sweep.centers, y=sweep.losses[name], mode="lines+markers", name=name,
                         line_color=LOSS_COLORS[name], hovertemplate="peak at %{x}: %{y:.4g}<extra>" + name + "</extra>")
              for name in names]
    return _panels(traces, names, sweep.target, "peak at",
                   f"Each loss as the peak moves<br><sup>true digit {sweep.target} dotted; "
                   f"T = {sweep.temperature:g}; each panel has its own loss scale</sup>")


# Gradients smaller than this are float noise for teaching purposes (a training step would not
# move the logit visibly); they are drawn as exactly zero and the panel says so.
GRADIENT_FLOOR = 1e-6


def shown_gradient(values: np.ndarray) -> np.ndarray:
    """The bar heights of the gradient chart: ``values`` with every |g| < ``GRADIENT_FLOOR`` set to 0."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.abs(values) < GRADIENT_FLOOR, 0.0, values)


def gradients_figure(score: DigitScore, names: Sequence[str] = LOSS_NAMES) -> go.Figure:
    """One panel per loss on ONE shared y-axis: d loss / d logit for every digit.

    Sharing the axis is the point: NTL gradients of 1e-9 must look like nothing next to CE's ±1,
    not as tall bars on their own scale. Bars below ``GRADIENT_FLOOR`` are drawn as 0 and a
    panel whose bars are all below it is titled "≈ 0"; the hover always gives the exact value.
    """
    shown = {n: shown_gradient(score.gradients[n]) for n in names}
    titles = [f"{n} (≈ 0)" if not shown[n].any() else n for n in names]
    traces = [go.Bar(x=_DIGITS, y=shown[n], marker_color=LOSS_COLORS[n], name=n, customdata=score.gradients[n],
                     hovertemplate="logit of %{x}: %{customdata:.3g}<extra>" + n + "</extra>") for n in names]
    top = max(float(np.abs(v).max()) for v in shown.values())
    span = top * 1.1 if top > 0 else 1.0
    return _panels(traces, titles, score.target, "digit",
                   "Gradient of each loss on each logit, one shared scale<br><sup>negative = training raises "
                   f"that digit; |values| < {GRADIENT_FLOOR:g} drawn as 0</sup>",
                   shared_y=dict(range=[-span, span], zeroline=True, zerolinecolor="#444",
                                 title_text="∂ loss / ∂ logit"))


def number_distributions_figure(score: NumberScore) -> go.Figure:
    """Heatmap of p(digit) per position; x = true digit, diamond = expected digit."""
    length = len(score.target)
    labels = [_place_label(i, length, ch) for i, ch in enumerate(score.target)]
    probs = np.stack([p.probs for p in score.positions])
    fig = go.Figure(go.Heatmap(z=probs, x=_DIGITS, y=labels, colorscale="Blues", zmin=0, zmax=1,
                               colorbar=dict(title="p"),
                               hovertemplate="%{y}, digit %{x}: p = %{z:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[int(c) for c in score.target], y=labels, mode="markers", name="true digit",
                             marker=dict(symbol="x", size=14, color=TARGET_COLOR, line=dict(width=2))))
    fig.add_trace(go.Scatter(x=score.expected_digits, y=labels, mode="markers", name="expected digit",
                             marker=dict(symbol="diamond", size=11, color="black")))
    fig.update_layout(title=f"One distribution per position (target {score.target})",
                      xaxis=dict(title="digit", tickvals=_DIGITS), yaxis=dict(autorange="reversed"),
                      legend=dict(orientation="h", y=-0.25), **_LAYOUT)
    return fig


def number_gradients_figure(score: NumberScore, digit_loss: str = "NTL-WAS") -> go.Figure:
    """Per position, the size of the gradient on its logits: digit-level NTL vs number-level loss.

    Both bars are normalised by their largest position so the *shape* (place value or not) compares.
    """
    length = len(score.target)
    labels = [_place_label(i, length, ch) for i, ch in enumerate(score.target)]
    digit_norm = np.array([np.linalg.norm(p.gradients[digit_loss]) for p in score.positions])
    number_norm = np.linalg.norm(score.number_gradients, axis=1)

    def _rel(v: np.ndarray) -> np.ndarray:
        return v / v.max() if v.max() > 0 else v

    fig = go.Figure([
        go.Bar(x=labels, y=_rel(digit_norm), name=f"digit-level {digit_loss}", marker_color=LOSS_COLORS[digit_loss],
               customdata=digit_norm, hovertemplate="%{x}: |grad| = %{customdata:.3g}<extra></extra>"),
        go.Bar(x=labels, y=_rel(number_norm), name="number-level sMAPE", marker_color=NUMBER_COLOR,
               customdata=number_norm, hovertemplate="%{x}: |grad| = %{customdata:.3g}<extra></extra>"),
    ])
    fig.update_layout(title="How hard each position is pushed (gradient size, largest = 1)", barmode="group",
                      yaxis=dict(title="relative gradient size"), legend=dict(orientation="h", y=-0.2), **_LAYOUT)
    return fig


def number_losses_figure(score: NumberScore, digit_loss: str = "NTL-WAS") -> go.Figure:
    """Per-position digit-level loss next to the single number-level loss."""
    length = len(score.target)
    labels = [_place_label(i, length, ch) for i, ch in enumerate(score.target)]
    per_pos = [p.losses[digit_loss] for p in score.positions]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.7, 0.3],
                        subplot_titles=[f"digit-level {digit_loss} per position", "number-level sMAPE"])
    fig.add_trace(go.Bar(x=labels, y=per_pos, marker_color=LOSS_COLORS[digit_loss], text=[f"{v:.3g}" for v in per_pos],
                         textposition="outside", name=digit_loss), row=1, col=1)
    fig.add_trace(go.Bar(x=["whole number"], y=[score.number_loss], marker_color=NUMBER_COLOR,
                         text=[f"{score.number_loss:.3g}"], textposition="outside", name="sMAPE"), row=1, col=2)
    fig.update_yaxes(range=[0, 1.05], row=1, col=2)
    fig.update_layout(title=f"Expected number {score.expected_number:.2f} vs true {score.true_number}",
                      showlegend=False, **_LAYOUT)
    return fig
