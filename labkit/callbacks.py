"""One callback convention for both trainers: ``callback(event, trainer, row)``.

A trainer calls every callback with the event's name and the history row it just appended:
``"step"`` after each optimiser step (both cores), ``"eval"`` after each held-out evaluation
(NTL), ``"epoch"`` after each finished epoch (QCBNN). A plain function or lambda is a callback;
:class:`TqdmCallback` is the progress bar of the CLIs and notebooks.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

STEP, EVAL, EPOCH = "step", "eval", "epoch"


class Callback(Protocol):
    def __call__(self, event: str, trainer: Any, row: dict) -> None: ...


def notify(callbacks: Iterable[Callback], event: str, trainer: Any, row: dict) -> None:
    """Call every callback with ``(event, trainer, row)``, in order."""
    for callback in callbacks:
        callback(event, trainer, row)


class TqdmCallback:
    """A progress bar over optimiser steps, showing the training loss; subclasses add the other events.

    Args:
        total: steps the bar counts to; ``None`` takes ``trainer.total_steps`` at the first event.
        tqdm_kwargs: passed to ``tqdm`` (``desc``, ``file``, ``leave``…).
    """

    def __init__(self, total: int | None = None, **tqdm_kwargs) -> None:
        from tqdm.auto import tqdm  # only progress bars need tqdm

        self._tqdm, self._total, self._kw, self.bar = tqdm, total, tqdm_kwargs, None

    def __call__(self, event: str, trainer: Any, row: dict) -> None:
        if self.bar is None:
            self.bar = self._tqdm(total=self._total if self._total is not None else trainer.total_steps, **self._kw)
        if event == STEP:
            self.bar.update(1)
        shown = self.postfix(event, trainer, row)
        if shown:
            self.bar.set_postfix(shown, refresh=False)
        if getattr(trainer, "done", False):
            self.close()

    def postfix(self, event: str, trainer: Any, row: dict) -> dict[str, str]:
        """What the bar shows after ``event`` (default: the loss after each step)."""
        return {"loss": f"{row['loss']:.3f}"} if event == STEP else {}

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
