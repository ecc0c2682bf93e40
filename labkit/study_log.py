"""The append-only log of a long study: one JSON record per finished run, read back on resume.

Both cores' study runners append a line as each run finishes, so an interrupted study loses only the runs in
flight; reading skips a torn last line (a run killed while being written) instead of failing the resume.
"""
from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

_log = logging.getLogger(__name__)


def read_records(path: str | Path) -> list[dict]:
    """Every record of a JSON-lines log (empty when the file does not exist yet); unreadable lines are skipped
    with a warning."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            _log.warning("skipping an unreadable line of %s (a run interrupted while being written)", path.name)
    return out


def current_commit() -> str:
    """The short hash of the checkout's HEAD, stamped on each record ("unknown" outside a git checkout)."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
