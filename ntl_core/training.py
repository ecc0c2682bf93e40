"""Public training API in one import (described in docs/ntl_core.md)."""
from labkit.callbacks import Callback
from ntl_core.objectives import LOSS_LABELS, LOSSES
from ntl_core.runs import RunRecord, load_run, load_runs, save_run
from ntl_core.presets import PRESET_INFO, PRESETS
from ntl_core.train_config import TrainConfig
from ntl_core.trainer import TqdmCallback, Trainer, load_trainer

__all__ = ["LOSSES", "LOSS_LABELS", "PRESETS", "PRESET_INFO", "Callback", "RunRecord", "TqdmCallback", "TrainConfig", "Trainer",
           "load_run", "load_runs", "load_trainer", "save_run"]
