"""Named training presets: a config plus the claim it carries (headline metric, expected outcome).

Ids are stable (URLs, the CLI and notebooks use them); labels say what a preset teaches. A preset's
``expected`` is what a measurement found for CE + NTL-WAS against CE on its headline metric
(``"better"``, ``"worse"`` or ``"no difference"``), and ``evidence`` says which measurement — so
anyone can re-check it on unseen seeds with ``python -m ntl_core train --preset ID --seeds …``.
``expected`` is ``None`` where nothing was measured.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ntl_core.comparison import HIGHER_IS_BETTER
from ntl_core.train_config import TrainConfig

EXPECTED = ("better", "worse", "no difference")


@dataclass(frozen=True)
class Preset:
    """A named configuration and its claim.

    Attributes:
        id: stable key (``"cpu-classroom"``).
        label: what the preset teaches, shown in the lab.
        config: the shared config (``loss``/``seed`` are set per run).
        headline_metric: the interpolation metric the claim is about.
        expected: CE + NTL-WAS vs CE on that metric, as measured (``None``: not measured).
        losses, seeds: what the lab and the CLI train by default.
        evidence: where ``expected`` comes from (command and seeds), or why it is missing.
    """

    id: str
    label: str
    config: TrainConfig
    headline_metric: str
    expected: str | None
    losses: tuple[str, ...] = ("ce", "was")
    seeds: tuple[int, ...] = (0, 1, 2)
    evidence: str = ""

    def __post_init__(self) -> None:
        if self.headline_metric not in HIGHER_IS_BETTER:
            raise ValueError(f"unknown headline metric {self.headline_metric!r}")
        if self.expected is not None and self.expected not in EXPECTED:
            raise ValueError(f"expected must be one of {EXPECTED} or None, got {self.expected!r}")

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "config": self.config.to_dict(),
                "headline_metric": self.headline_metric, "expected": self.expected,
                "losses": list(self.losses), "seeds": list(self.seeds), "evidence": self.evidence}


_SEARCH = "docs/ntl_design_search.md (confirmation seeds 100–104)"

# The search's base setting (docs/ntl_design_search_protocol.md): multiplication, normal answer order,
# a fixed set of 3000 pairs cycled for epochs, λ = 0.3, gpt2-tiny, clipping at 1.0, 1000 steps.
_SEARCH_BASE = TrainConfig(task="multiplication", digits=2, reverse=False, train_size=3000, ntl_weight=0.3,
                           model="gpt2-tiny", grad_clip=1.0, lr=3e-3, batch_size=64, warmup_steps=50,
                           eval_every=50, eval_size=256, steps=1000)

_ALL = (
    Preset("cpu-classroom", "CPU classroom: does NTL lower the error? (2-digit multiplication)",
           _SEARCH_BASE, "mape", None, seeds=(0, 1, 2), evidence="pending: the design search is running"),
    Preset("gpu-multiplication", "GPU: 3-digit multiplication, bigger model, 3 seeds",
           _SEARCH_BASE.replace(digits=3, model="gpt2-small", batch_size=256, lr=1e-3, warmup_steps=200,
                                train_size=20000, steps=4000, eval_every=200, eval_size=512),
           "mape", None, seeds=(0, 1, 2),
           evidence="not measured: no GPU was available when this preset was made"),
    Preset("regression-head", "NTL vs a regression head (the paper's second claim)",
           _SEARCH_BASE, "mape", None, losses=("ce", "was", "reg"), seeds=(0, 1, 2),
           evidence="not measured by a search; run it to see"),
    Preset("tiny", "Tiny (tests)",
           TrainConfig(task="addition", digits=1, model="gpt2-tiny", batch_size=16, eval_every=0,
                       eval_size=16, steps=5, warmup_steps=0),
           "exact_match", None, seeds=(0,), evidence="a smoke test, not an experiment"),
)
PRESET_INFO: dict[str, Preset] = {p.id: p for p in _ALL}
PRESETS: dict[str, TrainConfig] = {p.id: p.config for p in _ALL}
DEFAULT_PRESET = "cpu-classroom"
# Presets that exist for the test suite and CI; the lab does not offer them to students (a link may still ask).
TEST_PRESETS: frozenset[str] = frozenset({"tiny"})
STUDENT_PRESETS: tuple[str, ...] = tuple(name for name in PRESETS if name not in TEST_PRESETS)
