"""Plotly figure builders for the QCBNN pages and notebooks (data in, ``go.Figure`` out; no Streamlit).

Colours: the four models of the comparison have fixed colours (``MODEL_COLORS``: QCBNN purple, BNN teal,
the MLP control orange, the CNN grey), so side-by-side charts read the same everywhere; other names (the
architecture study's circuit families) take colours from ``_PALETTE``, which avoids those four.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

QCBNN_COLOR = "#7b3fe4"
BNN_COLOR = "#1f9e89"
MLP_COLOR = "#e4572e"
CNN_COLOR = "#6c757d"
MODEL_COLORS = {"QCBNN": QCBNN_COLOR, "BNN": BNN_COLOR, "MLP": MLP_COLOR, "CNN": CNN_COLOR}
_PALETTE = ["#f3a712", "#2e86de", "#c2185b", "#8d6e63", "#00838f", "#9e9d24", "#283593", "#ad1457"]


def color_of(name: str, index: int = 0) -> str:
    """The model's fixed colour (QCBNN, BNN, MLP, CNN) or a palette colour by position."""
    return MODEL_COLORS.get(name, _PALETTE[index % len(_PALETTE)])


def _bitstrings(dim: int) -> list[str]:
    n = max(1, int(round(math.log2(dim))))
    return [format(b, f"0{n}b") for b in range(dim)]


# ----------------------------------------------------------------------------- generator
def noise_figure(z: np.ndarray, title: str = "Circuit input per qubit") -> go.Figure:
    """Bar per qubit of the input vector ``z: (n,)`` (range [-1, 1] marked)."""
    fig = go.Figure(go.Bar(x=[f"q{q}" for q in range(len(z))], y=z, marker_color=QCBNN_COLOR,
                           text=[f"{v:.2f}" for v in z], textposition="outside"))
    lim = max(1.05, float(np.abs(z).max()) * 1.15)
    fig.update_layout(title=title, yaxis_range=[-lim, lim], yaxis_title="value", height=320,
                      margin=dict(t=50, b=40))
    return fig


def state_figure(probs: np.ndarray, title: str, highlight: int | None = None) -> go.Figure:
    """Basis-state probabilities ``probs: (2**n,)`` as bars labelled by bitstring (wire 0 first)."""
    colors = [QCBNN_COLOR] * len(probs)
    if highlight is not None:
        colors[highlight] = "#e4572e"
    fig = go.Figure(go.Bar(x=_bitstrings(len(probs)), y=probs, marker_color=colors,
                           hovertemplate="|%{x}⟩: %{y:.4f}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="basis state (bitstring)", yaxis_title="probability",
                      xaxis_type="category", height=320, margin=dict(t=50, b=40))
    return fig


def weights_figure(w: np.ndarray, title: str = "The 64 drawn weights", highlight: int | None = None) -> go.Figure:
    """Bar per weight of ``w: (n_weights,)``."""
    colors = [QCBNN_COLOR] * len(w)
    if highlight is not None:
        colors[highlight] = "#e4572e"
    fig = go.Figure(go.Bar(x=np.arange(len(w)), y=w, marker_color=colors,
                           hovertemplate="w_%{x}: %{y:.3f}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="weight index j", yaxis_title="w_j", height=320,
                      margin=dict(t=50, b=40))
    return fig


def kernels_figure(kernels: np.ndarray, title: str = "16 conv kernels (2×2)") -> go.Figure:
    """Grid of ``kernels: (M, k, k)`` heatmaps with one shared, zero-centred colour scale."""
    m = kernels.shape[0]
    cols = int(math.ceil(math.sqrt(m)))
    rows = int(math.ceil(m / cols))
    lim = float(np.abs(kernels).max()) or 1.0
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"map {i}" for i in range(m)],
                        horizontal_spacing=0.03, vertical_spacing=0.08)
    for i in range(m):
        fig.add_trace(go.Heatmap(z=kernels[i], zmin=-lim, zmax=lim, colorscale="RdBu", reversescale=True,
                                 showscale=i == 0, texttemplate="%{z:.2f}", hovertemplate="%{z:.3f}<extra></extra>"),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, autorange="reversed")
    fig.update_layout(title=title, height=120 * rows + 80, margin=dict(t=70, b=20))
    return fig


