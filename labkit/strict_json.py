"""Strict JSON for run directories and CLI output of both cores.

Browsers and jq reject the bare ``NaN`` that ``json.dumps`` writes by default, and numpy scalars
are not serialisable at all, so every file and ``--json`` output goes through :func:`jsonable`.
"""
from __future__ import annotations

import math

import numpy as np


def jsonable(obj):
    """Recursively turn numpy scalars/arrays into Python values and NaN/inf into ``None`` (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, (np.integer, np.bool_)):
        return obj.item()
    return obj
