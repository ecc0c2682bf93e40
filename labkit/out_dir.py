"""``--out DIR`` of the command lines: refuse to mix experiments, never delete what we did not write,
fail before training, replace atomically.

A run directory that silently gains or keeps files from an earlier experiment makes a replay mix
two experiments. So a non-empty ``DIR`` is refused unless ``--overwrite`` is given, and even then it
is replaced only if this project wrote it: a run directory (its ``config.json`` carries the
run-directory header of :mod:`labkit.run_format` and it holds nothing but the files a run writes) or
a comparison folder of such runs plus ``summary.json``. Any other folder (a user's documents, the
filesystem root, the home directory) is refused before training starts, and again just before the
swap. Results are written into a fresh sibling folder and swapped in at the end, in one atomic step
where the system allows it (Linux ``renameat2`` with ``RENAME_EXCHANGE``), with the old folder's
permissions (or the umask's for a new one); a run that fails halfway leaves the old results intact.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labkit.run_format import FORMAT_KEY, RUN_ENTRIES, SUMMARY

AT_FDCWD, RENAME_EXCHANGE = -100, 2  # <fcntl.h>, <linux/fs.h>
MAX_HEADER_BYTES = 1 << 20  # a config.json we wrote is a few KB


def _absolute(out: Path) -> Path:
    """``out`` made absolute without resolving symbolic links (``--out .`` has a name then)."""
    return Path(os.path.abspath(Path(out).expanduser()))


def _has_header(config: Path) -> bool:
    try:
        if not stat.S_ISREG(os.lstat(config).st_mode) or os.lstat(config).st_size > MAX_HEADER_BYTES:
            return False
        header = json.loads(config.read_text()).get(FORMAT_KEY)
    except (OSError, ValueError, AttributeError):
        return False
    return (isinstance(header, dict) and isinstance(header.get("kind"), str)) or header == 1  # 1: QCBNN's first format


def _is_our_run(folder: Path) -> bool:
    """A run directory one of the cores wrote: the header, and only the entries a run writes."""
    names = {e.name for e in os.scandir(folder)}
    return _has_header(folder / "config.json") and names <= RUN_ENTRIES


def written_by_us(folder: Path) -> bool:
    """Whether ``folder`` is empty, one run directory, or a comparison (``summary.json`` and run
    directories, or empty folders) that this project wrote; symbolic links inside count as foreign."""
    try:
        entries = list(os.scandir(folder))
        if not entries or _is_our_run(folder):
            return True
        return all((e.name == SUMMARY and e.is_file(follow_symlinks=False))
                   or (e.is_dir(follow_symlinks=False) and (not any(os.scandir(e.path)) or _is_our_run(Path(e.path))))
                   for e in entries)
    except OSError:
        return False


def _protected(out: Path) -> bool:
    """The filesystem root, the home directory, or a folder that holds the home directory."""
    home = _absolute(Path.home())
    return out == Path(out.anchor) or out == home or out in home.parents


def _check_replaceable(out: Path) -> None:
    if _protected(out):
        raise ValueError(f"--out {out} is the filesystem root or holds the home directory; it is never replaced")
    if out.is_symlink():
        raise ValueError(f"--out {out} is a symbolic link; give the folder it points to")
    if out.is_dir() and not written_by_us(out):
        raise ValueError(f"--out {out} holds files this project did not write (no run-directory header, or other "
                         "files beside the run's); --overwrite only replaces a run directory or a comparison "
                         "folder. Choose another --out or remove it yourself.")


def check_out(out: Path, overwrite: bool) -> None:
    """Raise ``ValueError`` now (before any training) if results could not be written to ``out``.

    Raises:
        ValueError: ``out`` is a file, is a non-empty directory without ``overwrite``, with
            ``overwrite`` is not a folder this project wrote (or is ``/`` or the home directory), or
            its folder is not writable (the OS's reason is given).
    """
    out = _absolute(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"--out {out} is not empty; pass --overwrite to replace it as a whole")
    _check_replaceable(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        Path(tempfile.mkdtemp(prefix=f".{out.name}.check-", dir=out.parent)).rmdir()
    except OSError as err:
        raise ValueError(f"--out {out} is not writable: {err.strerror or err}") from None


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # an old kernel or a filesystem without it
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextmanager
def staged_out(out: Path) -> Iterator[Path]:
    """Yield a fresh folder beside ``out`` to write into; on success it replaces ``out`` whole.

    On an exception the fresh folder is removed and ``out`` is left as it was. Just before the swap,
    ``out`` is checked again (it may have changed during a long training).

    Raises:
        ValueError: ``out`` has meanwhile become something this project did not write (the new
            results stay in the fresh folder, whose path the message gives).
    """
    out = _absolute(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    try:
        _check_replaceable(out)
    except ValueError as err:
        raise ValueError(f"{err} The new results are in {stage}.") from None
    os.chmod(stage, stat.S_IMODE(out.stat().st_mode) if out.is_dir() else _umask_mode())
    if not out.exists():
        stage.rename(out)
    elif _exchange(stage, out):
        shutil.rmtree(stage, ignore_errors=True)  # the stage path now holds the old results
    else:
        old = out.with_name(f".{out.name}.old-{stage.name.rsplit('-', 1)[-1]}")
        out.rename(old)
        stage.rename(out)
        shutil.rmtree(old, ignore_errors=True)
