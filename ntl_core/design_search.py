"""The pre-registered NTL classroom design search: its settings, metrics and decision rule.

Protocol: docs/ntl_design_search_protocol.md; runner: benchmarks/ntl_design_search.py; raw results:
docs/ntl_design_search.json; report: docs/ntl_design_search.md. Notebook 02 and the presets read the
same analysis, so the numbers they quote come from this module.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from ntl_core.comparison import mean_ci, paired, steps_until

STEPS = 1000
EVAL_EVERY = 50
EVAL_SIZE = 256
MAPE_TARGET = 0.05  # "steps until interpolation MAPE < 5 %"
# Amended from (0, 1, 2, 3, 4) at 09:31 UTC, 31 of 80 selection runs in: the shared box ran at a fifth
# of the measured speed, so five seeds would not have left time to confirm (see the protocol).
SELECTION_SEEDS = (0, 1, 2)
CONFIRMATION_SEEDS = (100, 101, 102, 103, 104)
LOSSES = ("ce", "was")
TIE = 0.05  # log-ratios closer than this (≈ 5 %) count as a tie; then the cheaper setting wins

BASE = dict(task="multiplication", digits=2, reverse=False, train_size=3000, ntl_weight=0.3, model="gpt2-tiny",
            grad_clip=1.0, lr=3e-3, batch_size=64, warmup_steps=50, eval_every=0, eval_size=EVAL_SIZE,
            steps=STEPS, device="cpu")
SETTINGS = {
    "base": {},
    "addition": {"task": "addition"},
    "3-digit": {"digits": 3},
    "reversed": {"reverse": True},
    "fresh-samples": {"train_size": 0},
    "lambda-1.0": {"ntl_weight": 1.0},
    "gpt2-mini": {"model": "gpt2-mini"},
    "no-clip": {"grad_clip": 0.0},
}


def config(setting: str, loss: str, seed: int) -> dict:
    """The TrainConfig fields of one run of the search."""
    return {**BASE, **SETTINGS[setting], "loss": loss, "seed": seed}



def load(path: str | Path) -> list[dict]:
    """The runs recorded in the search's JSON (empty when the file does not exist yet)."""
    path = Path(path)
    return json.loads(path.read_text())["runs"] if path.exists() else []


def setting_stats(runs: list[dict], setting: str, seeds) -> dict:
    """Paired statistics of CE + NTL-WAS against CE for one setting over ``seeds``."""
    by = {(r["loss"], r["seed"]): r for r in runs if r["setting"] == setting}
    seeds = [s for s in seeds if ("ce", s) in by and ("was", s) in by]
    final = {(loss, s): by[(loss, s)]["curve"][-1] for loss in LOSSES for s in seeds}

    def metric(loss, name):
        return [final[(loss, s)][name] for s in seeds]

    ce_mape, was_mape = metric("ce", "mape"), metric("was", "mape")
    # ln(MAPE_CE / MAPE_WAS) per seed: > 0 when NTL has the lower error; symmetric, unlike 1 − WAS/CE,
    # which an early run writing a huge number can drive to −100.
    log_ratio = [math.log(c / w) if c > 0 and w > 0 else math.nan for w, c in zip(was_mape, ce_mape)]
    reach = {loss: [steps_until(by[(loss, s)]["curve"], MAPE_TARGET) for s in seeds] for loss in LOSSES}
    both = [(w, c) for w, c in zip(reach["was"], reach["ce"]) if w is not None and c is not None]
    seconds = [by[(loss, s)]["train_seconds"] for loss in LOSSES for s in seeds]
    return {
        "setting": setting, "seeds": seeds, "n": len(seeds),
        "log_mape_ratio": mean_ci(log_ratio), "log_ratio_values": log_ratio,
        "mape": {loss: mean_ci(metric(loss, "mape")) for loss in LOSSES},
        "mae": {loss: mean_ci(metric(loss, "mae")) for loss in LOSSES},
        "exact_match": {loss: mean_ci(metric(loss, "exact_match")) for loss in LOSSES},
        "paired_em": paired(metric("was", "exact_match"), metric("ce", "exact_match"), True),
        "paired_mae": paired(metric("was", "mae"), metric("ce", "mae"), False),
        "reached": {loss: sum(v is not None for v in reach[loss]) for loss in LOSSES},
        "steps_until": {loss: reach[loss] for loss in LOSSES},
        "paired_steps_until": mean_ci([w - c for w, c in both]),
        "seconds_per_run": sum(seconds) / len(seconds) if seconds else math.nan,
    }


