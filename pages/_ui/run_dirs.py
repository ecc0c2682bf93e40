"""Run directories a browser may open: the runs under one configured root, or a zipped run it uploads.

A student never types a server path. The pages list the runs found under ``APP_RUNS_DIR`` (default
``runs/`` in the project) in a select box; any other name is refused with one message that does not
say whether it exists. An uploaded ``.zip`` is checked before anything is written (size caps, no
absolute paths, no ``..``, no symlinks, no encryption) and only the files a viewer reads are extracted
into a temporary folder that is removed as soon as the run is loaded, refused, or its page is closed.
One :class:`~labkit.untrusted.Budget` per upload or opened run is charged by the unpacking and by every
reader after it (inner ``.npz`` members, JSON, history rows), so the sum of what is decoded is bounded,
not only each piece. Nothing is ever unpickled: readers take JSON/JSONL and numeric ``.npz`` only.
Messages name files inside the run, never the server's folders.
"""
from __future__ import annotations

import errno
import io
import os
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Iterator, TypeVar

from labkit.untrusted import MAX_INPUT_BYTES, Budget

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAX_ZIP_BYTES = 10_000_000  # compressed, as uploaded (also server.maxUploadSize)
MAX_ZIP_MEMBERS = 400
MAX_DEPTH = 3  # a comparison: <zip root>/<comparison>/<run>/<file>
UPLOAD_PREFIX = "app_run_upload_"
STALE_UPLOAD_S = 3600  # an upload folder this old was left by a server that was killed mid-load
REFUSED = "No such run in the class's run folder."  # the same words whether or not the path exists
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
T = TypeVar("T")
Wanted = Callable[[tuple[str, ...]], bool]  # which members of an uploaded zip to extract, by path parts
Loader = Callable[[Path, Budget], T]  # reads a run folder within a budget


def runs_root() -> Path:
    """The folder whose runs the pages may open: ``APP_RUNS_DIR`` or ``<project>/runs``."""
    raw = os.environ.get("APP_RUNS_DIR", "")
    return (Path(raw).expanduser() if raw else PROJECT_ROOT / "runs").resolve()


