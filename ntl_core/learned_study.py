"""The second pre-registered NTL study, in the regime where CE learns: settings, budgets and decision rules.

Protocol (committed before any result): ``docs/ntl_learned_study_protocol.md``; every constant here is a
constant there. Runner: ``benchmarks/ntl_learned_study.py``; raw runs: ``docs/ntl_learned_study/runs.jsonl``.
Presets, the lab and notebook 02 read the analysis from here, so the numbers they quote come from one place.
"""
from __future__ import annotations

import math
from pathlib import Path

from labkit.stats import t_interval
from labkit.study_log import read_records as load  # the runs file: one JSON record per finished run

RUNS = Path(__file__).resolve().parent.parent / "docs" / "ntl_learned_study" / "runs.jsonl"  # the committed runs
CPU_CAP_S = 300.0  # CPU-seconds of training per run: ≤ 5 min on one idle thread
EM_TARGET = 0.5
EVAL_SIZE = 256
SELECTION_SEEDS = (0, 1, 2, 3, 4)
CONFIRMATION_SEEDS = tuple(range(200, 212))
LOSSES = ("ce", "was", "mse")
NTL_LOSSES = ("was", "mse")
TIE = 0.005
CURVE_POINTS = 20  # stage 1 and 2 evaluate every B / 20 steps

BASE = dict(task="multiplication", digits=2, reverse=False, train_size=3000, ntl_weight=0.3, model="gpt2-tiny",
            grad_clip=1.0, lr=3e-3, batch_size=64, warmup_steps=50, weight_decay=0.0, eval_every=0,
            eval_size=EVAL_SIZE, device="cpu", tokenizer="digits")
SETTINGS: dict[str, dict] = {
    "addition": {"task": "addition"},
    "multiplication": {},
    "dm-place-value": {"task": "dm:numbers__place_value", "train_size": 0, "difficulty": "all"},
    "dm-add-or-sub": {"task": "dm:arithmetic__add_or_sub", "train_size": 0, "difficulty": "all"},
    "dm-round-number": {"task": "dm:numbers__round_number", "train_size": 0, "difficulty": "all"},
}


def calibration_interval(setting: str) -> int:
    """``E``: stage 0 evaluates every 250 steps on arithmetic, every 100 on the (slower) DeepMind tasks."""
    return 100 if SETTINGS[setting].get("task", "").startswith("dm:") else 250


def config(setting: str, loss: str, seed: int, steps: int = 0) -> dict:
    """The TrainConfig fields of one run."""
    return {**BASE, **SETTINGS[setting], "loss": loss, "seed": seed, "steps": steps}


# ----------------------------------------------------------------------------- stage 0
def first_step_at(curve: list[dict], target: float = EM_TARGET, key: str = "exact_match") -> int | None:
    """The first evaluated step whose ``key`` is ≥ ``target`` (None: never)."""
    return next((row["step"] for row in curve if row[key] >= target), None)


