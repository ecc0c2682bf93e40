"""Evaluation of Monte-Carlo predictions: accuracy-type scores, calibration and uncertainty.

Every function takes the per-draw class probabilities ``probs: (S, N, C)`` (S weight draws, N inputs,
C classes) or their mean ``p_mean: (N, C)`` and labels ``y: (N,)``. Logs are natural (nats).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch

_EPS = 1e-12
_ROUND_OFF = 1e-9  # below this, MI (nats) and std of probabilities are float round-off
UNCERTAINTY_MEASURES = ("predictive_entropy", "expected_entropy", "mutual_information", "std_p_positive")


def _np(a: torch.Tensor | np.ndarray) -> np.ndarray:
    return a.detach().cpu().double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=np.float64)


def _check(probs: np.ndarray, y: np.ndarray) -> None:
    if probs.ndim != 3:
        raise ValueError(f"probs must have shape (S, N, C), got {probs.shape}")
    if y.ndim != 1 or y.shape[0] != probs.shape[1]:
        raise ValueError(f"y must have shape (N,) with N={probs.shape[1]}, got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= probs.shape[2]):
        raise ValueError(f"labels must be in [0, {probs.shape[2] - 1}]")


def accuracy(p_mean: np.ndarray, y: np.ndarray) -> float:
    """Share of ``argmax p_mean == y``. ``p_mean: (N, C)``."""
    return float(np.mean(p_mean.argmax(1) == y))


def balanced_accuracy(p_mean: np.ndarray, y: np.ndarray) -> float:
    """Mean per-class recall over the classes present in ``y`` (sklearn's definition)."""
    pred = p_mean.argmax(1)
    return float(np.mean([np.mean(pred[y == c] == c) for c in np.unique(y)]))


def auroc(score: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve of ``score: (N,)`` for binary ``y`` (Mann–Whitney U with tie midranks).

    Returns NaN when ``y`` holds a single class.
    """
    pos, neg = score[y == 1], score[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = score[order]
    # Midranks: equal scores share the mean of their 1-based rank positions.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    mid = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(mid, counts)
    u = ranks[y == 1].sum() - len(pos) * (len(pos) + 1) / 2.0
    return float(u / (len(pos) * len(neg)))


def error_auroc(u: np.ndarray, correct: np.ndarray) -> float:
    """Error-detection AUROC: how well uncertainty ``u: (N,)`` ranks wrong predictions above right ones.

    The probability that a random misclassified input gets a higher ``u`` than a random correct one (ties
    count half): 0.5 = no better than chance, 1 = every error is more uncertain than every success.
    Threshold-free, unlike the mean-difference gap. NaN when all predictions are right (or all wrong).
    """
    return auroc(np.asarray(u, dtype=np.float64), (~np.asarray(correct, dtype=bool)).astype(np.int64))


def nll(p_mean: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log of the MC-averaged probability of the true class (nats)."""
    return float(-np.mean(np.log(np.clip(p_mean[np.arange(len(y)), y], _EPS, None))))


def brier(p_mean: np.ndarray, y: np.ndarray) -> float:
    """Multi-class Brier score: mean over inputs of ``sum_c (p_c - 1[y=c])^2``.

    For two classes this is twice scikit-learn's ``brier_score_loss`` on ``p(class 1)``.
    """
    onehot = np.eye(p_mean.shape[1])[y]
    return float(np.mean(np.sum((p_mean - onehot) ** 2, axis=1)))


@dataclass
class ReliabilityBins:
    """Equal-width confidence bins ``(lo, hi]`` (the first bin also holds confidence 0).

    Attributes:
        edges: ``(M+1,)`` bin edges on [0, 1].
        count: ``(M,)`` inputs per bin.
        confidence: ``(M,)`` mean max-probability in the bin (NaN if empty).
        accuracy: ``(M,)`` share correct in the bin (NaN if empty).
    """

    edges: list[float]
    count: list[int]
    confidence: list[float]
    accuracy: list[float]


def reliability(p_mean: np.ndarray, y: np.ndarray, n_bins: int = 10) -> tuple[float, ReliabilityBins]:
    """Expected calibration error and its reliability-diagram bins.

    ``ECE = sum_m |B_m|/N * |acc(B_m) - conf(B_m)|`` with confidence = max class probability.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    conf = p_mean.max(1)
    correct = (p_mean.argmax(1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    sum_conf = np.bincount(idx, weights=conf, minlength=n_bins)
    sum_acc = np.bincount(idx, weights=correct, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(count > 0, sum_conf / count, np.nan)
        mean_acc = np.where(count > 0, sum_acc / count, np.nan)
    ece = float(np.sum(np.abs(sum_acc - sum_conf)) / max(len(y), 1))
    return ece, ReliabilityBins(edges.tolist(), count.astype(int).tolist(), mean_conf.tolist(), mean_acc.tolist())


def _entropy(p: np.ndarray) -> np.ndarray:
    return -np.sum(p * np.log(np.clip(p, _EPS, None)), axis=-1)


def per_sample_uncertainty(probs: torch.Tensor | np.ndarray, positive_class: int = 1) -> dict[str, np.ndarray]:
    """Per-input uncertainty measures from MC probabilities ``probs: (S, N, C)``.

    Returns a dict of ``(N,)`` arrays:
        ``predictive_entropy`` = H[mean_s p_s] (total), ``expected_entropy`` = mean_s H[p_s] (aleatoric),
        ``mutual_information`` = their difference (epistemic, >= 0), ``std_p_positive`` = population std
        (ddof=0) over draws of p(class ``positive_class``), i.e. of p(malignant).
    """
    p = _np(probs)
    if p.ndim != 3:
        raise ValueError(f"probs must have shape (S, N, C), got {p.shape}")
    total = _entropy(p.mean(0))
    aleatoric = _entropy(p).mean(0)
    # Identical draws (a deterministic model) give MI = std = 0 exactly; float round-off leaves ~1e-16 noise
    # that would otherwise rank inputs at random in the error-detection AUROC. MI >= 0 by Jensen.
    mi = total - aleatoric
    std = p[:, :, positive_class].std(0)
    return {
        "predictive_entropy": total,
        "expected_entropy": aleatoric,
        "mutual_information": np.where(mi < _ROUND_OFF, 0.0, mi),
        "std_p_positive": np.where(std < _ROUND_OFF, 0.0, std),
    }


@dataclass
class Gap:
    """Uncertainty gap = mean over misclassified − mean over correct, with a bootstrap percentile CI."""

    gap: float
    ci_low: float
    ci_high: float
    mean_wrong: float
    mean_right: float
    n_wrong: int
    n_right: int


def uncertainty_gap(
    u: np.ndarray, correct: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> Gap:
    """Gap of uncertainty ``u: (N,)`` between wrong and right predictions with a bootstrap CI.

    The bootstrap resamples the wrong and the right group separately (stratified), so every replicate
    has both groups; the CI is the percentile interval. With no wrong (or no right) prediction the gap
    and CI are NaN.
    """
    u = np.asarray(u, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    wrong_u, right_u = u[~correct], u[correct]
    if len(wrong_u) == 0 or len(right_u) == 0:
        nan = float("nan")
        m_w = float(wrong_u.mean()) if len(wrong_u) else nan
        m_r = float(right_u.mean()) if len(right_u) else nan
        return Gap(nan, nan, nan, m_w, m_r, len(wrong_u), len(right_u))
    rng = np.random.default_rng(seed)
    bw = wrong_u[rng.integers(0, len(wrong_u), size=(n_boot, len(wrong_u)))].mean(1)
    br = right_u[rng.integers(0, len(right_u), size=(n_boot, len(right_u)))].mean(1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(bw - br, [alpha, 1.0 - alpha])
    m_w, m_r = float(wrong_u.mean()), float(right_u.mean())
    return Gap(m_w - m_r, float(lo), float(hi), m_w, m_r, len(wrong_u), len(right_u))


@dataclass
class Evaluation:
    """All scores of one set of MC predictions. ``per_sample`` holds ``(N,)`` arrays (not JSON)."""

    accuracy: float
    balanced_accuracy: float
    auroc: float
    nll: float
    brier: float
    ece: float
    reliability: ReliabilityBins
    uncertainty_gap: dict[str, Gap]
    n: int
    n_samples: int
    error_auroc: dict[str, float] = field(default_factory=dict)
    per_sample: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly summary (no per-sample arrays)."""
        skip = ("per_sample", "reliability", "uncertainty_gap")
        d: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        d["reliability"] = asdict(self.reliability)
        d["uncertainty_gap"] = {k: asdict(g) for k, g in self.uncertainty_gap.items()}
        return d

    def scalars(self) -> dict[str, float]:
        """Flat ``{name: float}`` for tables/history: scores plus ``gap_<measure>`` and ``error_auroc_<measure>``."""
        out = {k: float(getattr(self, k)) for k in ("accuracy", "balanced_accuracy", "auroc", "nll", "brier", "ece")}
        out.update({f"gap_{k}": g.gap for k, g in self.uncertainty_gap.items()})
        out.update({f"error_auroc_{k}": float(v) for k, v in self.error_auroc.items()})
        return out


def evaluate(
    probs: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    n_bins: int = 10,
    n_boot: int = 1000,
    seed: int = 0,
    positive_class: int = 1,
) -> Evaluation:
    """Score MC predictions.

    Args:
        probs: ``(S, N, C)`` class probabilities per weight draw (S=1 for a deterministic model).
        y: ``(N,)`` integer labels.
        n_bins: reliability bins for ECE.
        n_boot: bootstrap replicates for the uncertainty-gap CIs.
        seed: bootstrap seed.
        positive_class: class whose probability is "p(malignant)" (AUROC score, std measure).

    Returns:
        An :class:`Evaluation` (``auroc`` = class-1 AUROC of ``p_mean``; ``error_auroc[measure]`` =
        :func:`error_auroc` of each uncertainty measure); ``per_sample`` has ``p_positive``, ``pred``, ``correct``, ``label`` and the
        four uncertainty measures, each ``(N,)``.
    """
    p = _np(probs)
    yy = np.asarray(y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else y).astype(np.int64)
    _check(p, yy)
    p_mean = p.mean(0)
    ece, bins = reliability(p_mean, yy, n_bins)
    unc = per_sample_uncertainty(p, positive_class)
    correct = p_mean.argmax(1) == yy
    gaps = {k: uncertainty_gap(v, correct, n_boot=n_boot, seed=seed) for k, v in unc.items()}
    err_auroc = {k: error_auroc(v, correct) for k, v in unc.items()}
    per_sample = {"p_positive": p_mean[:, positive_class], "pred": p_mean.argmax(1), "correct": correct, "label": yy}
    per_sample.update(unc)
    return Evaluation(
        accuracy=accuracy(p_mean, yy), balanced_accuracy=balanced_accuracy(p_mean, yy),
        auroc=auroc(p_mean[:, positive_class], yy) if p.shape[2] == 2 else float("nan"),
        nll=nll(p_mean, yy), brier=brier(p_mean, yy), ece=ece, reliability=bins, uncertainty_gap=gaps,
        n=len(yy), n_samples=p.shape[0], error_auroc=err_auroc, per_sample=per_sample,
    )
