"""Answer-level metrics: exact match, per-digit accuracy, MAE, MAPE, R².

All functions take answers as strings in normal digit order (``"46"``, ``"-7"``), so that a
model's text output and a regression head's rounded number are scored by the same code.
"""
from __future__ import annotations

import math
import re

import numpy as np

_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def parse_number(text: str) -> float | None:
    """The value of ``text`` if it is a plain decimal number (``"12"``, ``"-3.5"``), else ``None``."""
    text = text.strip()
    return float(text) if _NUMBER.fullmatch(text) else None


def digit_accuracy(pred: str, true: str) -> float:
    """Fraction of the true answer's digits that the prediction has at the same place value.

    Digits are aligned at the units (rightmost) place and the sign is ignored, so ``"47"`` against
    ``"46"`` scores 0.5 and ``"6"`` against ``"46"`` scores 0.5 (the tens digit is missing).
    Extra leading digits of the prediction are not counted here; exact match and MAE see them.
    """
    t = true.lstrip("-")
    p = pred.strip().lstrip("-")
    if not t.isdigit():
        return float(pred.strip() == true)
    hits = sum(1 for i in range(1, len(t) + 1) if i <= len(p) and p[-i] == t[-i])
    return hits / len(t)


def answer_metrics(preds: list[str], trues: list[str]) -> dict[str, float]:
    """Score predicted answers against the true ones.

    Args:
        preds: predicted answers, normal digit order.
        trues: true answers, same length.

    Returns:
        ``exact_match`` (fraction of identical strings), ``digit_acc`` (mean of
        :func:`digit_accuracy`), ``valid`` (fraction of predictions that parse as a number) and,
        over the pairs where both parse, ``mae`` (mean |ŷ − y|), ``mape`` (mean |ŷ − y| / max(|y|, 1),
        a fraction; the floor of 1 keeps y = 0 defined) and ``r2`` (1 − Σ(ŷ − y)² / Σ(y − ȳ)²).
        Numeric metrics are ``nan`` when fewer than one (R²: two distinct) numeric pairs exist.

    Raises:
        ValueError: if the lists differ in length or are empty.
    """
    if len(preds) != len(trues) or not trues:
        raise ValueError(f"need equally long, non-empty lists; got {len(preds)} predictions, {len(trues)} answers")
    exact = float(np.mean([p.strip() == t for p, t in zip(preds, trues)]))
    digits = float(np.mean([digit_accuracy(p, t) for p, t in zip(preds, trues)]))
    parsed = [(parse_number(p), parse_number(t)) for p, t in zip(preds, trues)]
    numeric = np.array([(p, t) for p, t in parsed if p is not None and t is not None], dtype=float)
    out = {"exact_match": exact, "digit_acc": digits, "valid": float(np.mean([p is not None for p, _ in parsed]))}
    if numeric.size == 0:
        return {**out, "mae": math.nan, "mape": math.nan, "r2": math.nan}
    yhat, y = numeric[:, 0], numeric[:, 1]
    err = yhat - y
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    out["mae"] = float(np.mean(np.abs(err)))
    out["mape"] = float(np.mean(np.abs(err) / np.maximum(np.abs(y), 1.0)))
    out["r2"] = 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else math.nan
    return out
