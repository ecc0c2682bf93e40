"""Read an ``.npz`` from an untrusted source without ever allocating more than a stated limit.

``np.load`` decompresses every member it is asked for and trusts the sizes in the ``.npy`` headers,
so a 1 MB upload can hold gigabytes of zeros (a zip bomb) or claim a 93 GiB array. Here, before any
array data is decompressed, the zip's member list and each member's ``.npy`` header are checked:
only expected members, no object dtypes (pickles), and ``shape × itemsize`` within ``max_member_bytes``
and equal to the size the zip declares. A :class:`~labkit.untrusted.Budget` shared by every file of one
input is charged each member's size before it is decoded, so many members under the per-member cap cannot
add up. Reading then never decompresses past that declared size (``zipfile`` stops there and a lying
archive fails its CRC check), and corrupt compressed data is refused like any other damage.
"""
from __future__ import annotations

import io
import tokenize
import zipfile
import zlib
from collections.abc import Callable, Collection
from typing import BinaryIO

import numpy as np

from labkit.untrusted import Budget

NPY_HEADER_MAX = 65_536  # numpy's own bound on a .npy header (format 2.0 allows up to 4 GiB; we do not)
READ_CHUNK = 1 << 20  # a member is copied into its array in chunks: no second full-size buffer
DAMAGE = (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError)  # what a damaged member raises
ShapeCheck = Callable[[str, tuple[int, ...], np.dtype], None]


def _header(fh, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh, max_header_size=NPY_HEADER_MAX)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh, max_header_size=NPY_HEADER_MAX)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, EOFError, SyntaxError, TypeError, tokenize.TokenError) as exc:  # numpy parses it as Python
        raise ValueError(f"member {name!r} is not a readable .npy array (its header is damaged or of an unknown "
                         "version)") from None
    return tuple(int(n) for n in shape), bool(fortran), np.dtype(dtype)


def read_npz(source: bytes | BinaryIO, max_member_bytes: int, required: Collection[str] = (),
             allowed: Collection[str] | None = None, check: ShapeCheck | None = None,
             budget: Budget | None = None, what: str = "the .npz") -> dict[str, np.ndarray]:
    """Arrays of an ``.npz`` given as bytes or an open binary file, size-checked before decompression.

    Args:
        source: the file's bytes, or the file opened for reading (then it is never read whole).
        max_member_bytes: largest decoded array accepted (``prod(shape) * itemsize``), in bytes.
        required: array names that must be present (without ``.npy``).
        allowed: the only array names accepted; None accepts any name.
        check: called as ``check(name, shape, dtype)`` before a member is read; raises ``ValueError``
            to refuse it.
        budget: charged each member's decoded size before it is read (one budget for a whole upload).
        what: the file's name in messages.

    Raises:
        ValueError: not a zip, an unexpected or missing member, an encrypted or oddly compressed member,
            a pickled (object) array, an array over the limit or the budget, or a member whose data is
            damaged or not what its header says.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{what} is not a readable .npz file: {exc}") from None
    with zf:
        infos = zf.infolist()
        names = [i.filename[:-4] if i.filename.endswith(".npy") else i.filename for i in infos]
        if len(set(names)) != len(names):
            raise ValueError(f"{what} holds a member twice")
        unexpected = sorted(set(names) - set(allowed)) if allowed is not None else []
        if unexpected:
            raise ValueError(f"unexpected member(s) {unexpected[:5]} in {what}; expected only {sorted(allowed)}")
        missing = sorted(set(required) - set(names))
        if missing:
            raise ValueError(f"{what} is missing keys {missing}; expected {sorted(required)}")
        out = {}
        for info, name in zip(infos, names):
            if not info.filename.endswith(".npy"):
                raise ValueError(f"member {info.filename!r} of {what} is not a .npy array")
            if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ValueError(f"member {name!r} of {what} is encrypted or uses an unsupported compression")
            if info.file_size > max_member_bytes + NPY_HEADER_MAX:
                raise ValueError(f"member {name!r} of {what} unpacks to {info.file_size:,} bytes; the limit is "
                                 f"{max_member_bytes:,}")
            try:
                with zf.open(info) as fh:
                    out[name] = _read_member(fh, info.file_size, name, max_member_bytes, check, budget,
                                             f"{what}: member {name!r}")
            except DAMAGE as exc:
                raise ValueError(f"{what}: member {name!r} is damaged ({_damage(exc)})") from None
        return out


def _damage(exc: BaseException) -> str:
    """A short reason for a damaged member (zlib's own words are not for students)."""
    return "its compressed data is corrupt" if isinstance(exc, zlib.error) else str(exc) or type(exc).__name__


def _read_member(fh, declared: int, name: str, max_bytes: int, check: ShapeCheck | None, budget: Budget | None,
                 what: str) -> np.ndarray:
    shape, fortran, dtype = _header(fh, name)
    if dtype.hasobject:
        raise ValueError(f"{what} holds Python objects (a pickle); only numeric arrays are accepted")
    if any(n < 0 for n in shape):
        raise ValueError(f"{what} has a negative dimension {shape}")
    if check is not None:
        check(name, shape, dtype)
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize  # Python ints: no overflow on absurd shapes
    if nbytes > max_bytes:
        raise ValueError(f"{what} claims shape {shape} of {dtype} = {nbytes:,} bytes; the limit is {max_bytes:,}")
    if fh.tell() + nbytes != declared:
        raise ValueError(f"{what}: its header and its size in the archive disagree")
    if budget is not None:
        budget.charge(nbytes, what)
    flat = np.empty(nbytes, dtype=np.uint8)
    view, done = memoryview(flat), 0
    while done < nbytes:
        chunk = fh.read(min(READ_CHUNK, nbytes - done))
        if not chunk:
            raise ValueError(f"{what} is truncated")
        view[done:done + len(chunk)] = chunk
        done += len(chunk)
    return flat.view(dtype).reshape(shape, order="F" if fortran else "C")