def budget(calibration: dict) -> int | None:
    """Stage 0's rule: ``B = min(1.5 × s50 rounded up to E, the steps that fit in the CPU cap)``; None = dropped.

    Args:
        calibration: a stage-0 record (``setting``, ``curve``, ``cpu_seconds``, ``steps``).
    """
    s50 = first_step_at(calibration["curve"])
    if s50 is None:
        return None
    every = calibration_interval(calibration["setting"])
    fits = int(CPU_CAP_S / (calibration["cpu_seconds"] / calibration["steps"]) // every * every)
    return min(math.ceil(1.5 * s50 / every) * every, fits)


def budgets(runs: list[dict]) -> dict[str, int | None]:
    """``{setting: B or None (dropped)}`` for every calibrated setting."""
    return {r["setting"]: budget(r) for r in runs if r["stage"] == "0"}


def eval_every(b: int) -> int:
    """Stage 1/2 evaluation interval: ``B / 20`` (at least 1)."""
    return max(b // CURVE_POINTS, 1)


# ----------------------------------------------------------------------------- stages 1 and 2
def steps_to_target(run: dict, b: int) -> int:
    """Sample efficiency: first evaluated step with exact match ≥ 50 %; censored at ``B + B/20``."""
    s = first_step_at(run["curve"])
    return b + eval_every(b) if s is None else s


def _ci(values: list[float]) -> dict:
    ci = t_interval(values)
    return {"mean": ci.mean, "low": ci.mean - ci.half_width, "high": ci.mean + ci.half_width, "n": ci.n,
            "values": values}


def _direction(stat: dict) -> str:
    if not (math.isfinite(stat["low"]) and math.isfinite(stat["high"])):
        return "undefined"
    return "better" if stat["low"] > 0 else "worse" if stat["high"] < 0 else "no difference"


def paired_stats(runs: list[dict], setting: str, loss: str, seeds, b: int) -> dict | None:
    """CE + ``loss`` against CE on ``setting`` over the ``seeds`` where both ran (None: no such seed)."""
    by = {(r["loss"], r["seed"]): r for r in runs if r["setting"] == setting and r["stage"] in ("1", "2")}
    seeds = [s for s in seeds if ("ce", s) in by and (loss, s) in by]
    if not seeds:
        return None
    ce = [by[("ce", s)] for s in seeds]
    x = [by[(loss, s)] for s in seeds]
    final = lambda r, k: r["curve"][-1][k]  # noqa: E731
    d_em = [final(a, "exact_match") - final(c, "exact_match") for a, c in zip(x, ce)]
    mae = [math.log(final(c, "mae") / final(a, "mae")) if final(a, "mae") > 0 and final(c, "mae") > 0 else None
           for a, c in zip(x, ce)]
    speed = [steps_to_target(c, b) - steps_to_target(a, b) for a, c in zip(x, ce)]
    extra = [a["extrapolation"]["exact_match"] - c["extrapolation"]["exact_match"] for a, c in zip(x, ce)]
    out = {"setting": setting, "loss": loss, "seeds": seeds, "budget": b,
           "d_em": _ci(d_em), "log_mae_ratio": _ci(mae), "steps_saved": _ci(speed), "d_em_extrapolation": _ci(extra),
           "em_ce": _ci([final(c, "exact_match") for c in ce]), "em_x": _ci([final(a, "exact_match") for a in x]),
           "censored_ce": sum(first_step_at(c["curve"]) is None for c in ce),
           "censored_x": sum(first_step_at(a["curve"]) is None for a in x),
           "cpu_seconds": sum(r["cpu_seconds"] for r in ce + x) / len(ce + x)}
    out["verdict"] = _direction(out["d_em"])
    return out


def selection(runs: list[dict]) -> dict | None:
    """Stage 1's rule (None until every kept setting has all losses on all selection seeds)."""
    kept = {s: b for s, b in budgets(runs).items() if b is not None}
    if not kept:
        return None
    stats = []
    for setting, b in kept.items():
        done = {(r["loss"], r["seed"]) for r in runs if r["stage"] == "1" and r["setting"] == setting}
        if not all((loss, s) in done for loss in LOSSES for s in SELECTION_SEEDS):
            return None
        stats += [paired_stats(runs, setting, x, SELECTION_SEEDS, b) for x in NTL_LOSSES]
    above = [s for s in stats if s["d_em"]["low"] > 0]
    pool = above or stats
    best = max(s["d_em"]["mean"] for s in pool)
    tied = [s for s in pool if best - s["d_em"]["mean"] <= TIE]
    pick = min(tied, key=lambda s: s["cpu_seconds"])
    contrast = min(stats, key=lambda s: s["d_em"]["mean"])
    return {"robust": bool(above), "selected": (pick["setting"], pick["loss"]),
            "contrast": (contrast["setting"], contrast["loss"]), "stats": stats}


def confirmation_jobs(choice: dict) -> list[tuple[str, str]]:
    """Stage 2's (setting, loss) pairs: every loss on the selected setting, CE and X on the contrast's."""
    setting, _ = choice["selected"]
    jobs = [(setting, loss) for loss in LOSSES]
    c_setting, c_loss = choice["contrast"]
    jobs += [(c_setting, loss) for loss in ("ce", c_loss) if (c_setting, loss) not in jobs]
    return jobs


def confirmation(runs: list[dict]) -> list[dict]:
    """Stage 2's paired statistics (whatever seeds have finished), for every NTL loss it trained."""
    kept = {s: b for s, b in budgets(runs).items() if b is not None}
    out = []
    for setting, b in kept.items():
        for x in NTL_LOSSES:
            stats = paired_stats([r for r in runs if r["stage"] == "2"], setting, x, CONFIRMATION_SEEDS, b)
            if stats:
                out.append(stats)
    return out