def shots_figure(counts: np.ndarray, exact: np.ndarray, title: str = "Bitstrings from shots") -> go.Figure:
    """Shot histogram (``counts: (2**n,)``, as frequencies) against the exact probabilities."""
    labels = _bitstrings(len(counts))
    total = max(int(counts.sum()), 1)
    fig = go.Figure([
        go.Bar(x=labels, y=counts / total, name=f"{total} shots", marker_color=QCBNN_COLOR, opacity=0.75),
        go.Scatter(x=labels, y=exact, name="exact |amplitude|²", mode="markers", marker=dict(color="black", size=6)),
    ])
    fig.update_layout(title=title, xaxis_type="category", xaxis_title="bitstring", yaxis_title="frequency",
                      height=400, legend=dict(orientation="h", y=-0.45), margin=dict(t=50, b=110))
    return fig


def gaussian_pdf(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """Normal density N(mu, sigma²) at ``x``."""
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


# Rare draws far out (up to 17 with 8 qubits) would set the x-range and squeeze the mass into a
# sliver: the axis covers the central 99 % of each sample, and the title counts what lies outside.
TAIL_QUANTILE = 0.005


def weight_hist_figure(samples: Mapping[str, np.ndarray], prior_sigma: float | None = None,
                       gaussians: Mapping[str, tuple[float, float]] | None = None,
                       title: str = "Weight distribution", nbins: int = 60) -> go.Figure:
    """Density histograms of 1-D weight samples, optionally with Gaussian curves and the prior.

    The x-range spans each sample's central 99 % (``TAIL_QUANTILE`` on each side), the prior's ±3σ
    and each Gaussian's ±4σ; draws outside it are left out of the bars but kept in the density's
    denominator (so the bars still integrate to the shown fraction), and counted in the title.

    Args:
        samples: ``{label: (S,) samples}``, one histogram each.
        prior_sigma: draw the prior N(0, σ²) when given.
        gaussians: ``{label: (mu, sigma)}`` drawn as density curves (e.g. the BNN's weights).
        title: figure title.
        nbins: histogram bins over the shown range.
    """
    fig = go.Figure()
    arrays = {label: np.asarray(s, dtype=float) for label, s in samples.items()}
    lows = [np.quantile(s, TAIL_QUANTILE) for s in arrays.values()]
    highs = [np.quantile(s, 1 - TAIL_QUANTILE) for s in arrays.values()]
    for mu, sigma in (gaussians or {}).values():
        lows.append(mu - 4 * sigma)
        highs.append(mu + 4 * sigma)
    if prior_sigma:
        lows.append(-3 * prior_sigma)
        highs.append(3 * prior_sigma)
    lo, hi = (min(lows), max(highs)) if lows else (-1.0, 1.0)
    if hi <= lo:  # a constant sample
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, nbins + 1)
    outside = 0
    for i, (label, s) in enumerate(arrays.items()):
        counts, _ = np.histogram(s, bins=edges)
        outside += len(s) - int(counts.sum())
        fig.add_trace(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts / (len(s) * np.diff(edges)), width=np.diff(edges),
                             name=label, opacity=0.55, marker_color=color_of(label.split()[0], i),
                             hovertemplate="%{x:.3f}: density %{y:.3f}<extra>" + label + "</extra>"))
    xs = np.linspace(lo, hi, 400)
    for i, (label, (mu, sigma)) in enumerate((gaussians or {}).items()):
        fig.add_trace(go.Scatter(x=xs, y=gaussian_pdf(xs, mu, sigma), name=label, mode="lines",
                                 line=dict(color=color_of(label.split()[0], i + 1), width=2)))
    if prior_sigma:
        fig.add_trace(go.Scatter(x=xs, y=gaussian_pdf(xs, 0.0, prior_sigma), name=f"prior N(0, {prior_sigma:g}²)",
                                 mode="lines", line=dict(color="gray", dash="dash")))
    if outside:
        extreme = max(float(np.abs(s).max()) for s in arrays.values())
        title += f"<br><sup>{outside} draws beyond the shown range (largest |w| = {extreme:.2f})</sup>"
    fig.update_layout(title=title, barmode="overlay", bargap=0, xaxis=dict(title="weight value", range=[lo, hi]),
                      yaxis_title="density", height=380, legend=dict(orientation="h", y=-0.25), margin=dict(t=60))
    return fig


