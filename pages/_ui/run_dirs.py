"""Run directories a browser may open: the runs under one configured root, or a zipped run it uploads.

A student never types a server path. The pages list the runs found under ``APP_RUNS_DIR`` (default
``runs/`` in the project) in a select box; any other name is refused with one message that does not
say whether it exists. An uploaded ``.zip`` is checked before anything is written (size caps, no
absolute paths, no ``..``, no symlinks, no encryption) and only the files a viewer reads are extracted
into a temporary folder that is removed as soon as the run is loaded. Nothing is ever unpickled:
readers take JSON/JSONL/CSV and numeric ``.npz`` only.
"""
from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Iterator, TypeVar

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAX_ZIP_BYTES = 10_000_000  # compressed, as uploaded (also server.maxUploadSize)
MAX_ZIP_MEMBERS = 400
MAX_EXTRACTED_BYTES = 50_000_000  # all extracted files together, as the archive declares them
MAX_DEPTH = 3  # a comparison: <zip root>/<comparison>/<run>/<file>
REFUSED = "No such run in the class's run folder."  # the same words whether or not the path exists
T = TypeVar("T")
Wanted = Callable[[tuple[str, ...]], bool]  # which members of an uploaded zip to extract, by path parts


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


def open_listed(root: Path, name: str, is_run: Callable[[Path], bool], load: Callable[[Path], T]) -> T:
    """``load(root/name)`` for a name that :func:`list_runs` offers; anything else raises ``ValueError(REFUSED)``.

    Raises:
        ValueError: ``REFUSED`` for any name not listed (absolute, ``..``, symlinked, missing, not a run),
            or the loader's own message for a listed run that is malformed.
    """
    if name not in list_runs(root, is_run):
        raise ValueError(REFUSED)
    return load(root / name)


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
            encrypted member, or more than ``MAX_EXTRACTED_BYTES`` declared in total.
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
    if sum(i.file_size for i in infos) > MAX_EXTRACTED_BYTES:
        raise ValueError(f"the zip unpacks to more than {MAX_EXTRACTED_BYTES:,} bytes; refused")
    return zf


def _extract(zf: zipfile.ZipFile, dest: Path, wanted: Wanted) -> int:
    """Copy the members that ``wanted(path parts)`` accepts into ``dest``; returns how many were extracted."""
    count = 0
    for info in zf.infolist():
        parts = _safe_parts(info.filename)
        if info.is_dir() or len(parts) > MAX_DEPTH + 1 or not wanted(parts):
            continue
        target = dest.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:
            # zipfile stops at the declared size and checks the CRC, so this copy is bounded by the caps above.
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
def extracted_zip(raw: bytes, wanted: Wanted, is_run: Callable[[Path], bool]) -> Iterator[Path]:
    """Check and extract an uploaded zipped run into a temporary folder, yield the run's folder, remove it.

    Raises:
        ValueError: from :func:`check_zip`, a damaged member, or no run inside.
    """
    zf = check_zip(raw)
    with zf, tempfile.TemporaryDirectory(prefix="app_run_upload_") as tmp:
        try:
            _extract(zf, Path(tmp), wanted)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
            raise ValueError(f"a member of the zip is damaged: {exc}") from None
        yield _run_folder(Path(tmp), is_run)


def load_upload(raw: bytes, wanted: Wanted, is_run: Callable[[Path], bool], load: Callable[[Path], T]) -> T:
    """``load`` an uploaded zipped run; everything it returns is read before the folder is removed."""
    with extracted_zip(raw, wanted, is_run) as folder:
        return load(folder)
