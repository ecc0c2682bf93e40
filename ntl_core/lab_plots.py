"""Plotly figures of NTL training runs: live curves of each run and per-position digit heatmaps.

Used by the training lab page and notebook 02, so they live in the core (they return figures, never draw).
"""
from __future__ import annotations

import math

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from labkit.stats import t_interval
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


def by_loss(histories: Mapping[Any, Sequence[Mapping[str, Any]]]) -> dict[str, list[Sequence[Mapping[str, Any]]]]:
    """Group histories keyed by ``(loss, seed)`` (or by loss alone: one seed) into loss -> [history per seed]."""
    out: dict[str, list] = {}
    for key, history in histories.items():
        out.setdefault(key[0] if isinstance(key, tuple) else key, []).append(history)
    return out


def _mean_band(values: list[list[float]]) -> tuple[list[float], list[float], list[float]]:
    """Mean over seeds and the 95 % t-interval of that mean, per evaluation (None, NaN and ±inf ignored)."""
    bands = [t_interval(col) for col in zip(*values)]
    mean = [b.mean for b in bands]
    half = [b.half_width if np.isfinite(b.half_width) else 0.0 for b in bands]
    return mean, [m - h for m, h in zip(mean, half)], [m + h for m, h in zip(mean, half)]


def _fill(color: str | None) -> str:
    hexa = (color or "#888888").lstrip("#")
    r, g, b = (int(hexa[i: i + 2], 16) for i in (0, 2, 4)) if len(hexa) == 6 else (136, 136, 136)
    return f"rgba({r},{g},{b},0.18)"


EVAL_PANELS = (("2", "exact_match", SPLIT_DASH), ("3", "mape", {"interpolation": "solid"}),
               ("4", "mae", {"interpolation": "solid"}))
# Where each metric can lie: a band is clipped to it (an exact match above 1 or an error below 0 is impossible,
# whatever a t-interval over a few seeds says).
METRIC_RANGE = {"exact_match": (0.0, 1.0), "mape": (0.0, math.inf), "mae": (0.0, math.inf)}
LOG_METRICS = ("mape", "mae")
LOG_FLOOR = 1e-12  # stands for 0 on a log axis (below any axis range drawn)


def curves_figure(histories: Mapping[Any, Sequence[Mapping[str, Any]]], total_steps: int | None = None,
                  show_seeds: bool = False) -> go.Figure:
    """Training loss, exact match, interpolation MAPE and MAE against step: per loss the mean over seeds
    with a band (95 % CI of the mean; none for one seed), and each seed as a thin line on demand.

    Args:
        histories: ``(loss, seed) -> rows`` (or ``loss -> rows`` for one seed per loss).
        total_steps: the x-axes span ``[0, total_steps]`` (so one evaluation is not drawn on an
            axis from 99 to 101); default: the last step seen.
        show_seeds: also draw every seed's curve.

    The loss panel shows the cross-entropy part (``"ce"``) when the history has it, because the total
    loss of a CE+NTL run also contains the NTL term and would not be comparable with plain CE. MAPE and
    MAE are the interpolation split's, each on its own axis: extrapolation errors are orders of
    magnitude larger and would flatten them (exact match shows extrapolation dotted).
    """
    traces: list[dict] = []
    last = 0
    any_train = False
    positive: dict[str, list[float]] = {m: [] for m in LOG_METRICS}
    for loss, runs in by_loss(histories).items():
        color, label = COLORS.get(loss), loss_label(loss)
        curves = []
        for history in runs:
            train = train_rows(history)
            key = "ce" if train and "ce" in train[0] else "loss"
            pts = [(row["step"], row[key]) for row in train if row.get(key) is not None]
            if pts:
                curves.append(_binned(*(np.asarray(v, dtype=float) for v in zip(*pts)), MAX_POINTS))
                last = max(last, int(pts[-1][0]))
        if curves:
            any_train = True
            n = min(len(x) for x, _ in curves)
            traces.append({"type": "scatter", "x": curves[0][0][:n].tolist(),
                           "y": np.mean([y[:n] for _, y in curves], axis=0).tolist(), "mode": "lines",
                           "name": f"{label} (mean of {len(curves)} seed{'s' if len(curves) > 1 else ''})",
                           "legendgroup": loss, "line": {"color": color}})
        for axis, metric, dashes in EVAL_PANELS:
            for split, dash in dashes.items():
                per_seed = [{row["step"]: row.get(metric) for row in eval_rows(h, split)} for h in runs]
                steps = sorted(set.intersection(*(set(d) for d in per_seed))) if per_seed else []
                if not steps:
                    continue
                last = max(last, steps[-1])
                scale = 100.0 if metric == "mape" else 1.0  # MAPE in per cent, as in the verdict and threshold box
                values = [[np.nan if d[s] is None else scale * float(d[s]) for s in steps] for d in per_seed]
                mean, lo, hi = _mean_band(values)
                floor, ceiling = METRIC_RANGE[metric]
                lo, hi = [max(v, floor) for v in lo], [min(v, ceiling) for v in hi]
                if metric in LOG_METRICS:
                    positive[metric] += [m for m in mean if np.isfinite(m) and m > 0]
                    # A log axis cannot show 0: a band reaching 0 is drawn down to the bottom of the axis.
                    lo = [v if v > 0 else LOG_FLOOR for v in lo]
                common = {"xaxis": f"x{axis}", "yaxis": f"y{axis}", "legendgroup": loss}
                if len(runs) > 1:
                    # mode "lines" with no width: a filled area only (plotly's default mode for a few points adds
                    # markers, which drew the band's corners as stray dots).
                    traces.append({"type": "scatter", "x": steps + steps[::-1], "y": hi + lo[::-1], "fill": "toself",
                                   "mode": "lines", "fillcolor": _fill(color), "line": {"width": 0},
                                   "hoverinfo": "skip", "showlegend": False, **common})
                traces.append({"type": "scatter", "x": steps, "y": mean, "mode": "lines+markers",
                               "name": f"{label} ({split})", "showlegend": axis == "2",
                               "line": {"color": color, "dash": dash}, "marker": {"size": 4}, **common})
                if show_seeds:
                    traces += [{"type": "scatter", "x": steps, "y": v, "mode": "lines", "showlegend": False,
                                "line": {"color": color, "width": 0.7, "dash": dash}, "opacity": 0.5, **common}
                               for v in values]
    span = [0, max(total_steps or last, 1)]
    layout = {"height": 340, "margin": {"l": 40, "r": 10, "t": 40, "b": 40},
              "legend": {"orientation": "h", "y": -0.25}, "yaxis2": {"range": [0, 1]},
              **{f"xaxis{_axis(i)}": {"title": {"text": "step"}, "range": span} for i in range(1, 5)}}
    # Errors early in training are orders of magnitude above the final ones (and one wild seed sets a linear
    # scale): MAPE always on a log axis, MAE when its means span two decades or more.
    mae = positive["mae"]
    log_mae = bool(mae) and max(mae) >= 100 * min(mae)
    layout["yaxis3"] = _log_range(positive["mape"])
    if log_mae:
        layout["yaxis4"] = _log_range(mae)
    # Runs saved with evaluations only (e.g. the design-search gallery) would otherwise leave a bare panel.
    loss_title = "Training loss (CE part)" if any_train else "Training loss (not recorded in these runs)"
    return _figure(traces, (loss_title, "Exact match (held-out)", "MAPE % (interpolation, log)",
                            "MAE (interpolation, log)" if log_mae else "MAE (interpolation)"), layout)


