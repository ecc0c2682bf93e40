"""A small trainer with ``step()``/``epoch()``, per-epoch history and weight snapshots, callbacks.

One ``seed`` fixes the model initialisation, the data order, the Monte-Carlo weight draws of training
and the evaluation draws. Evaluation uses its own generator (seeded by seed and epoch), so calling
:meth:`Trainer.evaluate` or :meth:`Trainer.predict` at any time (a page redrawing) never changes the
training trajectory.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from labkit import callbacks as labkit_callbacks
from labkit.callbacks import EPOCH, STEP, Callback, notify
from labkit.config import Config
from labkit.device import pick_device
from labkit.seeds import torch_generator

from .data import MAX_SPLIT_ROWS, QCBNNDataset
from .metrics import Evaluation, evaluate
from .models import GeneratorFactory, MCNet, ModelConfig, build_model
from .objectives import Objective, beta_schedule

# Upper bounds of the sizes a run may ask for (1,000,000,000 draws or replicates failed to allocate). The
# first layer holds draws x batch x 3,136 activations (28x28 inputs, 16 maps of 14x14).
SIZE_LIMITS = {
    # the largest training split accepted (BreastMNIST-sized): a bigger batch is the same full batch
    "batch_size": MAX_SPLIT_ROWS["train"],
    # 8x the default; at the largest batch one step's first-layer activations are then ~0.56 GB
    "n_samples_train": 64,
    # 64x the default; predictions go input by input past ~1,300 draws, ~50 MB of activations at 4,096
    "n_samples_eval": 4096,
    # 32x the default number of extra mixing draws of the semi-implicit KL bound
    "sivi_draws": 1024,
    # weight draws kept for every epoch for the weight plots (epochs x draws x weights floats)
    "snapshot_samples": 4096,
    # CI endpoints move by well under 1 % of the interval past a few thousand replicates; the
    # (replicates x test inputs) index arrays stay ~32 MB for a 200-image test split
    "n_boot": 20_000,
}


@dataclass(frozen=True)
class TrainConfig(Config):
    """Training settings. Defaults train QCBNN on the phantom in about a minute on 2 CPU cores.

    Args:
        epochs: passes over the training split.
        batch_size: examples per optimiser step.
        lr: Adam learning rate of the classical parameters (and of the circuit unless ``lr_generator``).
        lr_generator: Adam learning rate of the quantum circuit; ``None`` = ``lr``.
        n_samples_train: weight draws S per training step.
        n_samples_eval: weight draws S for predictions.
        beta_max: final KL weight β.
        warmup_epochs: linear β warm-up length (0 = none).
        prior_sigma: std of the Gaussian prior N(0, σ²).
        disc_steps: discriminator updates per step (born generator).
        disc_lr: discriminator learning rate.
        sivi_draws: extra mixing draws K of the semi-implicit KL bound (semi-implicit generators).
        snapshot_samples: weight draws stored per epoch for the weight-distribution plots.
        n_boot: bootstrap replicates for the uncertainty-gap CIs in :meth:`Trainer.evaluate`.
        seed: the one seed.
        device: ``"auto"`` (CUDA, MPS, CPU) or a device name, for the classical part.
    """

    epochs: int = 30
    batch_size: int = 32
    lr: float = 0.01
    lr_generator: float | None = None
    n_samples_train: int = 8
    n_samples_eval: int = 64
    beta_max: float = 1.0
    warmup_epochs: int = 5
    prior_sigma: float = 1.0
    disc_steps: int = 2
    disc_lr: float = 1e-3
    sivi_draws: int = 32
    snapshot_samples: int = 256
    n_boot: int = 1000
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "n_samples_train", "n_samples_eval", "snapshot_samples", "n_boot"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        for name, high in SIZE_LIMITS.items():
            if getattr(self, name) > high:
                raise ValueError(f"{name} must be at most {high:,}, got {getattr(self, name):,}")
        for name in ("lr", "prior_sigma", "disc_lr", "beta_max"):
            if not _finite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, got {getattr(self, name)!r}")
        for name in ("lr", "prior_sigma", "disc_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.lr_generator is not None and not (_finite(self.lr_generator) and self.lr_generator > 0):
            raise ValueError(f"lr_generator must be None or a finite number > 0, got {self.lr_generator}")
        if self.beta_max < 0 or self.warmup_epochs < 0 or self.disc_steps < 0 or self.sivi_draws < 0:
            raise ValueError("beta_max, warmup_epochs, disc_steps and sivi_draws must be >= 0")


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


class TqdmCallback(labkit_callbacks.TqdmCallback):
    """Progress bar over all optimiser steps (CLI and notebooks); shows loss and validation accuracy."""

    def __init__(self, **tqdm_kwargs) -> None:
        super().__init__(None, **tqdm_kwargs)

    def postfix(self, event: str, trainer: Trainer, row: dict) -> dict[str, str]:
        if event != EPOCH:
            return super().postfix(event, trainer, row)
        return {"loss": f"{row['train_loss']:.3f}", "val_acc": f"{row['val_accuracy']:.3f}"}


class Trainer:
    """Owns model, objective, optimiser, data order and history.

    Args:
        data: the dataset (its ``train`` split is trained on, ``val`` scored each epoch).
        model_cfg: which model to build.
        cfg: training settings.
        callbacks: ``callback(event, trainer, row)`` functions (:mod:`labkit.callbacks`), called with
            ``"step"`` after each optimiser step and ``"epoch"`` after each epoch.
        generator_factory: replaces the quantum generator (tests); see :func:`build_model`.

    Attributes:
        history: one dict per finished epoch (train loss/NLL/KL/β averages, validation scores, time).
        step_history: one dict per optimiser step.
        weight_snapshots: ``[(S_snap, n_weights) float32 arrays]``; index 0 = before training, i = after epoch i.
    """

    def __init__(self, data: QCBNNDataset, model_cfg: ModelConfig | None = None, cfg: TrainConfig | None = None,
                 callbacks: tuple[Callback, ...] | list[Callback] = (), generator_factory: GeneratorFactory | None = None):
        self.data, self.model_cfg, self.cfg = data, model_cfg or ModelConfig(), cfg or TrainConfig()
        self.callbacks = list(callbacks)
        self.device = pick_device(self.cfg.device)
        seed = self.cfg.seed
        self.model: MCNet = build_model(self.model_cfg, data.input_shape, 2, seed, generator_factory).to(self.device)
        self.n_train = len(data.train)
        self.objective = Objective(self.model, self.n_train, self.cfg.prior_sigma, self.cfg.disc_steps,
                                   self.cfg.disc_lr, seed=seed, sivi_draws=self.cfg.sivi_draws).to(self.device)
        self.optimizer = torch.optim.Adam(self._param_groups())
        self._x = data.train.x.to(self.device)
        self._y = data.train.y.to(self.device)
        self._order_rng = torch_generator(seed, "order")
        self._mc_rng = torch_generator(seed, "mc")
        self.steps_per_epoch = -(-self.n_train // self.cfg.batch_size)
        self.global_step = 0
        self._order: torch.Tensor | None = None
        self._epoch_records: list[dict] = []
        self.history: list[dict] = []
        self.step_history: list[dict] = []
        self.weight_snapshots: list[np.ndarray] = [self._snapshot(0)]

    # --------------------------------------------------------------------------------------- state
    def _param_groups(self) -> list[dict]:
        gen = self.model.source.generator if hasattr(self.model.source, "generator") else None
        gen_ids = {id(p) for p in gen.parameters()} if gen is not None else set()
        classical = [p for p in self.model.parameters() if id(p) not in gen_ids]
        groups = [{"params": classical, "lr": self.cfg.lr}]
        if gen_ids:
            groups.append({"params": list(gen.parameters()), "lr": self.cfg.lr_generator or self.cfg.lr})
        return groups

    @property
    def epoch_index(self) -> int:
        """Number of finished epochs."""
        return len(self.history)

    @property
    def total_steps(self) -> int:
        return self.cfg.epochs * self.steps_per_epoch

    @property
    def done(self) -> bool:
        """True once ``cfg.epochs`` epochs are finished."""
        return self.epoch_index >= self.cfg.epochs

    def _eval_rng(self, salt: int = 0) -> torch.Generator:
        return torch_generator(self.cfg.seed, "eval", self.epoch_index, salt)

    def _snapshot(self, salt: int) -> np.ndarray:
        n = 1 if self.model_cfg.kind == "cnn" else self.cfg.snapshot_samples
        with torch.no_grad():
            w = self.model.source.sample(n, self._eval_rng(salt))
        return w.detach().float().cpu().numpy()

    # --------------------------------------------------------------------------------------- training
    def step(self, n: int = 1) -> dict:
        """Advance ``n`` optimiser steps (stops at an epoch end: call :meth:`epoch` to close it).

        Returns:
            The last step's record: ``step``, ``epoch``, ``loss`` (negative ELBO per example), ``nll``, ``kl``, ``beta``.
        """
        record: dict = {}
        self.model.train()
        for _ in range(n):
            if self.done:
                break
            if self._order is None:
                self._order = torch.randperm(self.n_train, generator=self._order_rng).to(self.device)
            k = len(self._epoch_records)
            if k >= self.steps_per_epoch:
                break
            idx = self._order[k * self.cfg.batch_size:(k + 1) * self.cfg.batch_size]
            warmup = self.cfg.warmup_epochs * self.steps_per_epoch
            beta = beta_schedule(self.global_step, warmup, self.cfg.beta_max)
            parts = self.objective.loss(self._x[idx], self._y[idx], self.cfg.n_samples_train, beta, self._mc_rng)
            self.optimizer.zero_grad()
            parts.loss.backward()
            self.optimizer.step()
            disc_loss = self.objective.after_step(self._mc_rng)
            self.global_step += 1
            record = {"step": self.global_step, "epoch": self.epoch_index + 1, "loss": parts.neg_elbo,
                      "nll": parts.nll, "kl": parts.kl, "beta": beta}
            if disc_loss is not None:
                record["disc_loss"] = disc_loss
            self._epoch_records.append(record)
            self.step_history.append(record)
            notify(self.callbacks, STEP, self, record)
        return record

    def epoch(self) -> dict:
        """Finish the current epoch (its remaining steps), score the validation split, snapshot the weights.

        Returns:
            The epoch's history record.
        """
        if self.done:
            raise ValueError(f"training is finished ({self.cfg.epochs} epochs); build a new Trainer to continue")
        t0 = time.perf_counter()
        self.step(self.steps_per_epoch - len(self._epoch_records))
        seconds = time.perf_counter() - t0
        recs = self._epoch_records
        val = self.evaluate("val", n_boot=100)
        record = {
            "epoch": self.epoch_index + 1, "step": self.global_step,
            "train_loss": float(np.mean([r["loss"] for r in recs])),
            "train_nll": float(np.mean([r["nll"] for r in recs])),
            "train_kl": float(np.mean([r["kl"] for r in recs])),
            "beta": recs[-1]["beta"], "seconds": seconds,
            **{f"val_{k}": v for k, v in val.scalars().items()},
        }
        self._epoch_records, self._order = [], None
        self.history.append(record)
        self.weight_snapshots.append(self._snapshot(0))
        notify(self.callbacks, EPOCH, self, record)
        return record

    def fit(self, epochs: int | None = None) -> list[dict]:
        """Run ``epochs`` more epochs (default: until ``cfg.epochs``); returns the history."""
        todo = self.cfg.epochs - self.epoch_index if epochs is None else min(epochs, self.cfg.epochs - self.epoch_index)
        for _ in range(max(todo, 0)):
            self.epoch()
        return self.history

    # --------------------------------------------------------------------------------------- inference
    def predict(self, split: str = "test", n_samples: int | None = None) -> torch.Tensor:
        """MC class probabilities ``(S, N, 2)`` on a split (CPU tensor), with evaluation-only randomness."""
        s = self.data.split(split)
        probs = self.model.predict_proba(s.x.to(self.device), n_samples or self.cfg.n_samples_eval, self._eval_rng(1))
        return probs.cpu()

    def evaluate(self, split: str = "test", n_samples: int | None = None, n_boot: int | None = None) -> Evaluation:
        """All metrics (see :func:`qcbnn_core.metrics.evaluate`) on a split."""
        return evaluate(self.predict(split, n_samples), self.data.split(split).y,
                        n_boot=n_boot or self.cfg.n_boot, seed=self.cfg.seed)


def train(data: QCBNNDataset, model_cfg: ModelConfig | None = None, cfg: TrainConfig | None = None,
          callbacks: list[Callback] | tuple = (), generator_factory: GeneratorFactory | None = None) -> Trainer:
    """Build a :class:`Trainer` and run all epochs."""
    trainer = Trainer(data, model_cfg, cfg, callbacks, generator_factory)
    trainer.fit()
    return trainer
