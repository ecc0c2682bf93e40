"""Multi-seed comparisons: run (model, seed) pairs in parallel processes, summarise with CIs and paired differences.

A *model spec* is ``kind[:ansatz[:mechanism]]`` (``"qcbnn"``, ``"qcbnn:ry_cnot"``, ``"qcbnn::born"``,
``"mlp"``, ``"bnn"``, ``"cnn"``); empty parts take the defaults given to :func:`parse_spec`. Seed s fixes
the data split, the initialisation and every draw of every model, so the models of one seed see the same
data: differences between models are *paired* by seed.

Summary statistics (our choices): the mean over seeds with a 95 % interval — Student-t
(``mean ± t_{0.975, n−1} · sd / √n``) for unbounded quantities (uncertainty gaps, weight spread), the
percentile bootstrap over seeds for bounded ones (accuracy, balanced accuracy, ECE, AUROC: an interval that
stays inside [0, 1], see :mod:`labkit.stats`); for paired differences the same intervals of the per-seed
differences ``model − baseline``. A run whose test accuracy is within 0.02 of the majority-class share
(the base rate) counts as *collapsed*: its uncertainty gap describes a constant classifier and earns no
"largest gap" verdict.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

import numpy as np

from labkit.stats import bootstrap_interval, t_interval
from labkit.workers.pool import map_runs

from .metrics import UNCERTAINTY_MEASURES
from .models import MODEL_KINDS, ModelConfig

SUMMARY_MEASURES = ("predictive_entropy", "mutual_information")
# Top-level keys of a record's metrics that are proportions: their intervals come from the bootstrap.
BOUNDED_METRICS = frozenset({"accuracy", "balanced_accuracy", "ece", "auroc"})
COLLAPSE_MARGIN = 0.02


@dataclass(frozen=True)
class RunSpec:
    """One training run: everything a worker process needs (plain data, picklable).

    Attributes:
        label: the model spec as given (the key in summaries).
        model: :meth:`ModelConfig.to_dict` of the model.
        train: keyword arguments of :class:`~qcbnn_core.trainer.TrainConfig` (without ``seed``).
        data: ``{"name": ..., "digits": (a, b)}`` for :func:`load_data`.
        seed: the one seed.
    """

    label: str
    model: dict
    train: dict
    data: dict
    seed: int


def parse_spec(spec: str, ansatz: str, mechanism: str, **model_kwargs) -> ModelConfig:
    """``kind[:ansatz[:mechanism]]`` → :class:`ModelConfig` (unknown names raise ``ValueError``)."""
    parts = spec.strip().split(":")
    if len(parts) > 3 or parts[0] not in MODEL_KINDS:
        raise ValueError(f"model spec must be kind[:ansatz[:mechanism]] with kind in {MODEL_KINDS}, got {spec!r}")
    from .ansatz import preset

    name = (parts[1] if len(parts) > 1 else "") or ansatz
    preset(name)  # clear error on an unknown preset
    mech = (parts[2] if len(parts) > 2 else "") or mechanism
    return ModelConfig(kind=parts[0], ansatz=name, mechanism=mech, **model_kwargs)


def load_data(name: str, seed: int, digits: tuple[int, int] = (3, 8)):
    """The dataset of a run: ``phantom``, ``digits`` (the pair ``digits``), ``breast_cancer`` or an npz path."""
    from .data import load_breast_cancer_tabular, load_dataset, load_digits_pair

    if name == "digits":
        return load_digits_pair(tuple(digits), seed=seed)
    if name == "breast_cancer":
        return load_breast_cancer_tabular(seed=seed)
    return load_dataset(name, seed=seed)


def _split_record(ev, y: np.ndarray) -> dict:
    """The per-split part of a run record: scores, gaps, error-detection AUROCs, base rate and errors."""
    base_rate = float(np.bincount(y).max() / len(y))
    return {"accuracy": ev.accuracy, "balanced_accuracy": ev.balanced_accuracy, "ece": ev.ece, "nll": ev.nll,
            "base_rate": base_rate, "collapsed": bool(ev.accuracy <= base_rate + COLLAPSE_MARGIN),
            "gap": {k: ev.uncertainty_gap[k].gap for k in UNCERTAINTY_MEASURES}, "auroc": dict(ev.error_auroc),
            "n": ev.n, "n_wrong": ev.uncertainty_gap["predictive_entropy"].n_wrong}


def run_one(spec: RunSpec) -> dict:
    """Train one model on one seed and return its flat record.

    The test split's metrics are at the top level (``accuracy``, ``gap``, ``auroc``, …, ``n_test``,
    ``n_wrong``); the validation split's, for selection without looking at the test split, under ``val``.
    """
    from .trainer import TrainConfig, Trainer

    data = load_data(spec.data["name"], spec.seed, spec.data.get("digits", (3, 8)))
    model_cfg = ModelConfig.from_dict(spec.model)
    t0 = time.perf_counter()
    trainer = Trainer(data, model_cfg, TrainConfig(**spec.train, seed=spec.seed))
    trainer.fit()
    seconds = time.perf_counter() - t0
    test = _split_record(trainer.evaluate("test"), data.test.y.numpy())
    test["n_test"] = test.pop("n")
    return {"model": spec.label, "seed": spec.seed, **test,
            "weight_std": float(trainer.weight_snapshots[-1].std(0).mean()),
            "val": _split_record(trainer.evaluate("val"), data.val.y.numpy()), "train_seconds": seconds}


def run_many(specs: list[RunSpec], jobs: int = 1, on_result=None, backend: str | None = None,
             ray_address: str | None = None) -> list[dict]:
    """Run specs, ``jobs`` at a time through :func:`labkit.workers.pool.map_runs`.

    Args:
        specs: the runs.
        jobs: runs at once (one torch thread each).
        on_result: ``f(record)`` called as each run finishes (progress, logging).
        backend: ``"inprocess"``, ``"process"`` or ``"ray"``; default: in-process for ``jobs=1``, else
            spawned worker processes.
        ray_address: the Ray cluster for ``backend="ray"``.

    Returns:
        The records in the order of ``specs``.
    """
    backend = backend or ("inprocess" if jobs == 1 else "process")
    return map_runs(run_one, specs, backend, jobs, ray_address, on_result)


def mean_ci(values, level: float = 0.95, bounded: bool = False) -> dict:
    """Mean and 95 % interval of ``values`` (None, NaN and ±inf dropped); CI is NaN with fewer than 2 values.

    Args:
        values: one number per seed.
        level: confidence level.
        bounded: a proportion (or a difference of two): the percentile bootstrap over seeds, which stays
            inside the metric's range; else the Student-t interval. ``method`` in the result says which.
    """
    if bounded:
        mean, low, high, n = bootstrap_interval(values, level)
        kept = [v for v in values if v is not None and math.isfinite(v)]
        sd = float(np.std(kept, ddof=1)) if n > 1 else math.nan
        return {"mean": mean, "ci_low": low, "ci_high": high, "sd": sd, "n": n, "method": "bootstrap"}
    ci = t_interval(values, level)
    return {"mean": ci.mean, "ci_low": ci.mean - ci.half_width, "ci_high": ci.mean + ci.half_width, "sd": ci.sd,
            "n": ci.n, "method": "t"}


def _metric_values(rec: dict) -> dict:
    """The summarised numbers of one record, nested as in the summary."""
    # Records written before balanced accuracy was kept read as NaN (dropped by the intervals), not as an error.
    return {"accuracy": rec["accuracy"], "balanced_accuracy": rec.get("balanced_accuracy", math.nan), "ece": rec["ece"],
            "weight_std": rec["weight_std"],
            "gap": {m: rec["gap"][m] for m in SUMMARY_MEASURES},
            "auroc": {m: rec["auroc"][m] for m in SUMMARY_MEASURES}}


def _stat_tree(rows: list[dict], bounded: bool = False) -> dict:
    """Apply :func:`mean_ci` leaf-wise over a list of equally-shaped nested dicts (bounded below a key of
    :data:`BOUNDED_METRICS`)."""
    first = rows[0]
    return {k: _stat_tree([r[k] for r in rows], bounded or k in BOUNDED_METRICS) if isinstance(first[k], dict)
            else mean_ci([r[k] for r in rows], bounded=bounded or k in BOUNDED_METRICS) for k in first}


def summarize(records: list[dict], baseline: str = "bnn") -> dict:
    """Per-model means with 95 % CIs and paired differences against ``baseline``.

    Args:
        records: :func:`run_one` outputs.
        baseline: the label the paired differences are taken against (skipped if absent).

    Returns:
        ``{"seeds", "baseline", "models": {label: {"accuracy", "ece", "weight_std": stat,
        "gap": {measure: stat}, "auroc": {measure: stat}, "collapsed_runs": int}},
        "paired": {label: same tree of stats of per-seed (label − baseline)}, "runs": records}``, where a stat
        is ``{"mean", "ci_low", "ci_high", "sd", "n"}``, ``gap`` is the mean-difference uncertainty gap and
        ``auroc`` the error-detection AUROC of each measure.
    """
    labels = list(dict.fromkeys(r["model"] for r in records))
    by = {(r["model"], r["seed"]): r for r in records}
    models, paired = {}, {}
    for label in labels:
        rows = [r for r in records if r["model"] == label]
        models[label] = {**_stat_tree([_metric_values(r) for r in rows]),
                         "collapsed_runs": sum(r["collapsed"] for r in rows), "n_runs": len(rows)}
        if baseline in labels and label != baseline:
            diffs = [_diff(_metric_values(r), _metric_values(by[(baseline, r["seed"])])) for r in rows
                     if (baseline, r["seed"]) in by]
            if diffs:
                paired[label] = _stat_tree(diffs)
    return {"seeds": sorted({r["seed"] for r in records}), "baseline": baseline, "models": models, "paired": paired,
            "runs": records}


def _diff(a: dict, b: dict) -> dict:
    return {k: _diff(a[k], b[k]) if isinstance(a[k], dict) else a[k] - b[k] for k in a}


def load_summary(path) -> dict:
    """A summary written by the CLI's ``--json`` (strict JSON wrote NaN as null: read back as NaN).

    Raises:
        ValueError: not JSON, or not a summary (needs ``models``, ``runs`` and ``seeds``).
        OSError: unreadable file.
    """
    with open(path, encoding="utf-8") as fh:
        summary = json.load(fh)
    if not isinstance(summary, dict) or not {"models", "runs", "seeds"} <= set(summary):
        raise ValueError(f"{path} is not a multi-seed summary")
    return _nan_for_none(summary)


def _nan_for_none(tree):
    if isinstance(tree, dict):
        return {k: _nan_for_none(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_nan_for_none(v) for v in tree]
    return math.nan if tree is None else tree


def _fmt(stat: dict, digits: int = 3) -> str:
    if math.isnan(stat["mean"]):
        return "n/a"
    if math.isnan(stat["ci_low"]):
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} [{stat['ci_low']:.{digits}f}, {stat['ci_high']:.{digits}f}]"


def format_summary(summary: dict) -> str:
    """Plain-text tables: per-model means [95 % CI], then paired differences against the baseline."""
    cols = [("accuracy", lambda s: s["accuracy"]), ("gap H", lambda s: s["gap"]["predictive_entropy"]),
            ("AUROC H", lambda s: s["auroc"]["predictive_entropy"]), ("gap MI", lambda s: s["gap"]["mutual_information"]),
            ("AUROC MI", lambda s: s["auroc"]["mutual_information"]), ("weight std", lambda s: s["weight_std"])]
    width = max([len(k) for k in summary["models"]] + [8]) + 2
    head = f"{'model':<{width}}" + "".join(f"{name:>25}" for name, _ in cols)
    lines = [f"seeds {summary['seeds']}: mean [95% CI]; H = predictive entropy, MI = mutual information, "
             "AUROC = error detection", head]
    for label, s in summary["models"].items():
        flag = f"  ({s['collapsed_runs']} collapsed)" if s["collapsed_runs"] else ""
        lines.append(f"{label:<{width}}" + "".join(f"{_fmt(get(s)):>25}" for _, get in cols) + flag)
    if summary["paired"]:
        lines += ["", f"paired differences (model − {summary['baseline']}), same seeds", head]
        for label, s in summary["paired"].items():
            lines.append(f"{label:<{width}}" + "".join(f"{_fmt(get(s)):>25}" for _, get in cols))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the pre-registered reading
def best_family(summary: dict, prefix: str = "qcbnn") -> str | None:
    """Selection rule of ``docs/qcbnn_study.md``: the semi-implicit QCBNN with the largest mean
    predictive-entropy gap among those without a collapsed run (None if there is none).

    A label counts as a semi-implicit QCBNN when its kind is ``prefix`` and its mechanism is the default
    (``qcbnn``, ``qcbnn:<family>``; not ``qcbnn::born``).
    """
    configs = summary.get("config", {}).get("models", {})

    def mechanism(label: str) -> str:
        parts = label.split(":")
        return configs.get(label, {}).get("mechanism") or (parts[2] if len(parts) > 2 and parts[2] else "semi_implicit")

    cands = {label: s for label, s in summary["models"].items()
             if label.split(":")[0] == prefix and mechanism(label) == "semi_implicit"
             and not s["collapsed_runs"] and math.isfinite(s["gap"]["predictive_entropy"]["mean"])}
    return max(cands, key=lambda k: cands[k]["gap"]["predictive_entropy"]["mean"]) if cands else None


def _direction(stat: dict) -> str:
    """"above" / "below" 0 when the 95 % CI excludes 0, else "includes"."""
    if not (math.isfinite(stat["ci_low"]) and math.isfinite(stat["ci_high"])):
        return "undefined"
    return "above" if stat["ci_low"] > 0 else "below" if stat["ci_high"] < 0 else "includes"


def paired_against(summary: dict, label: str, other: str) -> dict:
    """Paired differences ``label − other`` by seed, computed from the runs (any two models of a summary)."""
    by = {(r["model"], r["seed"]): r for r in summary["runs"]}
    diffs = [_diff(_metric_values(by[(label, s)]), _metric_values(by[(other, s)])) for s in summary["seeds"]
             if (label, s) in by and (other, s) in by]
    if not diffs:
        raise ValueError(f"no seeds with both {label!r} and {other!r}")
    return _stat_tree(diffs)


def verdict(summary: dict, quantum: str, baseline: str = "bnn", control: str = "mlp") -> dict:
    """The decision rule of ``docs/qcbnn_study.md`` applied to one summary.

    Returns:
        ``{"larger_than_baseline": "above"|"includes"|"below"|"undefined", "larger_than_control": …,
        "auroc_vs_baseline": …, "auroc_vs_control": …, "quantum_effect": bool, "accuracy_cost": stat,
        "diff_baseline": tree, "diff_control": tree, "text": str}`` where the directions describe the 95 % CI
        of the paired differences in the predictive-entropy gap (and in its error-detection AUROC).
    """
    h = "predictive_entropy"
    vs_b = paired_against(summary, quantum, baseline)
    vs_c = paired_against(summary, quantum, control) if control in summary["models"] else None
    out = {"quantum": quantum, "baseline": baseline, "control": control,
           "larger_than_baseline": _direction(vs_b["gap"][h]), "auroc_vs_baseline": _direction(vs_b["auroc"][h]),
           "larger_than_control": _direction(vs_c["gap"][h]) if vs_c else "undefined",
           "auroc_vs_control": _direction(vs_c["auroc"][h]) if vs_c else "undefined",
           "accuracy_cost": vs_b["accuracy"], "diff_baseline": vs_b, "diff_control": vs_c}
    out["quantum_effect"] = out["larger_than_baseline"] == "above" and out["larger_than_control"] == "above"
    n = len(summary["seeds"])

    def diff(stat: dict) -> str:
        if not math.isfinite(stat["ci_low"]):  # a gap is undefined on seeds without a wrong (or right) prediction
            return f"{stat['mean']:+.3f} (defined on {stat['n']} of {n} seeds only: no CI)"
        return f"{stat['mean']:+.3f} (95% CI {stat['ci_low']:+.3f} to {stat['ci_high']:+.3f})"

    word = {"above": "larger than", "below": "smaller than", "includes": "not distinguishable from",
            "undefined": "not comparable with"}
    parts = [f"Over {n} seeds, {quantum}'s predictive-entropy gap is {word[out['larger_than_baseline']]} the "
             f"{baseline.upper()}'s: paired difference {diff(vs_b['gap'][h])}."]
    if vs_c:
        parts.append(f"Against the classical control {control}: {diff(vs_c['gap'][h])} — "
                     f"{word[out['larger_than_control']]} it.")
    if out["quantum_effect"]:
        parts.append("By the pre-registered rule the larger gap is attributed to the circuit (it beats both).")
    elif out["larger_than_baseline"] == "above":
        parts.append("The classical generator with the same noise and weight map explains the effect: "
                     "not a quantum effect by the pre-registered rule.")
    else:
        parts.append("The paper's 'larger gap than the BNN' is NOT established here.")
    auroc_word = {"above": "better", "below": "worse", "includes": "not distinguishable",
                  "undefined": "not comparable"}
    parts.append(f"Error detection (AUROC of predictive entropy) vs {baseline.upper()}: "
                 f"{diff(vs_b['auroc'][h])}, {auroc_word[out['auroc_vs_baseline']]}.")
    parts.append(f"Accuracy difference vs {baseline.upper()}: {diff(vs_b['accuracy'])}.")
    out["text"] = " ".join(parts)
    return out
