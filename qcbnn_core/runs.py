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
from labkit.untrusted import Budget, is_regular_file, open_regular, read_json

from .metrics import Evaluation
from .models import GeneratorFactory, MCNet, ModelConfig, build_model
from .run_schema import PREDICTION_MEMBERS, check_run
from .safe_npz import read_npz
from .trainer import Trainer

RUN_FILES = ("config.json", "history.json", "metrics.json", "predictions.npz", "weights.npz", "model.pt")
KIND, FORMAT_VERSION = "qcbnn", 2
MAX_RUN_ARRAY_BYTES = 32 << 20  # one decoded array of a run (predictions: S × N × 2 float32); all of them share a Budget


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
    try:
        torch.save(trainer.model.state_dict(), out / "model.pt")
    except RuntimeError as err:  # torch's zip writer reports a full disk this way ("file write failed"), not as OSError
        raise OSError(f"cannot write the weights to {out / 'model.pt'} ({err})") from err
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


def load_run(path: str | os.PathLike, need_model: bool = True, budget: Budget | None = None) -> RunRecord:
    """Read a run directory written by :func:`save_run` and check it against :mod:`~qcbnn_core.run_schema`.

    Args:
        path: the run directory.
        need_model: require ``model.pt`` (viewers that only draw the saved results pass False).
        budget: what the directory may decode in total (default: a fresh
            :class:`~labkit.untrusted.Budget`); an upload passes the one its zip was unpacked with.

    Raises:
        ValueError: a missing file, a symbolic link, a file that cannot be parsed, over the budget, or
            a field the schema refuses; the message names the file (relative to the run) and the field.
            Arrays are read with :func:`~qcbnn_core.safe_npz.read_npz` (numbers only, sizes checked
            before decoding), so an untrusted run directory cannot exhaust memory.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ValueError(f"run directory not found: {root}")
    wanted = [f for f in RUN_FILES if need_model or f != "model.pt"]
    links = [f for f in wanted if (root / f).is_symlink()]
    if links:
        raise ValueError(f"{links[0]} is a symbolic link; run files are read without following links")
    missing = [f for f in wanted if not is_regular_file(root / f)]
    if missing:
        raise ValueError(f"not a complete qcbnn run directory; missing {missing}")
    budget = budget or Budget()
    config, history, metrics = (read_json(root / name, budget, name)
                                for name in ("config.json", "history.json", "metrics.json"))
    try:
        version, config = unstamp(config, KIND, FORMAT_VERSION, {1: 1})
    except ValueError as exc:
        raise ValueError(f"config.json: {exc}") from None
    if isinstance(history, dict):
        budget.charge_rows(sum(len(v) for v in history.values() if isinstance(v, list)), "history.json")
    predictions = _arrays(root, "predictions.npz", budget, PREDICTION_MEMBERS)
    snapshots = _arrays(root, "weights.npz", budget, ("snapshots",))["snapshots"]
    check_run(config, history, metrics, predictions, snapshots)
    return RunRecord(root, config, history["epochs"], history.get("steps", []), metrics, predictions, snapshots,
                     version)


def _arrays(root: Path, name: str, budget: Budget, members: tuple[str, ...]) -> dict[str, np.ndarray]:
    with open_regular(root / name, name) as fh:
        return read_npz(fh, MAX_RUN_ARRAY_BYTES, required=members, allowed=members, budget=budget, what=name)