def _log_range(values: list[float]) -> dict:
    """A log y-axis spanning the positive means (a decade of room below), so a band floored at
    :data:`LOG_FLOOR` runs to the axis's bottom rather than stretching it."""
    if not values:
        return {"type": "log"}
    low, high = math.log10(min(values)), math.log10(max(values))
    return {"type": "log", "range": [low - 1, high + 0.3]}


def digit_heatmaps(probs: Mapping[str, np.ndarray], question: str, answer: str) -> go.Figure:
    """One heatmap per run: probability of each digit 0-9 (columns) at each answer position (rows).

    Args:
        probs: loss -> array of shape (answer_positions, 10) with entries in [0, 1].
        question: the test question shown in the title.
        answer: its true answer as the model writes it (same order as the rows).
    """
    traces = []
    n_rows = 1
    annotations = []
    panels = _panels(len(probs))
    for i, p in enumerate(probs.values(), start=1):
        p = np.asarray(p, dtype=float).reshape(-1, 10)
        if p.shape[0] == 0:  # the model wrote <eos> at once: say so instead of an empty axis from -1 to 6
            annotations.append({"text": "wrote no digits", "x": sum(panels[i - 1]) / 2, "y": 0.5, "xref": "paper",
                                "yref": "paper", "showarrow": False, "font": {"size": 14}})
            continue
        n_rows = max(n_rows, p.shape[0])
        rows = [f"pos {k} (true {answer[k] if k < len(answer) else '-'})" for k in range(p.shape[0])]
        traces.append({"type": "heatmap", "z": p.tolist(), "x": [str(d) for d in range(10)], "y": rows,
                       "xaxis": f"x{_axis(i)}", "yaxis": f"y{_axis(i)}", "coloraxis": "coloraxis",
                       "hovertemplate": "digit %{x}<br>%{y}<br>p=%{z:.3f}<extra></extra>"})
    # At least 300 px: with a few answer rows the colour bar (it spans the plot area) was squashed.
    layout: dict[str, Any] = {
        "height": max(300, 180 + 40 * n_rows), "margin": {"l": 40, "r": 10, "t": 70, "b": 40},
        "coloraxis": {"colorscale": "Blues", "reversescale": True, "cmin": 0, "cmax": 1,
                      "colorbar": {"title": {"text": "p"}, "len": 1.0, "lenmode": "fraction", "thickness": 14,
                                   "tickvals": [0, 0.5, 1]}},
        "title": {"text": f"{question} → {answer}"}, "annotations": annotations,
    }
    for i in range(1, len(probs) + 1):
        empty = not any(t["xaxis"] == f"x{_axis(i)}" for t in traces)
        layout[f"xaxis{_axis(i)}"] = {"title": {"text": "digit"}, "dtick": 1, "visible": not empty}
        layout[f"yaxis{_axis(i)}"] = {"autorange": "reversed", "visible": not empty,
                                      **({"showticklabels": False} if i > 1 else {})}
    return _figure(traces, [loss_label(k) for k in probs], layout)
