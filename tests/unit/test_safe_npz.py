"""Malicious .npz files: refused before anything large is decompressed or allocated."""
import io
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

from qcbnn_core.data import load_breastmnist
from qcbnn_core.safe_npz import read_npz


def _valid_arrays(n=(12, 4, 6)):
    rng = np.random.default_rng(0)
    out = {}
    for split, k in zip(("train", "val", "test"), n):
        out[f"{split}_images"] = rng.integers(0, 256, size=(k, 28, 28), dtype=np.uint8)
        out[f"{split}_labels"] = (np.arange(k) % 2).astype(np.uint8)[:, None]
    return out


def _npz(arrays: dict, extra: dict[str, bytes] | None = None) -> bytes:
    """A deflated npz of ``arrays``, plus raw ``extra`` members written as given."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arr), allow_pickle=True)
            zf.writestr(f"{name}.npy", member.getvalue())
        for name, raw in (extra or {}).items():
            zf.writestr(name, raw)
    return buf.getvalue()


def _header_only(shape, descr="|u1") -> bytes:
    """A .npy header that claims ``shape`` but holds no data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _zeros_member(zf: zipfile.ZipFile, name: str, shape, dtype=np.uint8) -> None:
    """Write a large all-zero array member in chunks (a zip bomb: tiny compressed, big decoded)."""
    with zf.open(name, "w", force_zip64=True) as fh:
        fh.write(_header_only(shape, np.dtype(dtype).str))
        total, chunk = int(np.prod(shape)) * np.dtype(dtype).itemsize, b"\0" * (1 << 20)
        while total > 0:
            fh.write(chunk[:total])
            total -= len(chunk)


def test_a_valid_file_loads():
    assert len(load_breastmnist(_npz(_valid_arrays())).train) == 12


def test_pickle_payload_is_refused_and_never_unpickled():
    arrays = _valid_arrays()
    arrays["train_labels"] = np.array([{"__reduce__": "os.system"}] * 12, dtype=object)
    with pytest.raises(ValueError, match="pickle"):
        load_breastmnist(_npz(arrays))