def _real_dirs(folder: Path) -> list[Path]:
    """Subfolders that are real directories (symlinks are not followed: they could point anywhere)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    return [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")]


def list_runs(root: Path, is_run: Callable[[Path], bool], depth: int = 2) -> list[str]:
    """Relative names (``a``, ``a/b``) of the folders under ``root`` that ``is_run`` accepts, up to ``depth`` deep.

    A folder that is a run is listed and not searched further (its children are its parts).
    """
    found: list[str] = []

    def walk(folder: Path, level: int) -> None:
        for sub in _real_dirs(folder):
            if is_run(sub):
                found.append(sub.relative_to(root).as_posix())
            elif level < depth:
                walk(sub, level + 1)

    if root.is_dir():
        walk(root, 1)
    return found


def open_listed(root: Path, name: str, is_run: Callable[[Path], bool], load: Loader) -> T:
    """``load(root/name, budget)`` for a name that :func:`list_runs` offers; anything else raises
    ``ValueError(REFUSED)``.

    Raises:
        ValueError: ``REFUSED`` for any name not listed (absolute, ``..``, symlinked, missing, not a run),
            or the loader's own message for a listed run that is malformed (without the server's folders).
    """
    if name not in list_runs(root, is_run):
        raise ValueError(REFUSED)
    with _no_server_paths(root):
        return load(root / name, Budget())


@contextmanager
def _no_server_paths(*folders: Path) -> Iterator[None]:
    """Re-raise a ``ValueError`` with the server's folders cut from its message (``/srv/runs/a/config.json``
    becomes ``a/config.json``): a message is for students, where the server keeps its files is not."""
    try:
        yield
    except ValueError as err:
        message = str(err)
        for folder in (*folders, Path(tempfile.gettempdir()), PROJECT_ROOT, Path.home()):
            message = message.replace(f"{folder}/", "").replace(str(folder), "the run folder")
        raise ValueError(message) from None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _safe_parts(name: str) -> tuple[str, ...]:
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ValueError(f"the zip holds an absolute or Windows path ({name[:60]!r}); refused")
    parts = PurePosixPath(name).parts
    if any(p in ("..", ".") for p in parts):
        raise ValueError(f"the zip holds a path that leaves its folder ({name[:60]!r}); refused")
    return parts


def check_zip(raw: bytes) -> zipfile.ZipFile:
    """Open an uploaded zip after the checks that need no extraction.

    Raises:
        ValueError: too big, not a zip, too many members, an absolute/``..`` path, a symlink, an
            encrypted member, or more than the upload budget (``MAX_INPUT_BYTES``) declared in total.
    """
    if len(raw) > MAX_ZIP_BYTES:
        raise ValueError(f"the zip has {len(raw):,} bytes; the limit is {MAX_ZIP_BYTES:,}")
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise ValueError("not a readable .zip file") from None
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ValueError(f"the zip has {len(infos)} members; the limit is {MAX_ZIP_MEMBERS}")
    for info in infos:
        _safe_parts(info.filename)
        if _is_symlink(info):
            raise ValueError(f"the zip holds a symbolic link ({info.filename[:60]!r}); refused")
        if info.flag_bits & 0x1:
            raise ValueError("the zip holds an encrypted member; refused")
    if sum(i.file_size for i in infos) > MAX_INPUT_BYTES:
        raise ValueError(f"the zip unpacks to more than {MAX_INPUT_BYTES:,} bytes; refused")
    return zf


def _extract(zf: zipfile.ZipFile, dest: Path, wanted: Wanted, budget: Budget) -> int:
    """Copy the members that ``wanted(path parts)`` accepts into ``dest``, each charged to ``budget`` by its
    declared size first; returns how many were extracted."""
    count = 0
    for info in zf.infolist():
        parts = _safe_parts(info.filename)
        if info.is_dir() or len(parts) > MAX_DEPTH + 1 or not wanted(parts):
            continue
        budget.charge(info.file_size, "/".join(parts))
        target = dest.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:
            # zipfile stops at the declared size and checks the CRC, so this copy is bounded by the budget.
            shutil.copyfileobj(src, out, 1 << 20)
        count += 1
    return count


def _run_folder(dest: Path, is_run: Callable[[Path], bool]) -> Path:
    """The uploaded run, or the one folder holding all uploaded runs (a comparison)."""
    if is_run(dest):
        return dest
    runs = [dest / r for r in list_runs(dest, is_run, depth=MAX_DEPTH)]
    if not runs:
        raise ValueError("the zip holds no run directory (a folder with config.json and its files)")
    if len(runs) == 1:
        return runs[0]
    parents = {r.parent for r in runs}
    if len(parents) > 1:
        raise ValueError("the zip holds runs in several folders; zip one run or one comparison folder")
    return parents.pop()


@contextmanager
def extracted_zip(raw: bytes, wanted: Wanted, is_run: Callable[[Path], bool], budget: Budget) -> Iterator[Path]:
    """Check and extract an uploaded zipped run into a temporary folder, yield the run's folder, remove it
    (however the block ends: loaded, refused, or its session stopped).

    Raises:
        ValueError: from :func:`check_zip`, over ``budget``, a damaged member, a full temporary folder,
            or no run inside.
    """
    zf = check_zip(raw)
    _sweep_stale_uploads()
    try:
        folder = tempfile.TemporaryDirectory(prefix=UPLOAD_PREFIX)
    except OSError as exc:
        raise _disk_error(exc) or ValueError(f"the server cannot unpack uploads ({exc.strerror}); tell the "
                                             "teacher") from None
    with zf, folder as tmp:
        try:
            _extract(zf, Path(tmp), wanted, budget)
        except (OSError, zipfile.BadZipFile, zlib.error, EOFError, RuntimeError) as exc:
            reason = "its compressed data is corrupt" if isinstance(exc, zlib.error) else (
                exc.strerror if isinstance(exc, OSError) else str(exc)) or type(exc).__name__
            raise _disk_error(exc) or ValueError(f"a member of the zip is damaged ({reason})") from None
        with _no_server_paths(Path(tmp)):
            yield _run_folder(Path(tmp), is_run)


def _disk_error(exc: BaseException) -> ValueError | None:
    """A full disk, said as such (it used to read as "a member of the zip is damaged")."""
    if isinstance(exc, OSError) and exc.errno in DISK_FULL:
        return ValueError("the server has no space left in its temporary folder; tell the teacher (nothing is "
                          "wrong with the zip)")
    return None


def _sweep_stale_uploads() -> None:
    """Remove upload folders a killed server left behind (a live upload is gone within seconds)."""
    now = time.time()
    for folder in Path(tempfile.gettempdir()).glob(UPLOAD_PREFIX + "*"):
        try:
            if folder.is_dir() and not folder.is_symlink() and now - folder.stat().st_mtime > STALE_UPLOAD_S:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def load_upload(raw: bytes, wanted: Wanted, is_run: Callable[[Path], bool], load: Loader) -> T:
    """``load(folder, budget)`` an uploaded zipped run, with one budget for the unpacking and every reader
    after it; everything it returns is read before the folder is removed."""
    budget = Budget()
    with extracted_zip(raw, wanted, is_run, budget) as folder:
        return load(folder, budget)
