"""Small, valid run directories written by the cores' own writers (no training), and zips of them.

A QCBNN run comes from :func:`qcbnn_core.runs.save_run` fed a stand-in trainer whose predictions are
fixed random probabilities scored by the library's :func:`~qcbnn_core.metrics.evaluate`; an NTL run
from :func:`ntl_core.runs.write_history`. Tests then break one field at a time.
"""
from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from ntl_core.runs import write_history
from ntl_core.train_config import TrainConfig as NTLConfig
from qcbnn_core.data import Split, make_phantom
from qcbnn_core.metrics import evaluate
from qcbnn_core.models import ModelConfig
from qcbnn_core.runs import save_run
from qcbnn_core.trainer import TrainConfig


def write_qcbnn_run(folder: Path, epochs: int = 2, n_test: int = 12, draws: int = 4, kind: str = "qcbnn",
                    flat: bool = False) -> Path:
    """A complete QCBNN run directory (``model.pt`` holds an empty state dict); ``flat``: every probability 0.5
    (compresses to almost nothing, for size tests)."""
    data = make_phantom(seed=0, splits=(4, 4, 12))
    if n_test != 12:  # phantom images are slow to draw: repeat the 12
        reps = -(-n_test // 12)
        data = replace(data, test=Split(data.test.x.repeat(reps, 1, 1, 1)[:n_test], data.test.y.repeat(reps)[:n_test]))
    rng = np.random.default_rng(0)
    probs = np.full((draws, n_test, 2), 0.5) if flat else rng.dirichlet((1.0, 1.0), size=(draws, n_test))
    probs = torch.from_numpy(probs.astype(np.float32))
    history = [{"epoch": e, "step": 2 * e, "train_loss": 1.0 / e, "val_accuracy": 0.5, "val_ece": 0.1}
               for e in range(1, epochs + 1)]
    trainer = SimpleNamespace(
        data=data, model_cfg=ModelConfig(kind=kind), cfg=TrainConfig(epochs=epochs), device="cpu",
        epoch_index=epochs, history=history, step_history=[{"step": 1, "epoch": 1, "loss": 0.7}],
        predict=lambda split: probs, model=SimpleNamespace(state_dict=dict),
        weight_snapshots=[rng.normal(size=(8, 64)).astype(np.float32) for _ in range(epochs + 1)])
    return save_run(trainer, folder, {"test": evaluate(probs, data.test.y, n_boot=20),
                                      "val": evaluate(probs[:, :4], data.val.y, n_boot=20)})


def write_ntl_run(folder: Path, loss: str = "ce", seed: int = 0, steps: int = 4) -> Path:
    """An NTL run directory without weights: train rows and interpolation eval rows."""
    rows = [{"step": s, "loss": 1.0 / s, "lr": 1e-3, "time": 0.1 * s} for s in range(1, steps + 1)]
    rows += [{"step": s, "split": "interpolation", "exact_match": 0.5, "digit_acc": 0.7, "valid": 1.0, "mae": 3.0,
              "mape": 0.2, "r2": 0.9} for s in (2, steps)]
    return write_history(folder, NTLConfig(loss=loss, seed=seed, steps=steps, device="cpu"), rows)


def edit_json(path: Path, change) -> None:
    """Rewrite a JSON file with ``change(obj)`` applied in place."""
    obj = json.loads(path.read_text())
    change(obj)
    path.write_text(json.dumps(obj))


def zip_folder(folder: Path, extra: dict[str, bytes] | None = None) -> bytes:
    """The folder zipped under its own name (as a student would zip it), plus ``extra`` members."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder.parent).as_posix())
        for name, raw in (extra or {}).items():
            zf.writestr(name, raw)
    return buf.getvalue()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def bomb_member(zf: zipfile.ZipFile, name: str, nbytes: int) -> None:
    """A ``.npy`` member of ``nbytes`` zeros written in chunks: tiny compressed, large decoded."""
    with zf.open(name, "w", force_zip64=True) as fh:
        fh.write(_npy_header(nbytes))
        chunk = b"\0" * (1 << 20)
        while nbytes > 0:
            fh.write(chunk[:nbytes])
            nbytes -= len(chunk)


def _npy_header(nbytes: int) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (nbytes,)})
    return header.getvalue()


def bomb_npz(names: list[str], nbytes: int) -> bytes:
    """An ``.npz`` whose members ``names`` each hold ``nbytes`` zeros (the crafted run file of issue 22: 760
    members of 64 MB). One member is deflated and its bytes repeated, so building it takes a second."""
    deflate, crc, size, parts = zlib.compressobj(9, zlib.DEFLATED, -15), 0, 0, []
    chunk, left = b"\0" * (1 << 20), nbytes
    for piece in (_npy_header(nbytes),):
        crc, size = zlib.crc32(piece, crc), size + len(piece)
        parts.append(deflate.compress(piece))
    while left > 0:
        piece = chunk[:left]
        crc, size, left = zlib.crc32(piece, crc), size + len(piece), left - len(piece)
        parts.append(deflate.compress(piece))
    data = b"".join(parts) + deflate.flush()
    out, central = io.BytesIO(), []
    for name in (f"{n}.npy".encode() for n in names):
        central.append(struct.pack("<4s6H3I5H2I", b"PK\1\2", 20, 20, 0, 8, 0, 0, crc, len(data), size, len(name),
                                   0, 0, 0, 0, 0, out.tell()) + name)
        out.write(struct.pack("<4s5H3I2H", b"PK\3\4", 20, 0, 8, 0, 0, crc, len(data), size, len(name), 0) + name)
        out.write(data)
    start = out.tell()
    out.write(b"".join(central))
    out.write(struct.pack("<4s4H2IH", b"PK\5\6", 0, 0, len(names), len(names), out.tell() - start, start, 0))
    return out.getvalue()