def decide(stats: list[dict]) -> dict:
    """The pre-registered rule: winner = largest mean ln(MAPE_CE / MAPE_WAS) whose 95 % CI excludes 0
    (lower bound > 0), ties within TIE → the cheaper setting; contrast = the setting with the
    smallest mean log-ratio. No winner when no CI lies above 0 (then ``best_mean`` is confirmed)."""
    def low(s):
        r = s["log_mape_ratio"]
        return r["mean"] - r["ci95"] if math.isfinite(r["ci95"]) else -math.inf

    eligible = [s for s in stats if low(s) > 0]
    winner = None
    if eligible:
        best = max(s["log_mape_ratio"]["mean"] for s in eligible)
        tied = [s for s in eligible if best - s["log_mape_ratio"]["mean"] <= TIE]
        winner = min(tied, key=lambda s: s["seconds_per_run"])["setting"]
    ranked = sorted(stats, key=lambda s: s["log_mape_ratio"]["mean"])
    best_mean = ranked[-1]["setting"]
    contrast = ranked[0]["setting"] if ranked[0]["setting"] != (winner or best_mean) else ranked[1]["setting"]
    return {"winner": winner, "best_mean": best_mean, "contrast": contrast}


def expected_outcome(stats: dict) -> str:
    """The protocol's claim from a setting's (confirmation) statistics: "better" when the 95 % CI of
    ln(MAPE_CE / MAPE_WAS) lies above 0, "worse" when below, else "no difference"."""
    r = stats["log_mape_ratio"]
    if not math.isfinite(r["ci95"]):
        return "no difference"
    if r["mean"] - r["ci95"] > 0:
        return "better"
    return "worse" if r["mean"] + r["ci95"] < 0 else "no difference"


def _ci(stat: dict, scale: float = 1.0, digits: int = 3) -> str:
    if not math.isfinite(stat["mean"]):
        return "n/a"
    ci = f" ± {stat['ci95'] * scale:.{digits}f}" if math.isfinite(stat["ci95"]) else ""
    return f"{stat['mean'] * scale:.{digits}f}{ci}"


def table(stats: list[dict]) -> str:
    head = ("| setting | ln(MAPE CE / MAPE WAS) | MAPE % CE | MAPE % WAS | EM CE | EM WAS "
            "| paired EM diff | paired MAE diff | reached MAPE<5 % CE/WAS | steps-until diff | s/run |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for s in stats:
        em, mae = s["paired_em"], s["paired_mae"]
        lines.append(
            f"| {s['setting']} | {_ci(s['log_mape_ratio'])} | {_ci(s['mape']['ce'], 100, 2)} "
            f"| {_ci(s['mape']['was'], 100, 2)} | {_ci(s['exact_match']['ce'])} | {_ci(s['exact_match']['was'])} "
            f"| {_ci({'mean': em['mean_diff'], 'ci95': em['ci95']})} | {_ci({'mean': mae['mean_diff'], 'ci95': mae['ci95']}, 1, 2)} "
            f"| {s['reached']['ce']}/{s['n']} · {s['reached']['was']}/{s['n']} | {_ci(s['paired_steps_until'], 1, 0)} "
            f"| {s['seconds_per_run']:.0f} |")
    return "\n".join(lines)


def analyse(path: str | Path) -> dict:
    """Selection statistics, the rule's choice (None until every setting has runs) and confirmation statistics."""
    runs = load(path)
    selection = [setting_stats(runs, name, SELECTION_SEEDS) for name in SETTINGS]
    selection = [s for s in selection if s["n"]]
    choice = decide(selection) if len(selection) == len(SETTINGS) else None
    confirmation = [setting_stats(runs, name, CONFIRMATION_SEEDS) for name in SETTINGS]
    return {"selection": selection, "choice": choice, "confirmation": [s for s in confirmation if s["n"]]}


