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
import math
from dataclasses import dataclass, field
from pathlib import Path

from safetensors import SafetensorError

from labkit.run_format import stamp, unstamp
from labkit.strict_json import jsonable
from ntl_core.history import eval_rows, train_rows
from ntl_core.train_config import TrainConfig

CONFIG, METRICS, CHECKPOINT = "config.json", "metrics.jsonl", "model"
KIND, FORMAT_VERSION = "ntl", 2  # version 1: the same files without the header
MAX_RUN_FILE_BYTES = 64 << 20  # a run's JSON files; an untrusted run directory must not exhaust memory


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


def load_run(run_dir: str | Path) -> RunRecord:
    """Read a run directory written by :func:`save_run` / ``Trainer.save`` / the CLI.

    Raises:
        ValueError: if the directory, ``config.json`` or ``metrics.jsonl`` is missing or
            unreadable (the message names the file and line).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir} is not a directory")
    for name in (CONFIG, METRICS):
        if (run_dir / name).is_file() and (run_dir / name).stat().st_size > MAX_RUN_FILE_BYTES:
            raise ValueError(f"{run_dir / name}: larger than {MAX_RUN_FILE_BYTES:,} bytes")
    try:
        version, fields = unstamp(json.loads((run_dir / CONFIG).read_text()), KIND, FORMAT_VERSION, {None: 1})
        config = TrainConfig.from_dict(fields)
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{run_dir / CONFIG}: cannot read the run's config ({err})") from err
    except ValueError as err:
        raise ValueError(f"{run_dir / CONFIG}: {err}") from err
    history = []
    try:
        lines = (run_dir / METRICS).read_text().splitlines()
    except OSError as err:
        raise ValueError(f"{run_dir / METRICS}: cannot read the run's metrics ({err})") from err
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{run_dir / METRICS} line {number}: not JSON ({err})") from err
        if not isinstance(row, dict) or not isinstance(row.get("step"), int) or row["step"] < 0:
            raise ValueError(f"{run_dir / METRICS} line {number}: expected an object with a whole 'step' >= 0")
        history.append({k: (math.nan if v is None else v) for k, v in row.items()})
    return RunRecord(config, history, run_dir, (run_dir / CHECKPOINT / "config.json").is_file(), version)


def load_runs(path: str | Path) -> list[RunRecord]:
    """One run directory, or a directory of them (a CLI comparison), as a list of records.

    Raises:
        ValueError: if ``path`` holds neither a run nor any run subdirectory.
    """
    path = Path(path)
    if (path / CONFIG).is_file():
        return [load_run(path)]
    subdirs = sorted(p for p in path.iterdir() if (p / CONFIG).is_file()) if path.is_dir() else []
    if not subdirs:
        raise ValueError(f"{path} contains no run (no config.json in it or its subdirectories)")
    return [load_run(p) for p in subdirs]
