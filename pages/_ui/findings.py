"""The two measured answers, in a sentence each, computed from the committed studies (no Streamlit).

Home states them; the numbers come from the same rules the reports and the training pages use
(:func:`qcbnn_core.study.verdict` and :mod:`ntl_core.learned_study`), so a sentence cannot drift from its data.
"""
from __future__ import annotations

from pathlib import Path

from ntl_core import learned_study
from qcbnn_core.study import load_summary, verdict

DOCS = Path(__file__).resolve().parents[2] / "docs"
QCBNN_CONFIRMATION = DOCS / "qcbnn_study" / "confirm_breastmnist.json"
NTL_RUNS = DOCS / "ntl_learned_study" / "runs.jsonl"

_WORD = {"above": "larger than", "below": "smaller than", "includes": "not distinguishable from",
         "undefined": "not comparable with"}


def _ci(stat: dict, low: str = "ci_low", high: str = "ci_high") -> str:
    return f"{stat['mean']:+.3f} (95 % CI {stat[low]:+.3f} to {stat[high]:+.3f})"


def qcbnn_finding(path: Path = QCBNN_CONFIRMATION) -> str | None:
    """The BreastMNIST study's answer by its pre-registered rule (None when it is not committed)."""
    if not path.is_file():
        return None
    summary = load_summary(path)
    chosen = summary.get("selected")
    if not chosen or "bnn" not in summary["models"]:
        return None
    v = verdict(summary, chosen)
    h = "predictive_entropy"
    return (f"**QCBNN (BreastMNIST, {len(summary['seeds'])} fresh seeds):** the quantum model's uncertainty gap is "
            f"**{_WORD[v['larger_than_baseline']]}** a classical Bayesian CNN's — paired difference "
            f"{_ci(v['diff_baseline']['gap'][h])}; error detection (AUROC) {_ci(v['diff_baseline']['auroc'][h])}, "
            f"accuracy {_ci(v['accuracy_cost'])}.")


def ntl_finding(path: Path = NTL_RUNS) -> str | None:
    """The learned-regime NTL study's answer so far: stage 2's verdicts when complete, else stage 1's reading."""
    runs = learned_study.load(path)
    if not runs:
        return None
    confirmed = [s for s in learned_study.confirmation(runs) if s["d_em"]["n"] == len(learned_study.CONFIRMATION_SEEDS)]
    choice = learned_study.selection(runs)
    if confirmed:
        parts = [f"{s['loss'].upper()} on {s['setting']}: {s['verdict']}, exact match {_ci(s['d_em'], 'low', 'high')}"
                 for s in confirmed]
        return (f"**NTL (where CE learns; {len(learned_study.CONFIRMATION_SEEDS)} fresh seeds):** CE + NTL against "
                "CE — " + "; ".join(parts) + ".")
    if choice is None:
        return None
    best = next(s for s in choice["stats"] if (s["setting"], s["loss"]) == choice["selected"])
    robust = "a robust" if choice["robust"] else "no robust"
    return (f"**NTL (where CE learns: addition, DeepMind place value; seeds 0–4):** {robust} effect of adding NTL to "
            f"CE — the best case, {best['loss'].upper()} on {best['setting']}, changes exact match by "
            f"{_ci(best['d_em'], 'low', 'high')}. Its confirmation on fresh seeds is still running.")
