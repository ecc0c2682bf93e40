"""The Student-t confidence interval of a mean over seeds, shared by both cores' summaries.

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
