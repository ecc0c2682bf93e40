"""Run directories: what a trainer writes and what the lab page / CLI read back.

Layout of one run directory::

    config.json      the run-directory header (labkit.run_format) + TrainConfig.to_dict();
                     directories written before the header (format 1) still open
    metrics.jsonl    one JSON object per history row (train rows and eval rows with "split")
    model/           save_pretrained() of the model and its tokenizer

A comparison written by the CLI is a directory of run directories (``<loss>-seed<k>/``) plus
``summary.json``; :func:`load_runs` reads all of them.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from safetensors import SafetensorError

from labkit.run_format import stamp, unstamp
from labkit.strict_json import jsonable
from labkit.untrusted import Budget, is_regular_file, read_json, read_jsonl
from ntl_core.history import eval_rows, train_rows
from ntl_core.run_schema import check_row
from ntl_core.train_config import TrainConfig

CONFIG, METRICS, CHECKPOINT = "config.json", "metrics.jsonl", "model"
KIND, FORMAT_VERSION = "ntl", 2  # version 1: the same files without the header


@dataclass
class RunRecord:
    """A run read back from disk.

    Attributes:
        config: the run's configuration.
        history: its rows, as in ``Trainer.history`` (``null`` metrics come back as ``nan``).
        path: the run directory.
        has_checkpoint: whether ``model/`` exists (then :func:`ntl_core.trainer.load_trainer` can restore it).
        format_version: the directory's format (1: written before the run-directory header existed).
    """

    config: TrainConfig
    history: list[dict] = field(default_factory=list)
    path: Path | None = None
    has_checkpoint: bool = False
    format_version: int = FORMAT_VERSION

    @property
    def name(self) -> str:
        return self.path.name if self.path else f"{self.config.loss}-seed{self.config.seed}"

    def eval_rows(self, split: str = "interpolation") -> list[dict]:
        return eval_rows(self.history, split)

    def train_rows(self) -> list[dict]:
        return train_rows(self.history)


def write_history(run_dir: str | Path, cfg: TrainConfig, history: list[dict]) -> Path:
    """Write a run directory without weights: ``config.json`` and ``metrics.jsonl`` (what the replay reads)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / CONFIG).write_text(json.dumps(stamp(cfg.to_dict(), KIND, FORMAT_VERSION), indent=2))
    with open(run_dir / METRICS, "w") as fh:
        for row in history:
            fh.write(json.dumps(jsonable(row), allow_nan=False) + "\n")
    return run_dir


def save_run(trainer, run_dir: str | Path, weights: bool = True) -> Path:
    """Write ``trainer``'s config, history and (unless ``weights=False``) checkpoint into ``run_dir``."""
    run_dir = write_history(run_dir, trainer.cfg, trainer.history)
    if weights:
        try:
            trainer.model.save_pretrained(run_dir / CHECKPOINT)
        except SafetensorError as err:  # safetensors reports a full disk this way, not as an OSError
            raise OSError(f"cannot write the checkpoint to {run_dir / CHECKPOINT} ({err})") from err
        trainer.tokenizer.save_pretrained(run_dir / CHECKPOINT)
    return run_dir


def load_run(run_dir: str | Path, budget: Budget | None = None, name: str = "") -> RunRecord:
    """Read a run directory written by :func:`save_run` / ``Trainer.save`` / the CLI.

    Args:
        run_dir: the run directory.
        budget: what it may decode (default: a fresh :class:`~labkit.untrusted.Budget`; an upload or a
            comparison passes one budget for all its runs).
        name: the run's name in messages (``"ce-seed0/"``); messages never show the folder's full path.

    Raises:
        ValueError: a missing or symlinked file, unreadable JSON, over the budget, or a config or
            history row the schema refuses (the message names the file, the line and the field).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir} is not a directory")
    budget = budget or Budget()
    raw = read_json(run_dir / CONFIG, budget, name + CONFIG)
    try:
        version, fields = unstamp(raw, KIND, FORMAT_VERSION, {None: 1})
        config = TrainConfig.from_dict(fields)
    except ValueError as err:
        raise ValueError(f"{name}{CONFIG}: {err}") from None
    history = [check_row(row, f"{name}{METRICS} line {n}") for n, row in read_jsonl(run_dir / METRICS, budget,
                                                                                       name + METRICS)]
    return RunRecord(config, history, run_dir, (run_dir / CHECKPOINT / "config.json").is_file(), version)


def load_runs(path: str | Path, budget: Budget | None = None) -> list[RunRecord]:
    """One run directory, or a directory of them (a CLI comparison), as a list of records.

    All runs share one budget. Symbolic links are not followed; two runs of the same loss and seed
    are refused (one would hide the other in every chart).

    Raises:
        ValueError: if ``path`` holds neither a run nor any run subdirectory, or a run is refused.
    """
    path, budget = Path(path), budget or Budget()
    if is_regular_file(path / CONFIG):
        return [load_run(path, budget)]
    subdirs = sorted(p for p in _real_subdirs(path) if is_regular_file(p / CONFIG))
    if not subdirs:
        raise ValueError("this folder contains no run (no config.json in it or its subfolders)")
    records = [load_run(p, budget, f"{p.name}/") for p in subdirs]
    seen: dict[tuple[str, int], str] = {}
    for rec in records:
        key = (rec.config.loss, rec.config.seed)
        if key in seen:
            raise ValueError(f"{seen[key]} and {rec.path.name} are both {key[0]} with seed {key[1]}; keep one")
        seen[key] = rec.path.name
    return records


def _real_subdirs(path: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(path) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
