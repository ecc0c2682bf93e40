"""The header every run directory carries: which core wrote it, in which format version.

Both cores keep it in their run's ``config.json`` under one key::

    {"format": {"kind": "ntl", "version": 2}, ...the core's own config fields...}

so a reader can tell an NTL run from a QCBNN run, refuse a directory written by a newer format
with a clear message, and still open directories written before the header existed (the caller
names which version those are).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FORMAT_KEY = "format"
SUMMARY = "summary.json"  # beside the runs of a comparison (ntl_core's CLI)
# Every name either core writes into one run directory (qcbnn_core.runs.RUN_FILES; ntl_core.runs CONFIG,
# METRICS, CHECKPOINT): ``--overwrite`` replaces a folder holding nothing else.
RUN_ENTRIES = frozenset({"config.json", "history.json", "metrics.json", "predictions.npz", "weights.npz", "model.pt",
                         "metrics.jsonl", "model"})


def stamp(config: Mapping[str, Any], kind: str, version: int) -> dict[str, Any]:
    """``config`` with the header in front (the dict to write as ``config.json``)."""
    if FORMAT_KEY in config:
        raise ValueError(f"{FORMAT_KEY!r} is reserved for the run-directory header")
    return {FORMAT_KEY: {"kind": kind, "version": int(version)}, **config}


def unstamp(config: Any, kind: str, current: int, legacy: Mapping[Any, int]) -> tuple[int, dict[str, Any]]:
    """Check a ``config.json``'s header and split it off.

    Args:
        config: the parsed ``config.json``.
        kind: the core that reads it (``"ntl"`` or ``"qcbnn"``).
        current: the newest version this code reads.
        legacy: headers written before this one, mapped to their version: ``None`` for a file with
            no header at all, or an old header value (e.g. the integer ``1``).

    Returns:
        ``(version, config without the header)``.

    Raises:
        ValueError: not a JSON object, another core's run, a newer or unknown version.
    """
    if not isinstance(config, Mapping):
        raise ValueError(f"config.json must hold a JSON object, got {type(config).__name__}")
    rest = {k: v for k, v in config.items() if k != FORMAT_KEY}
    header = config.get(FORMAT_KEY)
    if not isinstance(header, Mapping):
        if isinstance(header, (type(None), int, str)) and header in legacy:
            return legacy[header], rest
        raise ValueError(f"not a {kind} run directory: unknown format header {header!r}")
    if header.get("kind") != kind:
        raise ValueError(f"this is a {header.get('kind')!r} run directory, not a {kind!r} one")
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"bad format version {version!r} in the run-directory header")
    if version > current:
        raise ValueError(f"this {kind} run directory has format version {version}; this code reads up to "
                         f"{current} (update the project to open it)")
    return version, rest
