"""A small trainer with ``step(n)``: the page, the CLI and the notebook all drive this class.

Like minGPT's trainer it owns the model, the optimiser, the data stream and the metric history;
unlike a ``fit()`` loop it advances only ``n`` optimiser steps per call, so a Streamlit fragment
can train a chunk per tick and stop instantly.
"""
from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
import torch.nn.functional as F

from ntl_core.batching import greedy_generate, lm_batch, prompt_batch
from labkit import callbacks as labkit_callbacks
from labkit.callbacks import EVAL, STEP, Callback, notify
from labkit.device import pick_device
from ntl_core.history import eval_rows, train_rows
from ntl_core.metrics import answer_metrics
from ntl_core.models import build_model, load_model, model_arch
from ntl_core.objectives import make_objective
from ntl_core.runs import CHECKPOINT, load_run, save_run
from ntl_core.tasks import ArithmeticTask
from ntl_core.tokenization import build_tokenizer, digit_token_ids
from ntl_core.train_config import TrainConfig

_EVAL_CHUNK = 256  # questions per generation call; bounds memory for large eval sets


class TqdmCallback(labkit_callbacks.TqdmCallback):
    """Progress bar for the CLI and notebooks: loss on every step, exact match after each eval."""

    def __init__(self, total: int, desc: str = "") -> None:
        super().__init__(total, desc=desc, leave=False)

    def postfix(self, event: str, trainer: "Trainer", row: dict) -> dict[str, str]:
        if event != EVAL:
            return super().postfix(event, trainer, row)
        loss = f"{trainer.history_train[-1]['loss']:.3f}" if trainer.history_train else "-"
        return {"loss": loss, f"em_{row['split'][:5]}": f"{row['exact_match']:.2f}"}


