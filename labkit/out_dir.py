"""``--out DIR`` of the command lines: refuse to mix experiments, fail before training, replace atomically.

A run directory that silently gains or keeps files from an earlier experiment makes a replay mix
two experiments. So a non-empty ``DIR`` is refused unless ``--overwrite`` is given, and then it is
replaced as a whole: results are written into a fresh sibling folder and swapped in at the end, so a
run that fails halfway leaves the old results intact.
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def check_out(out: Path, overwrite: bool) -> None:
    """Raise ``ValueError`` now (before any training) if results could not be written to ``out``.

    Raises:
        ValueError: ``out`` is a file, is a non-empty directory without ``overwrite``, or its folder is
            not writable (the OS's reason is given).
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"--out {out} is not empty; pass --overwrite to replace it as a whole")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        Path(tempfile.mkdtemp(prefix=f".{out.name}.check-", dir=out.parent)).rmdir()
    except OSError as err:
        raise ValueError(f"--out {out} is not writable: {err.strerror or err}") from None


@contextmanager
def staged_out(out: Path) -> Iterator[Path]:
    """Yield a fresh folder beside ``out`` to write into; on success it replaces ``out`` whole.

    On an exception the fresh folder is removed and ``out`` is left as it was.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if out.exists():
        old = out.with_name(f".{out.name}.old-{stage.name.rsplit('-', 1)[-1]}")
        out.rename(old)
        stage.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        stage.rename(out)
