"""Reading what a user handed us (an uploaded zip, a run folder): one budget per input, no links followed.

A cap per file or per member does not bound memory: a 410 KB run zip whose ``predictions.npz`` held 760
members of 64 MB each passed every per-member check and decoded to 48 GB. So one :class:`Budget`
follows an input through every reader (the files unpacked from a zip, each member of an inner ``.npz``,
each JSON file, each history row) and is charged *before* anything is decoded. JSON is charged by an
estimate of the Python objects it becomes (text plus :data:`JSON_VALUE_BYTES` per value, counted from
its separators), because ``[[],[],…]`` turns 3 bytes of text into a 56-byte list.

Messages name the file by the name the caller gives (``"predictions.npz"``), never by a server path.
"""
from __future__ import annotations

import errno
import io
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any, BinaryIO

MAX_INPUT_BYTES = 48 << 20  # decoded from one upload or one run folder, all files and members together
MAX_HISTORY_ROWS = 50_000  # history rows of one upload or run folder, all runs together
MAX_JSON_DEPTH = 16  # our files nest 4 levels; deeper input would reach recursive code
JSON_VALUE_BYTES = 64  # what one parsed JSON value costs in Python, roughly (float 24 + slot + dict entry)


class Budget:
    """What one input may still decode: bytes (estimated in memory) and history rows.

    Args:
        max_bytes: bytes decoded in total (unpacked files, array members, parsed JSON).
        max_rows: history rows in total.
    """

    def __init__(self, max_bytes: int = MAX_INPUT_BYTES, max_rows: int = MAX_HISTORY_ROWS) -> None:
        self.max_bytes, self.max_rows = max_bytes, max_rows
        self.used_bytes = self.used_rows = 0

    def charge(self, nbytes: int, what: str) -> None:
        """Count ``nbytes`` about to be decoded from ``what``.

        Raises:
            ValueError: if that would pass the byte budget (nothing is counted then).
        """
        if self.used_bytes + nbytes > self.max_bytes:
            raise ValueError(f"{what}: unpacking it would take this upload or run past its budget of "
                             f"{self.max_bytes:,} decoded bytes (needs {self.used_bytes + nbytes:,})")
        self.used_bytes += nbytes

    def charge_rows(self, rows: int, what: str) -> None:
        """Count ``rows`` history rows about to be read from ``what``.

        Raises:
            ValueError: if that would pass the row budget.
        """
        if self.used_rows + rows > self.max_rows:
            raise ValueError(f"{what}: the histories hold more than {self.max_rows:,} rows in total, the limit "
                             "for one upload or run (save fewer steps or fewer runs)")
        self.used_rows += rows


def open_regular(path: Path, what: str) -> BinaryIO:
    """Open a regular file for reading without following a symbolic link (a link could point anywhere).

    Raises:
        ValueError: missing, a symbolic link, a FIFO/device/folder, or unreadable.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ELOOP or Path(path).is_symlink():
            raise ValueError(f"{what} is a symbolic link; run files are read without following links") from None
        if err.errno == errno.ENOENT:
            raise ValueError(f"{what} is missing") from None
        raise ValueError(f"{what}: cannot open it ({err.strerror or 'error'})") from None
    fh = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        fh.close()
        raise ValueError(f"{what} is not a regular file")
    return fh


def is_regular_file(path: Path) -> bool:
    """A regular file that is not a symbolic link."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def read_bytes(path: Path, budget: Budget, what: str) -> bytes:
    """The bytes of a regular file, charged to ``budget`` by its size before it is read."""
    with open_regular(path, what) as fh:
        size = os.fstat(fh.fileno()).st_size
        budget.charge(size, what)
        try:
            raw = fh.read(size + 1)
        except OSError as err:
            raise ValueError(f"{what}: cannot read it ({err.strerror or 'error'})") from None
    if len(raw) != size:
        raise ValueError(f"{what} changed while it was read")
    return raw


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{what} is not UTF-8 text") from None


def _depth(value: Any) -> int:
    """How deep lists and objects nest (iteratively: the input must not reach Python's recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                break
            stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json(text: str, budget: Budget, what: str) -> Any:
    """Parse JSON text after charging ``budget`` the estimated size of its objects; refuse deep nesting.

    Object keys are interned: a history repeats the same few keys on every row.

    Raises:
        ValueError: over the budget, not JSON, or nested more than :data:`MAX_JSON_DEPTH` levels.
    """
    values = 1 + sum(text.count(c) for c in ",[{")
    budget.charge(len(text) + JSON_VALUE_BYTES * values, what)
    too_deep = f"{what}: lists or objects nest more than {MAX_JSON_DEPTH} levels deep"
    try:
        value = json.loads(text, object_pairs_hook=lambda pairs: {sys.intern(k): v for k, v in pairs})
    except json.JSONDecodeError as err:
        raise ValueError(f"{what}: not valid JSON ({err.msg}, line {err.lineno} column {err.colno})") from None
    except RecursionError:
        raise ValueError(too_deep) from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise ValueError(too_deep)
    return value


def read_json(path: Path, budget: Budget, what: str) -> Any:
    """One JSON file, read and parsed within ``budget`` (see :func:`parse_json`)."""
    return parse_json(_text(read_bytes(path, budget, what), what), budget, what)


def read_jsonl(path: Path, budget: Budget, what: str) -> list[tuple[int, Any]]:
    """``(line number, value)`` for each non-blank line of a JSON-lines file, within ``budget``'s bytes and rows.

    The rows are counted (as line breaks) and charged before any line is split off or parsed.
    """
    raw = read_bytes(path, budget, what)
    budget.charge_rows(raw.count(b"\n") + (not raw.endswith(b"\n")), what)
    text = _text(raw, what)
    del raw
    return [(n, parse_json(line, budget, f"{what} line {n}")) for n, line in enumerate(io.StringIO(text), 1)
            if line.strip()]