def test_extra_member_is_refused_before_it_is_decompressed():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, arr in _valid_arrays().items():
            member = io.BytesIO()
            np.save(member, arr)
            zf.writestr(f"{name}.npy", member.getvalue())
        _zeros_member(zf, "padding.npy", (64 << 20,))  # 64 MiB of zeros in ~64 KB
    raw = buf.getvalue()
    assert len(raw) < 1_000_000
    tracemalloc.start()
    with pytest.raises(ValueError, match="unexpected member"):
        load_breastmnist(raw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 << 20


@pytest.mark.parametrize("shape, message", [
    ((300_000, 28, 28), "at most 700 train examples"),  # the 300k-image upload that OOM-killed the server
    ((600, 10**6, 10**5), "limit"),  # a header claiming 60 TB
])
def test_oversize_header_is_refused_before_decompression(shape, message):
    arrays = _valid_arrays()
    del arrays["train_images"]
    raw = _npz(arrays, {"train_images.npy": _header_only(shape)})
    with pytest.raises(ValueError, match=message):
        load_breastmnist(raw)


def test_zip_bomb_in_an_expected_member_is_refused_by_its_declared_size():
    arrays = _valid_arrays()
    del arrays["test_images"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            member = io.BytesIO()
            np.save(member, arr)
            zf.writestr(f"{name}.npy", member.getvalue())
        _zeros_member(zf, "test_images.npy", (200, 28, 28 * 64))
    tracemalloc.start()
    with pytest.raises(ValueError, match="limit"):
        load_breastmnist(buf.getvalue())
    assert tracemalloc.get_traced_memory()[1] < 8 << 20
    tracemalloc.stop()


def test_zip_that_lies_about_a_members_size_fails_its_check_without_growing():
    """The central directory says 208 bytes; the deflated stream holds 32 MiB. Reading stops at 208."""
    small = np.zeros(10)
    member = io.BytesIO()
    np.save(member, small)
    header_and_data = member.getvalue()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("a.npy", "w") as fh:
            fh.write(header_and_data)
            fh.write(b"\0" * (32 << 20))
    raw = bytearray(buf.getvalue())
    central = raw.rindex(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, len(header_and_data))  # uncompressed size in the central directory
    tracemalloc.start()
    with pytest.raises(ValueError, match="damaged|disagree"):
        read_npz(bytes(raw), max_member_bytes=1000)
    assert tracemalloc.get_traced_memory()[1] < 8 << 20
    tracemalloc.stop()


def test_header_that_disagrees_with_the_archive_is_refused():
    arrays = _valid_arrays()
    del arrays["val_labels"]
    raw = _npz(arrays, {"val_labels.npy": _header_only((4, 1)) + b"\0" * 100})
    with pytest.raises(ValueError, match="disagree"):
        load_breastmnist(raw)


@pytest.mark.parametrize("extra, message", [
    ({"notes.txt": b"hi"}, "unexpected member"),
    ({"../../etc/passwd.npy": b"x"}, "unexpected member"),
])
def test_other_members_are_refused(extra, message):
    with pytest.raises(ValueError, match=message):
        load_breastmnist(_npz(_valid_arrays(), extra))


def test_generic_reader_limits_and_names():
    raw = _npz({"probs": np.zeros((4, 3)), "x": np.arange(5)})
    assert read_npz(raw, 1000, required=("probs",))["x"].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="limit"):
        read_npz(raw, 40)
    with pytest.raises(ValueError, match="unexpected"):
        read_npz(raw, 1000, allowed=("probs",))
    with pytest.raises(ValueError, match="not a readable"):
        read_npz(b"PK\x03\x04 junk", 1000)



def test_a_run_directory_with_a_bomb_in_its_arrays_is_refused(tmp_path):
    from qcbnn_core.runs import MAX_RUN_ARRAY_BYTES, load_run
    from tests.unit.run_doubles import write_qcbnn_run

    run = write_qcbnn_run(tmp_path / "run")
    with zipfile.ZipFile(run / "weights.npz", "w", zipfile.ZIP_DEFLATED) as zf:
        _zeros_member(zf, "snapshots.npy", (MAX_RUN_ARRAY_BYTES + 1,))
    with pytest.raises(ValueError, match="limit"):
        load_run(run, need_model=False)
    (run / "model.pt").unlink()
    with pytest.raises(ValueError, match="missing \\['model.pt'\\]"):
        load_run(run)


def test_members_under_the_cap_cannot_add_up_past_the_budget():
    """Issue 22: per-member caps let 760 members of 64 MB through; one budget across members stops the second."""
    from labkit.untrusted import Budget

    arrays = {f"m{i}": np.zeros(8 << 20, np.uint8) for i in range(3)}  # 8 MiB each, under a 10 MiB member cap
    raw = _npz(arrays)
    assert len(read_npz(raw, 10 << 20)) == 3  # no budget: all three
    tracemalloc.start()
    with pytest.raises(ValueError, match="budget of 20,971,520 decoded bytes"):
        read_npz(raw, 10 << 20, budget=Budget(max_bytes=20 << 20))
    assert tracemalloc.get_traced_memory()[1] < 20 << 20  # two members decoded (16 MiB), the third never allocated
    tracemalloc.stop()


def _first_data_offset(raw: bytes) -> int:
    """Where the first member's compressed data starts (after its local header)."""
    return 30 + struct.unpack_from("<H", raw, 26)[0] + struct.unpack_from("<H", raw, 28)[0]


def test_corrupt_compressed_data_is_a_damaged_member_not_a_zlib_error():
    raw = bytearray(_npz(_valid_arrays()))
    raw[_first_data_offset(raw)] = 0x07  # a deflate block of the reserved type: zlib.error on today's code
    with pytest.raises(ValueError, match="damaged \\(its compressed data is corrupt\\)"):
        read_npz(bytes(raw), 1 << 20)
    with pytest.raises(ValueError, match="damaged"):
        load_breastmnist(bytes(raw))


@pytest.mark.parametrize("offset", range(0, 4000, 200))
def test_100_zeroed_bytes_anywhere_give_one_clear_message(offset):
    """Issue 22's corruption (100 bytes zeroed inside a valid file), at offsets across the file."""
    raw = bytearray(_npz(_valid_arrays(n=(40, 4, 6))))
    raw[offset:offset + 100] = b"\0" * 100
    with pytest.raises(ValueError, match="damaged|not a readable|disagree|truncated|missing|must"):
        load_breastmnist(bytes(raw))


@pytest.mark.parametrize("split", ["val", "test"])
def test_empty_or_one_class_splits_are_refused(split):
    arrays = _valid_arrays()
    arrays[f"{split}_images"], arrays[f"{split}_labels"] = arrays[f"{split}_images"][:0], arrays[f"{split}_labels"][:0]
    with pytest.raises(ValueError, match=f"the {split} split is empty"):
        load_breastmnist(_npz(arrays))
    arrays = _valid_arrays()
    arrays[f"{split}_labels"] = arrays[f"{split}_labels"] * 0
    with pytest.raises(ValueError, match=f"{split}_labels must contain both classes.*1 class"):
        load_breastmnist(_npz(arrays))
