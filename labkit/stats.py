"""Confidence intervals shared by both cores' summaries: Student-t for unbounded quantities, bounded ones
for proportions.

* :func:`t_interval` — the mean over seeds ± Student-t; for quantities without natural bounds (uncertainty
  gaps, log ratios, weight spreads).
* :func:`bootstrap_interval` — the percentile bootstrap of the mean over seeds; for bounded metrics
  (accuracy, AUROC, ECE, and their paired differences). Every resampled mean lies inside the values' range,
  so the interval never leaves [0, 1] for proportions (or [−1, 1] for their differences), which a
  t-interval over few seeds does (0.58–1.15 for an accuracy over two seeds).
* :func:`wilson_interval` — one run's proportion k/n (an accuracy on n test images), inside [0, 1] even at
  k = 0 or k = n.

Dropping rule: ``None``, NaN and ±inf are all left out and ``n`` counts what is kept. None and NaN mark a
missing value (a run that never reached a threshold, a gap undefined on a seed without a wrong prediction);
an infinite value would make the mean ±inf and the interval NaN, which summarises nothing about the
other seeds, so it is dropped too (no caller produces one on purpose).

The t quantile is cached per ``(level, df)``: ``scipy.stats.t.ppf`` costs ~0.1 ms a call and the NTL lab
recomputes a band per evaluation step for every loss on each redraw, while ``df`` only takes the few values
``seeds − 1``.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy import stats


class TInterval(NamedTuple):
    """``mean ± half_width`` with ``half_width = t_{(1+level)/2, n−1} · sd / √n``.

    ``mean`` is NaN for ``n = 0``; ``sd`` (ddof=1) and ``half_width`` are NaN for ``n < 2``.
    """

    mean: float
    sd: float
    half_width: float
    n: int


@lru_cache(maxsize=256)
def t_quantile(level: float, df: int) -> float:
    """The two-sided ``level`` quantile ``t_{(1+level)/2, df}`` of Student's t (cached)."""
    return float(stats.t.ppf(0.5 + level / 2, df))


def t_interval(values: Iterable[float | None], level: float = 0.95) -> TInterval:
    """Mean, sd and the half-width of the Student-t interval of the finite ``values`` (see the module rule).

    Args:
        values: one number per seed; ``None`` and non-finite entries are dropped.
        level: the confidence level, in (0, 1).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    x = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    n = int(x.size)
    if n == 0:
        return TInterval(math.nan, math.nan, math.nan, 0)
    if n == 1:
        return TInterval(float(x[0]), math.nan, math.nan, 1)
    sd = float(x.std(ddof=1))
    return TInterval(float(x.mean()), sd, t_quantile(level, n - 1) * sd / math.sqrt(n), n)


BOOTSTRAP_REPLICATES = 10_000
BOOTSTRAP_SEED = 0  # fixed: a summary must not change between two readings of the same runs


def bootstrap_interval(values: Iterable[float | None], level: float = 0.95,
                       n_boot: int = BOOTSTRAP_REPLICATES) -> tuple[float, float, float, int]:
    """Mean and percentile-bootstrap interval of the mean of the finite ``values`` (dropping rule as above).

    Resampling seeds with replacement, the interval is the ``(1 ± level)/2`` quantiles of the resampled
    means: it always lies within ``[min(values), max(values)]``, hence inside the metric's bounds. With
    few seeds it is *narrower* than a t-interval (it knows nothing about the spread it has not seen), so
    verdicts read it together with ``n``. Deterministic: a fixed generator seed.

    Returns:
        ``(mean, low, high, n)``; ``low``/``high`` are NaN for ``n < 2`` and ``mean`` is NaN for ``n = 0``.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    x = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    if n == 1:
        return float(x[0]), math.nan, math.nan, 1
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    means = x[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    low, high = np.quantile(means, [0.5 - level / 2, 0.5 + level / 2])
    return float(x.mean()), float(low), float(high), n


def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (one run's accuracy on ``n`` images).

    Raises:
        ValueError: ``n < 1`` or ``k`` outside ``0..n``.
    """
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # At k = 0 or k = n one bound is the observed proportion itself; rounding must not move it past p.
    return (0.0 if k == 0 else max(0.0, centre - half)), (1.0 if k == n else min(1.0, centre + half))
