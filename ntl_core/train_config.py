"""Configuration of one training run, and named presets."""
from __future__ import annotations

import math
from dataclasses import dataclass

from labkit.config import Config
from ntl_core.models import MODEL_PRESETS
from ntl_core.objectives import LOSSES
from ntl_core.deepmind import DIFFICULTIES, MAX_TRAIN_SIZE, MODULES, TASK_PREFIX, DeepMindTask
from ntl_core.tasks import OPERATIONS, ArithmeticTask, FileTask, Task
from ntl_core.tokenization import TOKENIZER_KINDS

DEEPMIND_TASKS = tuple(TASK_PREFIX + m for m in MODULES)
TASKS = (*OPERATIONS, *DEEPMIND_TASKS, "file")
MAX_BATCH = 1024  # keeps a shared classroom server's memory bounded
# The DeepMind Mathematics test files hold 10,000 questions per module, the largest held-out split read
# here; every evaluation decodes them all greedily. (1,000,000,000 allocated 7.45 GiB before training.)
MAX_EVAL_SIZE = 10_000


@dataclass(frozen=True)
class TrainConfig(Config):
    """Everything that defines a run; two runs with equal configs train identically.

    Attributes:
        task: ``"addition"``, ``"subtraction"``, ``"multiplication"``, a DeepMind Mathematics module
            ``"dm:<module>"`` (generated locally, see :mod:`ntl_core.deepmind`) or ``"file"`` (then
            ``data_path`` and optionally ``interpolation_path``/``extrapolation_path`` are
            DeepMind-Mathematics-style text files).
        difficulty: training difficulty of a ``dm:`` task (``"easy"``, ``"medium"``, ``"hard"``, ``"all"``).
        digits: maximal operand digits in training (arithmetic tasks).
        reverse: answers written least significant digit first.
        model: a key of :data:`ntl_core.models.MODEL_PRESETS`.
        loss: ``"ce"``, ``"mse"`` (CE + NTL-MSE), ``"was"`` (CE + NTL-WAS) or ``"reg"``
            (regression head on the same backbone).
        ntl_weight: λ in CE + λ·NTL.
        reweigh: scale NTL by the probability mass on digit tokens.
        lr: peak AdamW learning rate (linear warm-up over ``warmup_steps``, then constant).
        batch_size: questions per optimiser step.
        seed: fixes model initialisation and the order of training batches.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.
        eval_every: evaluate both test splits every this many steps (0: never automatically).
        eval_size: questions per evaluation (and per held-out split).
        steps: the step budget used by the CLI and presets (``Trainer.step`` itself is open-ended).
        tokenizer: ``"digits"`` (one token per digit) or ``"multidigit"`` (contrast; CE/reg only).
        train_size: 0 draws fresh training pairs every step (``dm:`` tasks: draws from a fixed set of
            50,000 generated pairs); N > 0 trains on a fixed set of N pairs (the same for every seed),
            reshuffled each epoch — the paper's setting.
        warmup_steps, weight_decay: optimiser details.
        grad_clip: clip the gradient norm to this value; 0 turns clipping off.
    """

    task: str = "addition"
    digits: int = 2
    reverse: bool = True
    model: str = "gpt2-tiny"
    loss: str = "was"
    ntl_weight: float = 0.3
    reweigh: bool = False
    lr: float = 3e-3
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"
    eval_every: int = 50
    eval_size: int = 256
    steps: int = 1000
    tokenizer: str = "digits"
    warmup_steps: int = 50
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    train_size: int = 0
    difficulty: str = "all"
    data_path: str | None = None
    interpolation_path: str | None = None
    extrapolation_path: str | None = None

    def __post_init__(self) -> None:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(message)

        need(self.task in TASKS, f"unknown task {self.task!r}; choose one of {TASKS}")
        need(self.task != "file" or bool(self.data_path), "task 'file' needs data_path (a question/answer .txt file)")
        need(isinstance(self.digits, int) and not isinstance(self.digits, bool) and 1 <= self.digits <= 12,
             f"digits must be an integer from 1 to 12, got {self.digits!r}")
        need(isinstance(self.reverse, bool) and isinstance(self.reweigh, bool), "reverse and reweigh must be true or false")
        need(self.model in MODEL_PRESETS, f"unknown model {self.model!r}; choose one of {tuple(MODEL_PRESETS)}")
        need(self.loss in LOSSES, f"unknown loss {self.loss!r}; choose one of {LOSSES}")
        need(self.tokenizer in TOKENIZER_KINDS, f"unknown tokenizer {self.tokenizer!r}; choose one of {TOKENIZER_KINDS}")
        need(self.tokenizer == "digits" or self.loss in ("ce", "reg"),
             "NTL losses need the 'digits' tokenizer: with multi-digit tokens there is no digit distribution to compare")
        for name in ("lr", "ntl_weight", "weight_decay", "grad_clip"):
            value = getattr(self, name)
            need(isinstance(value, (int, float)) and math.isfinite(value), f"{name} must be a finite number, got {value!r}")
        need(0 < self.lr <= 1, f"learning rate must be in (0, 1], got {self.lr}")
        need(self.ntl_weight >= 0, f"ntl_weight (λ) must be ≥ 0, got {self.ntl_weight}")
        need(self.weight_decay >= 0 and self.grad_clip >= 0, "weight_decay and grad_clip must be ≥ 0 (grad_clip 0: no clipping)")
        for name, low in (("batch_size", 1), ("eval_size", 1), ("steps", 0), ("eval_every", 0), ("warmup_steps", 0),
                          ("seed", 0), ("train_size", 0)):
            value = getattr(self, name)
            need(isinstance(value, int) and not isinstance(value, bool) and value >= low,
                 f"{name} must be an integer ≥ {low}, got {value!r}")
        need(self.train_size == 0 or self.task != "file", "train_size applies to arithmetic and DeepMind tasks (a file task is already a fixed set)")
        need(self.train_size <= MAX_TRAIN_SIZE, f"train_size must be at most {MAX_TRAIN_SIZE:,}, got {self.train_size:,}")
        need(self.difficulty in DIFFICULTIES, f"difficulty must be one of {tuple(DIFFICULTIES)}, got {self.difficulty!r}")
        need(self.batch_size <= MAX_BATCH, f"batch_size must be at most {MAX_BATCH}, got {self.batch_size}")
        need(self.eval_size <= MAX_EVAL_SIZE, f"eval_size must be at most {MAX_EVAL_SIZE:,} (the size of a DeepMind "
                                              f"Mathematics test file), got {self.eval_size:,}")

    def make_task(self) -> Task | DeepMindTask:
        """The task this config trains on (file tasks read and validate their files here)."""
        if self.task.startswith(TASK_PREFIX):
            return DeepMindTask(self.task[len(TASK_PREFIX):], self.difficulty,
                                self.train_size or DeepMindTask.train_size, self.eval_size, self.reverse)
        if self.task == "file":
            return FileTask(self.data_path, self.interpolation_path, self.extrapolation_path,
                            reverse=self.reverse, test_size=self.eval_size)
        return ArithmeticTask(self.task, self.digits, self.reverse, test_size=self.eval_size)

