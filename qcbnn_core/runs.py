"""Run directories: what a finished training leaves behind, readable by the pages and notebooks.

Layout of ``DIR``::

    config.json       {"format": header, "data": {...summary}, "model": ModelConfig, "train": TrainConfig, "device": str}
                      (header: labkit.run_format; format 1 wrote the integer 1 there and still opens)
    history.json      {"epochs": [per-epoch records], "steps": [per-step records]}
    metrics.json      {"test": Evaluation.to_dict(), "val": ...}
    predictions.npz   test split: probs (S, N, C) and per-sample p_positive, pred, correct, label, uncertainties
    weights.npz       snapshots (E+1, S_snap, n_weights): first-layer weight draws before training and after each epoch
    model.pt          the model's state_dict (rebuild with :meth:`RunRecord.build_model`)
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from labkit.run_format import stamp, unstamp
from labkit.strict_json import jsonable

from .metrics import Evaluation
from .models import GeneratorFactory, MCNet, ModelConfig, build_model
from .safe_npz import read_npz
from .trainer import Trainer

RUN_FILES = ("config.json", "history.json", "metrics.json", "predictions.npz", "weights.npz", "model.pt")
KIND, FORMAT_VERSION = "qcbnn", 2
MAX_RUN_ARRAY_BYTES = 64 << 20  # one decoded array of a run (predictions: S × N × 2 float32)
MAX_RUN_FILE_BYTES = 64 << 20


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(jsonable(obj), indent=1, allow_nan=False))


def save_run(trainer: Trainer, out_dir: str | os.PathLike, evaluations: dict[str, Evaluation] | None = None) -> Path:
    """Save a trainer's configuration, history, scores, test predictions, weight snapshots and weights.

    Args:
        trainer: a (usually finished) trainer.
        out_dir: directory to create or overwrite files in.
        evaluations: ``{"test": ..., "val": ...}``; computed with ``trainer.evaluate`` when missing.

    Returns:
        The run directory.
    """
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    evaluations = dict(evaluations or {})
    for split in ("test", "val"):
        if split not in evaluations:
            evaluations[split] = trainer.evaluate(split)
    config = {"data": trainer.data.summary(), "model": trainer.model_cfg.to_dict(),
              "train": trainer.cfg.to_dict(), "device": str(trainer.device),
              "class_names": list(trainer.data.class_names), "epochs_done": trainer.epoch_index}
    _write_json(out / "config.json", stamp(config, KIND, FORMAT_VERSION))
    _write_json(out / "history.json", {"epochs": trainer.history, "steps": trainer.step_history})
    _write_json(out / "metrics.json", {k: v.to_dict() for k, v in evaluations.items()})
    test = evaluations["test"]
    np.savez_compressed(out / "predictions.npz", probs=trainer.predict("test").numpy(),
                        **{k: np.asarray(v) for k, v in test.per_sample.items()})
    np.savez_compressed(out / "weights.npz", snapshots=np.stack(trainer.weight_snapshots))
    torch.save(trainer.model.state_dict(), out / "model.pt")
    return out


@dataclass
class RunRecord:
    """A loaded run directory (see the module docstring for the fields' contents; ``config`` without its header)."""

    path: Path
    config: dict
    history: list[dict]
    step_history: list[dict]
    metrics: dict
    predictions: dict[str, np.ndarray]
    weight_snapshots: np.ndarray
    format_version: int = FORMAT_VERSION

    @property
    def model_config(self) -> ModelConfig:
        return ModelConfig.from_dict(self.config["model"])

    def build_model(self, generator_factory: GeneratorFactory | None = None) -> MCNet:
        """Rebuild the trained network on the CPU from ``model.pt``."""
        shape = tuple(self.config["data"]["input_shape"])
        model = build_model(self.model_config, shape, 2, int(self.config["train"]["seed"]), generator_factory)
        state = torch.load(self.path / "model.pt", map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        return model


def load_run(path: str | os.PathLike, need_model: bool = True) -> RunRecord:
    """Read a run directory written by :func:`save_run`.

    Args:
        path: the run directory.
        need_model: require ``model.pt`` (viewers that only draw the saved results pass False).

    Raises:
        ValueError: if the directory or a file is missing, or a file cannot be parsed. The arrays
            are read with :func:`~qcbnn_core.safe_npz.read_npz` (numbers only, at most
            ``MAX_RUN_ARRAY_BYTES`` each), so an untrusted run directory cannot exhaust memory.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ValueError(f"run directory not found: {root}")
    missing = [f for f in RUN_FILES if not (root / f).is_file() and (need_model or f != "model.pt")]
    if missing:
        raise ValueError(f"{root} is not a complete qcbnn run directory; missing {missing}")
    try:
        config = json.loads((root / "config.json").read_text())
        history = json.loads((root / "history.json").read_text())
        metrics = json.loads((root / "metrics.json").read_text())
        predictions = read_npz(_read_capped(root / "predictions.npz"), MAX_RUN_ARRAY_BYTES)
        snapshots = read_npz(_read_capped(root / "weights.npz"), MAX_RUN_ARRAY_BYTES, required=("snapshots",))[
            "snapshots"]
    except (json.JSONDecodeError, UnicodeDecodeError, OSError, ValueError, KeyError) as exc:
        raise ValueError(f"cannot read run directory {root}: {exc}") from exc
    if not all(isinstance(x, dict) for x in (config, history, metrics)):
        raise ValueError(f"cannot read run directory {root}: its JSON files must hold objects")
    try:
        version, config = unstamp(config, KIND, FORMAT_VERSION, {1: 1})
    except ValueError as exc:
        raise ValueError(f"{root}/config.json: {exc}") from exc
    return RunRecord(root, config, history.get("epochs", []), history.get("steps", []), metrics, predictions, snapshots,
                     version)


def _read_capped(path: Path) -> bytes:
    if path.stat().st_size > MAX_RUN_FILE_BYTES:
        raise ValueError(f"{path.name} has {path.stat().st_size:,} bytes; the limit is {MAX_RUN_FILE_BYTES:,}")
    return path.read_bytes()
