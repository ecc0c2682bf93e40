"""The one registry of the losses this app teaches: key, label, colour, formula, NTL or not, builders.

The explorer, ``ntl_core.plots``, ``ntl_core.scoring``, the training objectives and the training
lab all read it, so a loss has one name, one colour and one formula everywhere; adding a loss
means adding one ``LossSpec`` to ``LOSSES``.

Two builders per token loss, computing the same number two ways (tested equal):

* ``digit_loss``: the per-position loss on a vocabulary made only of the ten digits (values 0..9),
  in closed form, as the explorer scores one distribution;
* ``factory``: the ``ntl_core.losses`` module that computes it on any tokenizer's vocabulary, as
  training does (``reweigh=False``, the paper's setting).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ntl_core.losses import NTLoss, NTLossDotProduct
from ntl_core.number_level import NumberLevelLoss
from ntl_core.number_tokens import VocabSource

KINK_TOL = 1e-9  # |ŷ - y| below this counts as a hit: far below any shown digit, above preset residue
HUBER_DELTA = 1.0  # torch's default, which is what ntloss uses with loss_function=F.huber_loss

# digit_loss(log_p, target) -> loss per row; log_p: (N, 10) log-probabilities of the digits 0..9,
# target: (N,) long true digits.
DigitLoss = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class LossSpec:
    """One loss.

    Attributes:
        key: Short id used in configs, URLs, run directories and the CLI (``"was"``).
        label: Its name on every chart and table (``"NTL-WAS"``).
        colour: Its colour on every chart (hex).
        formula: LaTeX of the loss at one position (p: digit probabilities, ŷ = Σ k p_k).
        is_ntl: A Number Token Loss (trained *added* to CE), not CE itself or another head.
        trainable: Offered as a training objective in the lab and the CLI.
        digit_loss: Closed form on the ten digits (None when the loss is not per position).
        factory: ``tokenizer -> loss module`` from ``ntl_core.losses`` (None for CE / the head).
    """

    key: str
    label: str
    colour: str
    formula: str
    is_ntl: bool
    trainable: bool
    digit_loss: DigitLoss | None = None
    factory: Callable[[VocabSource], object] | None = None

    @property
    def training_label(self) -> str:
        """What a model trained with this key optimises: NTL is always added to CE."""
        return f"CE + {self.label}" if self.is_ntl else self.label


def _expected(log_p: Tensor) -> Tensor:
    return log_p.exp() @ torch.arange(log_p.shape[-1], dtype=log_p.dtype)


def _error(log_p: Tensor, target: Tensor) -> Tensor:
    """ŷ - y, with errors below ``KINK_TOL`` set to exactly 0 (still in the autograd graph).

    The bimodal preset has ŷ = y up to ~1e-11 (rounding, and the floor logit of a digit without
    a mirror image). NTL-MAE's gradient is sign(ŷ - y)·(…), so that residue would pick a
    full-size gradient in an arbitrary direction; at exactly 0 torch takes the subgradient 0,
    the honest answer for an expected value that hits the target.
    """
    err = _expected(log_p) - target.to(log_p.dtype)
    return err * (err.abs() > KINK_TOL).to(err.dtype)


def _ce(log_p: Tensor, target: Tensor) -> Tensor:
    return -log_p.gather(-1, target[:, None]).squeeze(-1)


def _was(log_p: Tensor, target: Tensor) -> Tensor:
    values = torch.arange(log_p.shape[-1], dtype=log_p.dtype)
    return (log_p.exp() * (values[None, :] - target.to(log_p.dtype)[:, None]).abs()).sum(-1)


def _huber(log_p: Tensor, target: Tensor) -> Tensor:
    err = _error(log_p, target)
    return F.huber_loss(err, torch.zeros_like(err), reduction="none", delta=HUBER_DELTA)


LOSSES: tuple[LossSpec, ...] = (
    LossSpec("ce", "CE", "#636efa", r"-\log p_y", is_ntl=False, trainable=True, digit_loss=_ce),
    LossSpec("mse", "NTL-MSE", "#ef553b", r"(\hat y-y)^2", is_ntl=True, trainable=True,
             digit_loss=lambda log_p, t: _error(log_p, t) ** 2,
             factory=lambda tok: NTLossDotProduct(tok, reweigh=False)),
    LossSpec("mae", "NTL-MAE", "#ff9f40", r"|\hat y-y|", is_ntl=True, trainable=False,
             digit_loss=lambda log_p, t: _error(log_p, t).abs(),
             factory=lambda tok: NTLossDotProduct(tok, reweigh=False, loss_function=F.l1_loss)),
    LossSpec("huber", "NTL-Huber", "#ab63fa",
             r"\begin{cases}\tfrac12(\hat y-y)^2 & |\hat y-y|\le 1\\ |\hat y-y|-\tfrac12 & \text{else}\end{cases}",
             is_ntl=True, trainable=False, digit_loss=_huber,
             factory=lambda tok: NTLossDotProduct(tok, reweigh=False, loss_function=F.huber_loss)),
    LossSpec("was", "NTL-WAS", "#00cc96", r"\textstyle\sum_k p_k\,|k-y|", is_ntl=True, trainable=True,
             digit_loss=_was, factory=lambda tok: NTLoss(tok, reweigh=False)),
    LossSpec("number", "number-level sMAPE", "#19d3f3", r"\frac{|\hat N-N|}{|\hat N|+|N|}", is_ntl=True,
             trainable=False, factory=lambda tok: NumberLevelLoss(tok, reweigh=False)),
    LossSpec("reg", "Regression head", "#8c564b", r"(f_\theta(x)-y)^2", is_ntl=False, trainable=True),
)
_BY_KEY = {spec.key: spec for spec in LOSSES}
_BY_LABEL = {spec.label: spec for spec in LOSSES}

DIGIT_LOSSES: tuple[LossSpec, ...] = tuple(s for s in LOSSES if s.digit_loss is not None)
TRAINABLE: tuple[str, ...] = tuple(s.key for s in LOSSES if s.trainable)
NTL_TRAINABLE: tuple[str, ...] = tuple(s.key for s in LOSSES if s.trainable and s.is_ntl)


def get(key: str) -> LossSpec:
    """The spec of ``key`` (``"was"``); ``ValueError`` naming the known keys otherwise."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown loss {key!r}; choose one of {', '.join(_BY_KEY)}") from None


def by_label(label: str) -> LossSpec:
    """The spec whose chart label is ``label`` (``"NTL-WAS"``); ``ValueError`` otherwise."""
    try:
        return _BY_LABEL[label]
    except KeyError:
        raise ValueError(f"unknown loss label {label!r}; choose one of {', '.join(_BY_LABEL)}") from None


def colour(key_or_label: str) -> str:
    """The colour of a loss given by key or by label (charts receive either)."""
    spec = _BY_KEY.get(key_or_label) or _BY_LABEL.get(key_or_label)
    if spec is None:
        raise ValueError(f"unknown loss {key_or_label!r}")
    return spec.colour
