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
        search_setting: the design-search setting it reproduces (a test checks ``expected`` against
            the committed confirmation results).
        study_setting: the same for a setting of the learned-regime study (``ntl_core.learned_study``).
    """

    id: str
    label: str
    config: TrainConfig
    headline_metric: str
    expected: str | None
    losses: tuple[str, ...] = ("ce", "was")
    seeds: tuple[int, ...] = (0, 1, 2)
    evidence: str = ""
    search_setting: str | None = None  # the design-search setting whose confirmation gave ``expected``
    study_setting: str | None = None  # the learned-regime study's setting whose confirmation gives ``expected``

    def __post_init__(self) -> None:
        if self.headline_metric not in HIGHER_IS_BETTER:
            raise ValueError(f"unknown headline metric {self.headline_metric!r}")
        if self.expected is not None and self.expected not in EXPECTED:
            raise ValueError(f"expected must be one of {EXPECTED} or None, got {self.expected!r}")

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "config": self.config.to_dict(),
                "headline_metric": self.headline_metric, "expected": self.expected,
                "losses": list(self.losses), "seeds": list(self.seeds), "evidence": self.evidence,
                "search_setting": self.search_setting, "study_setting": self.study_setting}


_SEARCH = "docs/ntl_design_search.md"


def _search_config(setting: str) -> TrainConfig:
    """A setting of the design search as a TrainConfig (seed/loss are set per run)."""
    from ntl_core.design_search import config

    fields = config(setting, "was", 0)
    return TrainConfig(**{**fields, "device": "auto", "eval_every": 50})


def _study_config(setting: str, steps: int) -> TrainConfig:
    """A setting of the learned-regime study at its stage-0 budget ``steps`` (a test checks it against the
    committed calibration, so importing the presets reads no run file), evaluated 20 times per run."""
    from ntl_core import learned_study

    fields = learned_study.config(setting, "was", 0, steps)
    return TrainConfig(**{**fields, "device": "auto", "eval_every": learned_study.eval_every(steps)})


_ALL = (
    Preset("cpu-classroom", "CPU classroom: 2-digit multiplication, unclipped — the search's best, not confirmed",
           _search_config("no-clip"), "mape", "no difference", seeds=(0, 1, 2), search_setting="no-clip",
           evidence="the design search's winner on seeds 0–2 (NTL's MAPE lower on all three); on the unseen seeds "
                    f"100–104 the difference was not confirmed ({_SEARCH})"),
    Preset("cpu-contrast", "CPU contrast: 3-digit multiplication — 1000 CPU steps teach neither loss",
           _search_config("3-digit"), "mape", "no difference", seeds=(0, 1, 2), search_setting="3-digit",
           evidence="the search's contrast setting: 0 exact match for both losses, errors of thousands of per cent, "
                    f"on seeds 0–2 and 100–104 ({_SEARCH})"),
    Preset("dm-place-value", "DeepMind place value: where CE learns in 5 CPU-minutes (the second study's best case)",
           _study_config("dm-place-value", 500), "exact_match", "no difference", losses=("ce", "was"), seeds=(0,),
           study_setting="dm-place-value",
           evidence="the learned-regime study's confirmation on the unseen seeds 200–211: NTL-WAS minus CE exact match "
                    "+0.032 (95 % CI -0.062 to +0.127) (docs/ntl_learned_study.md)"),
    Preset("gpu-multiplication", "GPU: 2-digit multiplication with a 4×256 model, batch 256, 3 seeds",
           _search_config("base").replace(model="gpt2-small", batch_size=256, lr=1e-3, warmup_steps=200,
                                          steps=3000, eval_every=100, eval_size=512),
           "mape", None, seeds=(0, 1, 2),
           evidence="not measured: no GPU was available when this preset was made (see the README)"),
    Preset("regression-head", "NTL vs a regression head (the paper's second claim), 2-digit multiplication",
           _search_config("base"), "mape", None, losses=("ce", "was", "reg"), seeds=(0, 1, 2),
           evidence="measured once on seeds 0–2, not confirmed on unseen seeds: the regression head has the lowest MAE "
                    "but the highest MAPE (docs/ntl_regression_head.md)"),
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