def correlation_figure(corr: np.ndarray, title: str = "Correlation between weights over draws") -> go.Figure:
    """Heatmap of a correlation matrix ``(W, W)`` on [-1, 1]."""
    fig = go.Figure(go.Heatmap(z=corr, zmin=-1, zmax=1, colorscale="RdBu", reversescale=True,
                               hovertemplate="w_%{y} vs w_%{x}: %{z:.2f}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="weight j", yaxis_title="weight i", height=420,
                      yaxis_autorange="reversed", margin=dict(t=50))
    return fig


def pair_figure(a: np.ndarray, b: np.ndarray, i: int, j: int) -> go.Figure:
    """Scatter of two weights over draws (their joint distribution)."""
    fig = go.Figure(go.Scattergl(x=a, y=b, mode="markers", marker=dict(size=4, opacity=0.4, color=QCBNN_COLOR)))
    fig.update_layout(title=f"Joint draws of w_{i} and w_{j}", xaxis_title=f"w_{i}", yaxis_title=f"w_{j}",
                      height=420, margin=dict(t=50))
    return fig


# ----------------------------------------------------------------------------- training
def curves_figure(histories: Mapping[str, Sequence[Mapping[str, float]]],
                  loss_notes: Mapping[str, str] | None = None) -> go.Figure:
    """Per-epoch curves: top row one training-loss panel *per model* (own y-axis), bottom row validation
    accuracy and ECE with all models on shared axes.

    The −ELBO levels are not comparable between models: the KL term comes from different estimators
    (closed form, SIVI bound, adversarial estimate, none), so each loss gets its own axis and its panel
    title names the estimator from ``loss_notes`` (``{name: "closed-form KL"}``).

    Args:
        histories: ``{name: per-epoch records}`` with ``epoch``, ``train_loss``, ``val_accuracy``, ``val_ece``.
        loss_notes: optional ``{name: KL estimator}`` for the loss panel titles.
    """
    names = list(histories)
    cols = max(len(names), 2)
    notes = loss_notes or {}
    titles = [f"{n}: −ELBO" + (f" ({notes[n]})" if n in notes else "") for n in names] + [""] * (cols - len(names))
    titles += ["validation accuracy", "validation ECE"] + [""] * (cols - 2)
    fig = make_subplots(rows=2, cols=cols, subplot_titles=titles, horizontal_spacing=0.06, vertical_spacing=0.22)
    for i, (name, hist) in enumerate(histories.items()):
        epochs = [r["epoch"] for r in hist]
        line = dict(color=color_of(name, i))
        fig.add_trace(go.Scatter(x=epochs, y=[r.get("train_loss") for r in hist], mode="lines+markers", name=name,
                                 legendgroup=name, line=line), row=1, col=i + 1)
        for col, key in ((1, "val_accuracy"), (2, "val_ece")):
            fig.add_trace(go.Scatter(x=epochs, y=[r.get(key) for r in hist], mode="lines+markers", name=name,
                                     legendgroup=name, showlegend=False, line=line), row=2, col=col)
    fig.update_xaxes(title_text="epoch")
    fig.update_annotations(font_size=12)
    fig.update_layout(height=560, margin=dict(t=60, b=40), legend=dict(orientation="h", y=-0.15))
    return fig


def uncertainty_figure(per_sample: Mapping[str, Mapping[str, np.ndarray]], gaps: Mapping[str, Mapping[str, float]],
                       measure: str, measure_label: str) -> go.Figure:
    """Uncertainty of correct vs. wrong test predictions per model, the gap and its CI written on each panel.

    Args:
        per_sample: ``{model: {"correct": (N,) bool, measure: (N,)}}``.
        gaps: ``{model: {"gap", "ci_low", "ci_high", "n_wrong", "n_right"}}`` for ``measure``.
        measure: key of the uncertainty in ``per_sample``.
        measure_label: axis label.
    """
    names = list(per_sample)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, shared_yaxes=True)
    for col, name in enumerate(names, 1):
        ps = per_sample[name]
        correct = np.asarray(ps["correct"], dtype=bool)
        u = np.asarray(ps[measure], dtype=float)
        for group, mask, color in (("correct", correct, "#2e7d32"), ("wrong", ~correct, "#c62828")):
            fig.add_trace(go.Box(y=u[mask], name=f"{group} (n={int(mask.sum())})", marker_color=color,
                                 boxpoints="all", jitter=0.4, pointpos=0, showlegend=False,
                                 hovertemplate=f"{group}: %{{y:.3f}}<extra></extra>"), row=1, col=col)
        g = gaps[name]
        text = (f"gap = {g['gap']:+.3f}<br>95% CI [{g['ci_low']:+.3f}, {g['ci_high']:+.3f}]"
                if math.isfinite(g["gap"]) else "gap undefined<br>(needs right and wrong)")
        fig.add_annotation(text=text, xref=f"x{'' if col == 1 else col} domain", yref="paper", x=0.5, y=1.0,
                           yanchor="bottom", yshift=18, showarrow=False, font=dict(size=13))
    fig.update_yaxes(title_text=measure_label, col=1)
    fig.update_layout(height=420, margin=dict(t=110, b=40))
    return fig