class Trainer:
    """Train one model on one task with one loss, a few steps at a time.

    Args:
        cfg: the run's configuration.
        callbacks: ``callback(event, trainer, row)`` functions (:mod:`labkit.callbacks`), called with
            ``"step"`` after each train row and ``"eval"`` after each evaluation row.
        model: an already trained model to continue from (e.g. loaded from a run directory);
            by default a fresh one is initialised from ``cfg.seed``.

    Attributes:
        history: one dict per optimiser step (``step``, ``loss``, ``ce``, ``ntl`` for NTL runs,
            ``lr``, ``time`` = seconds of training so far) and one per evaluation (``step``,
            ``split``, the metrics of :func:`ntl_core.metrics.answer_metrics`). JSON-serialisable.
        device: where the model lives.
    """

    def __init__(self, cfg: TrainConfig, callbacks: Iterable[Callback] = (), model: torch.nn.Module | None = None):
        self.cfg = cfg
        self.device = pick_device(cfg.device)
        self.task = cfg.make_task()
        self.tokenizer = build_tokenizer(cfg.tokenizer)
        self.arch = model_arch(cfg.model)
        self.regression = cfg.loss == "reg"
        self.value_scale = self.task.value_scale if self.regression else 1.0
        if model is None:
            torch.manual_seed(cfg.seed)  # same seed ⇒ same initial weights whatever the loss
            model = build_model(cfg.model, self.tokenizer, regression=self.regression)
        self.model = model.to(self.device)
        self.objective = None if self.regression else make_objective(cfg.loss, self.tokenizer, cfg.ntl_weight, cfg.reweigh)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        warmup = max(cfg.warmup_steps, 1)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: min(1.0, (s + 1) / warmup))
        # The data stream has its own generator: the loss never consumes from it, so runs that
        # differ only in their loss see exactly the same batches.
        self.data_rng = np.random.default_rng(cfg.seed)
        self._fixed = self.task.fixed_train_set(cfg.train_size) if cfg.train_size else None
        self._epoch: list[int] = []  # indices of the fixed set still to visit this epoch
        self.callbacks = list(callbacks)
        self.history: list[dict] = []
        self.step_count = 0
        self.train_seconds = 0.0
        self._recent = deque(maxlen=50)  # (seconds) of recent optimiser steps
        use_bf16 = self.device.type == "cuda" and torch.cuda.is_bf16_supported()
        self._autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_bf16 else contextlib.nullcontext

    # ----------------------------------------------------------------- training
    @property
    def history_train(self) -> list[dict]:
        return train_rows(self.history)

    @property
    def history_eval(self) -> list[dict]:
        return eval_rows(self.history)

    @property
    def steps_per_second(self) -> float:
        """Optimiser steps per second over the last (up to 50) steps, evaluation excluded."""
        return len(self._recent) / sum(self._recent) if self._recent else 0.0

    def _losses(self, questions: list[str], answers: list[str]) -> dict[str, torch.Tensor]:
        if self.regression:
            batch = prompt_batch(self.tokenizer, self.arch, questions, self.device, left=False)
            target = torch.tensor([float(a) for a in answers], device=self.device) / self.value_scale
            with self._autocast():
                pred = self.model(**batch).logits.squeeze(-1)
            mse = F.mse_loss(pred.float(), target)
            return {"loss": mse}
        batch = lm_batch(self.tokenizer, self.arch, questions, [self.task.to_target(a) for a in answers], self.device)
        labels = batch.pop("labels")
        with self._autocast():
            logits = self.model(**batch).logits
        return self.objective(logits, labels)

    def _next_batch(self) -> list[tuple[str, str]]:
        """Fresh pairs, or the next pairs of the fixed set (a new shuffled epoch when it runs out)."""
        if self._fixed is None:
            return self.task.sample_train(self.data_rng, self.cfg.batch_size)
        batch = []
        while len(batch) < self.cfg.batch_size:
            if not self._epoch:
                self._epoch = self.data_rng.permutation(len(self._fixed)).tolist()
            take = self._epoch[: self.cfg.batch_size - len(batch)]
            del self._epoch[: len(take)]
            batch += [self._fixed[i] for i in take]
        return batch

    def step(self, n: int = 1) -> dict[str, float]:
        """Run ``n`` optimiser steps (evaluating every ``cfg.eval_every`` steps).

        Returns:
            The last train row: ``step``, ``loss``, ``ce``/``ntl`` where they apply, ``lr``, ``time``.

        Raises:
            ValueError: if ``n`` is not a positive integer, or the loss became NaN/inf (lower the
                learning rate).
        """
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        row: dict[str, float] = {}
        for _ in range(n):
            started = time.perf_counter()
            self.model.train()
            questions, answers = zip(*self._next_batch())
            parts = self._losses(list(questions), list(answers))
            self.optimizer.zero_grad(set_to_none=True)
            parts["loss"].backward()
            # one device→host copy for all loss parts (each .item() would be its own CUDA sync)
            values = torch.stack([v.detach().float() for v in parts.values()]).tolist()
            if not math.isfinite(values[0]):  # before the update, so the weights stay usable
                raise ValueError(f"loss is {values[0]} at step {self.step_count + 1}; lower the learning rate")
            if self.cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
            self.step_count += 1
            elapsed = time.perf_counter() - started
            self._recent.append(elapsed)
            self.train_seconds += elapsed
            row = {"step": self.step_count, **dict(zip(parts, values)),
                   "lr": self.scheduler.get_last_lr()[0], "time": self.train_seconds}
            self.history.append(row)
            notify(self.callbacks, STEP, self, row)
            if self.cfg.eval_every and self.step_count % self.cfg.eval_every == 0:
                for split in self.available_splits:
                    self.evaluate(split)
        return row

    # --------------------------------------------------------------- evaluation
    @property
    def available_splits(self) -> tuple[str, ...]:
        """Held-out splits this task has (a file task may lack an extrapolation file)."""
        return self.task.splits

    def sample_questions(self, k: int, split: str = "interpolation") -> list[tuple[str, str]]:
        """The first ``k`` held-out ``(question, true answer)`` pairs of ``split`` (fixed order)."""
        return self.task.test_set(split)[: max(int(k), 0)]

    @torch.no_grad()
    def predict(self, questions: list[str]) -> list[str]:
        """Greedy answers in normal digit order (regression head: the rounded number).

        Raises:
            ValueError: if ``questions`` is empty or holds an empty string.
        """
        if not questions or any(not isinstance(q, str) or not q.strip() for q in questions):
            raise ValueError("predict needs a non-empty list of non-empty question strings")
        self.model.eval()
        answers: list[str] = []
        for i in range(0, len(questions), _EVAL_CHUNK):
            chunk = questions[i: i + _EVAL_CHUNK]
            if self.regression:
                batch = prompt_batch(self.tokenizer, self.arch, chunk, self.device, left=False)
                with self._autocast():
                    values = self.model(**batch).logits.squeeze(-1).float() * self.value_scale
                answers += [str(round(v)) if isinstance(self.task, ArithmeticTask) else f"{v:.6g}" for v in values.tolist()]
            else:
                with self._autocast():
                    texts, _ = greedy_generate(self.model, self.tokenizer, self.arch, chunk,
                                               self.task.max_answer_chars + 1, self.device)
                answers += [self.task.from_target(t) for t in texts]
        return answers

    def evaluate(self, split: str = "interpolation", n: int | None = None) -> dict[str, float]:
        """Score greedy answers on the first ``n`` (default ``cfg.eval_size``) questions of ``split``.

        Returns:
            ``step``, ``split`` and exact_match, digit_acc, valid, mae, mape, r2 (see
            :func:`ntl_core.metrics.answer_metrics`); the row is also appended to ``history``.
        """
        pairs = self.sample_questions(n or self.cfg.eval_size, split)
        preds = self.predict([q for q, _ in pairs])
        row = {"step": self.step_count, "split": split, **answer_metrics(preds, [a for _, a in pairs])}
        self.history.append(row)
        notify(self.callbacks, EVAL, self, row)
        return row

    @torch.no_grad()
    def answer_digit_probs(self, question: str) -> np.ndarray:
        """Probability of each digit at each answer position the model writes (greedy).

        Args:
            question: e.g. ``"12+34="``.

        Returns:
            (positions, 10) array: row i is the softmax (over the whole vocabulary) of digit tokens
            ``"0"``–``"9"`` at the i-th written answer token, in the order the model writes them
            (least significant digit first when ``cfg.reverse``); rows need not sum to 1 when
            mass sits on other tokens. The ``<eos>`` step is not included.

        Raises:
            ValueError: for the regression head (it has no digit distribution).
        """
        if self.regression:
            raise ValueError("the regression head predicts one number; it has no per-digit probabilities")
        self.model.eval()
        with self._autocast():
            texts, probs = greedy_generate(self.model, self.tokenizer, self.arch, [question],
                                           self.task.max_answer_chars + 1, self.device)
        written = len(self.tokenizer(texts[0], add_special_tokens=False)["input_ids"])
        return probs[0, :written][:, digit_token_ids(self.tokenizer)].cpu().numpy()

    def save(self, run_dir, weights: bool = True) -> None:
        """Write ``config.json``, ``metrics.jsonl`` and (with ``weights``) the checkpoint ``model/`` into ``run_dir``."""
        save_run(self, run_dir, weights)


def load_trainer(run_dir: str | Path, device: str = "auto") -> Trainer:
    """A :class:`Trainer` with the run's trained weights and history restored.

    The optimiser starts fresh, so continuing training is close to, not identical with, an
    uninterrupted run.

    Raises:
        ValueError: if the run directory is unreadable or has no checkpoint.
    """
    record = load_run(run_dir)
    if not record.has_checkpoint:
        raise ValueError(f"{run_dir} has no checkpoint ({CHECKPOINT}/ is missing)")
    try:
        model = load_model(Path(run_dir) / CHECKPOINT, regression=record.config.loss == "reg")
    except (OSError, ValueError) as err:
        raise ValueError(f"{run_dir}: cannot load the checkpoint ({err})") from err
    trainer = Trainer(record.config.replace(device=device), model=model)
    trainer.history = record.history
    trainer.step_count = max((r["step"] for r in record.history), default=0)
    return trainer
