"""Read an ``.npz`` from an untrusted source without ever allocating more than a stated limit.

``np.load`` decompresses every member it is asked for and trusts the sizes in the ``.npy`` headers,
so a 1 MB upload can hold gigabytes of zeros (a zip bomb) or claim a 93 GiB array. Here, before any
array data is decompressed, the zip's member list and each member's ``.npy`` header are checked:
only expected members, no object dtypes (pickles), and ``shape × itemsize`` within ``max_member_bytes``
and equal to the size the zip declares. Reading then never decompresses past that declared size
(``zipfile`` stops there and a lying archive fails its CRC check).
"""
from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable, Collection

import numpy as np

NPY_HEADER_MAX = 65_536  # numpy's own bound on a .npy header (format 2.0 allows up to 4 GiB; we do not)
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
    except (ValueError, EOFError, SyntaxError, TypeError) as exc:
        raise ValueError(f"member {name!r} is not a readable .npy array ({exc})") from None
    return tuple(int(n) for n in shape), bool(fortran), np.dtype(dtype)


def read_npz(raw: bytes, max_member_bytes: int, required: Collection[str] = (),
             allowed: Collection[str] | None = None, check: ShapeCheck | None = None) -> dict[str, np.ndarray]:
    """Arrays of an ``.npz`` given as bytes, size-checked before decompression.

    Args:
        raw: the file's bytes.
        max_member_bytes: largest decoded array accepted (``prod(shape) * itemsize``), in bytes.
        required: array names that must be present (without ``.npy``).
        allowed: the only array names accepted; None accepts any name.
        check: called as ``check(name, shape, dtype)`` before a member is read; raises ``ValueError``
            to refuse it.

    Raises:
        ValueError: not a zip, an unexpected or missing member, an encrypted or oddly compressed member,
            a pickled (object) array, an array over the limit, or a member whose data is not what its
            header says.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ValueError(f"not a readable .npz file: {exc}") from None
    with zf:
        infos = zf.infolist()
        names = [i.filename[:-4] if i.filename.endswith(".npy") else i.filename for i in infos]
        if len(set(names)) != len(names):
            raise ValueError("the .npz holds a member twice")
        unexpected = sorted(set(names) - set(allowed)) if allowed is not None else []
        if unexpected:
            raise ValueError(f"unexpected member(s) {unexpected[:5]} in the .npz; expected only {sorted(allowed)}")
        missing = sorted(set(required) - set(names))
        if missing:
            raise ValueError(f"the .npz is missing keys {missing}; expected {sorted(required)}")
        out = {}
        for info, name in zip(infos, names):
            if not info.filename.endswith(".npy"):
                raise ValueError(f"member {info.filename!r} is not a .npy array")
            if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ValueError(f"member {name!r} is encrypted or uses an unsupported compression")
            if info.file_size > max_member_bytes + NPY_HEADER_MAX:
                raise ValueError(f"member {name!r} unpacks to {info.file_size:,} bytes; the limit is "
                                 f"{max_member_bytes:,}")
            try:
                with zf.open(info) as fh:
                    out[name] = _read_member(fh, info.file_size, name, max_member_bytes, check)
            # zlib.error: a damaged deflate stream (zipfile passes it through before any CRC check)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError) as exc:
                raise ValueError(f"member {name!r} is damaged: {exc}") from None
        return out


def _read_member(fh, declared: int, name: str, max_bytes: int, check: ShapeCheck | None) -> np.ndarray:
    shape, fortran, dtype = _header(fh, name)
    if dtype.hasobject:
        raise ValueError(f"member {name!r} holds Python objects (a pickle); only numeric arrays are accepted")
    if any(n < 0 for n in shape):
        raise ValueError(f"member {name!r} has a negative dimension {shape}")
    if check is not None:
        check(name, shape, dtype)
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize  # Python ints: no overflow on absurd shapes
    if nbytes > max_bytes:
        raise ValueError(f"member {name!r} claims shape {shape} of {dtype} = {nbytes:,} bytes; the limit is "
                         f"{max_bytes:,}")
    if fh.tell() + nbytes != declared:
        raise ValueError(f"member {name!r}: its header and its size in the archive disagree")
    data = fh.read(nbytes)
    if len(data) != nbytes:
        raise ValueError(f"member {name!r} is truncated")
    arr = np.frombuffer(data, dtype=dtype)
    return arr.reshape(shape, order="F" if fortran else "C").copy()