def reliability_figure(bins: Mapping[str, Mapping[str, Sequence[float]]], eces: Mapping[str, float]) -> go.Figure:
    """Reliability diagram: accuracy against mean confidence per bin for each model, with the diagonal.

    Args:
        bins: ``{model: {"confidence": (M,), "accuracy": (M,), "count": (M,)}}`` (NaN for empty bins).
        eces: ``{model: ECE}`` for the legend.
    """
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                               line=dict(color="gray", dash="dash")))
    for i, (name, b) in enumerate(bins.items()):
        conf = np.asarray(b["confidence"], dtype=float)
        acc = np.asarray(b["accuracy"], dtype=float)
        keep = np.isfinite(conf) & np.isfinite(acc)
        fig.add_trace(go.Scatter(x=conf[keep], y=acc[keep], mode="lines+markers", name=f"{name} (ECE {eces[name]:.3f})",
                                 marker=dict(size=6 + 10 * np.sqrt(np.asarray(b["count"])[keep] /
                                                                   max(1, max(b["count"])))),
                                 line=dict(color=color_of(name, i)),
                                 customdata=np.asarray(b["count"])[keep],
                                 hovertemplate="confidence %{x:.2f}: accuracy %{y:.2f} (%{customdata} inputs)"))
    fig.update_layout(title="Reliability diagram (test split; marker size ∝ inputs in the bin)",
                      xaxis_title="mean confidence (max class probability)", yaxis_title="accuracy",
                      xaxis_range=[0, 1.02], yaxis_range=[0, 1.02], height=400,
                      legend=dict(orientation="h", y=-0.25), margin=dict(t=50))
    return fig


def draws_figure(p_draws: np.ndarray, labels: Sequence[str], title: str) -> go.Figure:
    """Predictive distribution of selected inputs: p(positive) of every weight draw, ``p_draws: (S, K)``."""
    fig = go.Figure()
    for k, label in enumerate(labels):
        fig.add_trace(go.Box(x=[label] * len(p_draws), y=p_draws[:, k], name=label, boxpoints="all", jitter=0.5,
                             pointpos=0,
                             marker=dict(size=3, color=_PALETTE[k % len(_PALETTE)]), showlegend=False))
    fig.update_layout(title=title, yaxis_title="p(positive) per weight draw", yaxis_range=[-0.02, 1.02],
                      xaxis_type="category",
                      height=340, margin=dict(t=50))
    return fig


def study_figure(table, metrics: Sequence[str] = ("accuracy", "ECE", "gap predictive entropy")) -> go.Figure:
    """Grouped bars of the architecture study: one group per metric, one bar per model (``table``: a DataFrame)."""
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=list(metrics))
    for col, metric in enumerate(metrics, 1):
        err = None
        if f"{metric} CI low" in table:
            err = dict(type="data", symmetric=False, array=table[f"{metric} CI high"] - table[metric],
                       arrayminus=table[metric] - table[f"{metric} CI low"])
        fig.add_trace(go.Bar(x=table["model"], y=table[metric], error_y=err, showlegend=False,
                             marker_color=[color_of(n, i) for i, n in enumerate(table["model"])]), row=1, col=col)
    fig.update_layout(height=380, margin=dict(t=60, b=40))
    return fig
