"""Session logic of the QCBNN training page (no Streamlit): trainers advanced in bounded ticks, results.

A :class:`LabSession` holds several ``qcbnn_core`` trainers (QCBNN, the BNN and the controls side by
side, or several ansätze for the architecture study) on the same data with the same seed, and advances them
in lockstep, one optimiser step each in turn, until a time budget is used. Test-split results are
computed with the library's own ``predict``/``evaluate`` and cached per finished epoch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from qcbnn_core.data import BREASTMNIST_SPLITS, QCBNNDataset, Split, load_breastmnist, load_dataset, make_phantom
from qcbnn_core.models import ModelConfig
from qcbnn_core.objectives import KL_ESTIMATORS, objective_mode
from qcbnn_core.runs import RunRecord
from qcbnn_core.study import COLLAPSE_MARGIN, load_summary
from qcbnn_core.trainer import TrainConfig, Trainer
from pages._ui.lockstep import LockstepSession

MEASURE_LABELS = {"predictive_entropy": "predictive entropy", "expected_entropy": "expected entropy",
                  "mutual_information": "mutual information", "std_p_positive": "std of p(positive)"}
MAX_UPLOAD_BYTES = 10_000_000  # = server.maxUploadSize; BreastMNIST's 28×28 npz is ~0.6 MB; bigger uploads are not it


def load_data(source: str, seed: int, n_train: int, upload: bytes | None = None) -> QCBNNDataset:
    """The dataset the page trains on, its training split cut to ``n_train`` examples.

    Args:
        source: ``"breastmnist"`` (the copy that ships with the app), ``"phantom"``, ``"digits"``,
            ``"breast_cancer"`` or ``"upload"`` (needs ``upload``).
        seed: data seed.
        n_train: at most this many training examples (the first ones of the shuffled split).
        upload: the bytes of an uploaded BreastMNIST-format ``.npz``.

    Raises:
        ValueError: a missing/invalid upload (the loader's message), or a cut that leaves one class.
    """
    if source == "phantom":
        # Each split has its own random stream, so val/test are the same whatever n_train is.
        data = make_phantom(seed=seed, splits=(n_train, BREASTMNIST_SPLITS[1], BREASTMNIST_SPLITS[2]))
    elif source == "upload":
        if upload is None:
            raise ValueError("upload a BreastMNIST-format .npz first")
        data = validate_upload(upload)
    else:
        data = load_dataset(source, seed=seed)
    train = data.train
    if len(train) > n_train:
        train = Split(train.x[:n_train], train.y[:n_train])
    if len(set(train.y.tolist())) < 2:
        raise ValueError(f"the first {n_train} training examples hold one class only; use more examples")
    return replace(data, train=train)


def validate_upload(raw: bytes) -> QCBNNDataset:
    """Check an uploaded file and load it as BreastMNIST.

    Raises:
        ValueError: too big, not an npz, or not MedMNIST's layout (the loader says what is wrong).
    """
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file has {len(raw):,} bytes; BreastMNIST (28×28) is far smaller "
                         f"(limit {MAX_UPLOAD_BYTES:,})")
    return load_breastmnist(raw)


@dataclass
class ModelResult:
    """What the result charts need from one trained model (live, or read from a run directory).

    Attributes:
        name: display name ("QCBNN", "BNN", an ansatz name).
        history: per-epoch records (``train_loss``, ``val_accuracy``, ``val_ece``, …).
        snapshots: ``(E+1, S, n_weights)`` first-layer weight draws before training and after each epoch.
        per_sample: test-split ``(N,)`` arrays: ``correct``, ``label``, ``p_positive`` and the uncertainty measures.
        probs: ``(S, N, C)`` test probabilities per weight draw, or None when not available.
        gaps: ``{measure: {"gap", "ci_low", "ci_high", "mean_wrong", "mean_right", "n_wrong", "n_right"}}``.
        reliability: ``{"edges", "count", "confidence", "accuracy"}``.
        scores: ``{"accuracy", "ece", …}`` on the test split.
        prior_sigma: σ of the Gaussian prior N(0, σ²) the model was trained with.
        kl_estimator: the human name of the model's KL estimator (its −ELBO level depends on it).
    """

    name: str
    history: list[dict]
    snapshots: np.ndarray
    per_sample: dict[str, np.ndarray]
    probs: np.ndarray | None
    gaps: dict[str, dict]
    reliability: dict
    scores: dict[str, float]
    prior_sigma: float = 1.0
    kl_estimator: str = ""

    @property
    def base_rate(self) -> float:
        """Share of the majority class among the test labels: the accuracy of a constant classifier."""
        labels = np.asarray(self.per_sample.get("label", []), dtype=int)
        return float(np.bincount(labels).max() / len(labels)) if len(labels) else float("nan")

    @property
    def collapsed(self) -> bool:
        """At (or within 0.02 of) the base rate, or one predicted class only: its gap says little."""
        pred = self.per_sample.get("pred")
        one_class = pred is not None and len(np.unique(pred)) == 1
        return one_class or bool(self.scores.get("accuracy", math.nan) <= self.base_rate + COLLAPSE_MARGIN)


def result_from_trainer(name: str, trainer: Trainer) -> ModelResult:
    """Evaluate a trainer on the test split; ``probs`` are the same draws (``predict`` is deterministic per epoch)."""
    ev = trainer.evaluate("test")
    probs = trainer.predict("test")
    return ModelResult(
        name=name, history=list(trainer.history), snapshots=np.stack(trainer.weight_snapshots),
        per_sample=ev.per_sample, probs=probs.numpy(),
        gaps={k: vars(g).copy() for k, g in ev.uncertainty_gap.items()}, reliability=vars(ev.reliability).copy(),
        scores=ev.scalars(), prior_sigma=trainer.cfg.prior_sigma, kl_estimator=KL_ESTIMATORS[trainer.objective.mode],
    )


def result_from_run(record: RunRecord) -> ModelResult:
    """The same view of a run directory saved by ``python -m qcbnn_core train --out DIR``."""
    test = record.metrics["test"]
    model = record.config["model"]
    name = "QCBNN" if model["kind"] == "qcbnn" else model["kind"].upper()
    estimator = KL_ESTIMATORS[objective_mode(model["kind"], model.get("mechanism", "born"))]
    nan = float("nan")
    gaps = {k: {f: (nan if v is None else v) for f, v in g.items()} for k, g in test["uncertainty_gap"].items()}
    scores = {k: (nan if test.get(k) is None else float(test[k]))
              for k in ("accuracy", "balanced_accuracy", "auroc", "nll", "brier", "ece")}
    scores.update({f"gap_{k}": g["gap"] for k, g in gaps.items()})
    scores.update({f"error_auroc_{k}": (nan if v is None else float(v)) for k, v in test.get("error_auroc", {}).items()})
    preds = record.predictions
    return ModelResult(
        name=name, history=record.history, snapshots=record.weight_snapshots,
        per_sample={k: v for k, v in preds.items() if k != "probs"}, probs=preds.get("probs"), gaps=gaps,
        reliability={k: [nan if v is None else v for v in vals] for k, vals in test["reliability"].items()},
        scores=scores, prior_sigma=float(record.config["train"]["prior_sigma"]), kl_estimator=estimator,
    )


class LabSession(LockstepSession):
    """Several trainers on one dataset, advanced in lockstep (in a training worker; see the module docstring).

    Args:
        data: the dataset.
        models: ``{display name: ModelConfig}``.
        cfg: training settings shared by all (same seed ⇒ same data order and same noise streams).
    """

    def __init__(self, data: QCBNNDataset, models: dict[str, ModelConfig], cfg: TrainConfig):
        if not models:
            raise ValueError("choose at least one model to train")
        self.data, self.models, self.cfg = data, dict(models), cfg
        super().__init__({name: Trainer(data, mc, cfg) for name, mc in models.items()})
        self._results: dict[str, tuple[int, ModelResult]] = {}

    @property
    def trainers(self) -> dict[str, Trainer]:
        return self.members

    @staticmethod
    def _advance(trainer: Trainer) -> None:
        """One optimiser step; at an epoch's end, close the epoch (validation scores, weight snapshot)."""
        if trainer.global_step - trainer.epoch_index * trainer.steps_per_epoch >= trainer.steps_per_epoch:
            trainer.epoch()
        else:
            trainer.step(1)

    @staticmethod
    def _done(trainer: Trainer) -> bool:
        return trainer.done

    @staticmethod
    def _history(trainer: Trainer) -> list[dict]:
        return trainer.history

    @property
    def epoch(self) -> int:
        """Epochs finished by every model."""
        return min(t.epoch_index for t in self.trainers.values())

    @property
    def total_steps(self) -> int:
        return sum(t.total_steps for t in self.trainers.values())

    def steps_done(self) -> int:
        return sum(t.global_step for t in self.trainers.values())

    def steps_planned(self) -> int:
        return self.total_steps

    def progress(self) -> dict:
        return {**super().progress(), "epoch": self.epoch, "total_steps": self.total_steps,
                "device": str(next(iter(self.trainers.values())).device)}

    def snapshots(self) -> dict[str, np.ndarray]:
        """``{name: (E+1, S, n_weights)}`` weight draws per saved epoch."""
        return {name: np.stack(t.weight_snapshots) for name, t in self.trainers.items()}

    def results(self) -> dict[str, ModelResult]:
        """Test-split results of every model at its current epoch (recomputed only after a new epoch)."""
        out = {}
        for name, t in self.trainers.items():
            cached = self._results.get(name)
            if cached is None or cached[0] != t.epoch_index:
                cached = (t.epoch_index, result_from_trainer(name, t))
                self._results[name] = cached
            out[name] = cached[1]
        return out

    def evaluate(self) -> dict[str, ModelResult]:
        return self.results()

    def views(self) -> dict:
        """Everything the result panels draw, in one answer (fetched on Pause and at the end, inside the slot)."""
        return {"snapshots": self.snapshots(), "results": self.results() if self.epoch else {}}


def build_lab(data: QCBNNDataset, models: dict[str, ModelConfig], cfg: TrainConfig) -> LabSession:
    """The worker-side factory (module level, so a run spec pickles by reference)."""
    return LabSession(data, models, cfg)


# ----------------------------------------------------------------------------- verdicts and tables
def _fmt_gap(g: dict) -> str:
    return f"{g['gap']:+.3f} (95% CI {g['ci_low']:+.3f} to {g['ci_high']:+.3f}; {g['n_wrong']} wrong of " \
           f"{g['n_wrong'] + g['n_right']})"


def _beside(name: str, result: ModelResult, measure: str) -> str:
    """One model's gap beside its accuracy and error count (a gap bought with more errors is no win)."""
    g = result.gaps[measure]
    return (f"{name}: gap {g['gap']:+.3f} [{g['ci_low']:+.3f}, {g['ci_high']:+.3f}], accuracy "
            f"{result.scores['accuracy']:.3f}, {g['n_wrong']} errors of {g['n_wrong'] + g['n_right']}")


ONE_SEED_NOTE = ("One seed is an anecdote, not a verdict: the intervals are a bootstrap over this run's test images "
                 "and say nothing about another training seed. The *Multi-seed verdict* tab has the answer over seeds.")


def gap_verdict(results: dict[str, ModelResult], measure: str, quantum: str = "QCBNN",
                classical: str = "BNN", control: str = "MLP") -> tuple[bool | None, str]:
    """How QCBNN's uncertainty gap compares with the BNN's *on this one run*, in words computed from the numbers.

    The text puts every gap beside its model's accuracy and error count, and beside the classical control's
    when it was trained, and says that one seed is not a verdict: pages show it in a neutral colour whatever
    the direction.

    Returns:
        ``(True/False, text)`` — whether QCBNN's gap is the larger on this seed — or ``(None, text)`` when a gap
        is undefined (no wrong or no right prediction) or the larger gap belongs to a collapsed model (see
        :attr:`ModelResult.collapsed`), which is then named as such.
    """
    label = MEASURE_LABELS[measure]
    q, c = results[quantum].gaps[measure], results[classical].gaps[measure]
    if any(not math.isfinite(g["gap"]) for g in (q, c)):
        who = [n for n, g in ((quantum, q), (classical, c)) if not math.isfinite(g["gap"])]
        return None, (f"The {label} gap is undefined for {', '.join(who)}: it needs both correct and wrong test "
                      "predictions. Train longer or on harder data.")
    names = [quantum, classical] + ([control] if control in results and math.isfinite(
        results[control].gaps[measure]["gap"]) else [])
    head = f"One seed, {label}: " + "; ".join(_beside(n, results[n], measure) for n in names) + "."
    overlap = q["ci_low"] <= c["ci_high"] and c["ci_low"] <= q["ci_high"]
    ci_note = (" Their intervals overlap: this run cannot tell them apart." if overlap
               else " Their intervals do not overlap on this run's test images.")
    winner, loser = (quantum, classical) if q["gap"] > c["gap"] else (classical, quantum)
    # A model at the base rate (a near-constant classifier) has a "gap" that says how unsure it is about
    # the class it never predicts, not whether it notices its own mistakes.
    if results[winner].collapsed:
        return None, (f"{head} {winner}'s gap is larger, but {winner} is at the base rate (accuracy "
                      f"{results[winner].scores['accuracy']:.3f}, base rate {results[winner].base_rate:.3f}): a "
                      f"near-constant classifier's gap says little. Train longer. {ONE_SEED_NOTE}")
    caveat = (f" Caveat: {loser} is at the base rate, so its gap says little." if results[loser].collapsed else "")
    direction = "larger" if winner == quantum else "NOT larger"
    return winner == quantum, (f"{head} On this seed {quantum}'s gap is {direction} than {classical}'s.{ci_note}"
                               f"{caveat} {ONE_SEED_NOTE}")


def study_table(results: dict[str, ModelResult]) -> pd.DataFrame:
    """One row per model: test accuracy (and the base rate), ECE, the uncertainty gaps with their CIs and
    the error-detection AUROC of each measure."""
    rows = []
    for name, r in results.items():
        row = {"model": name, "accuracy": r.scores["accuracy"], "base rate": r.base_rate, "collapsed": r.collapsed,
               "ECE": r.scores["ece"]}
        for m in ("predictive_entropy", "mutual_information"):
            g = r.gaps[m]
            row[f"gap {MEASURE_LABELS[m]}"] = g["gap"]
            row[f"gap {MEASURE_LABELS[m]} CI low"] = g["ci_low"]
            row[f"gap {MEASURE_LABELS[m]} CI high"] = g["ci_high"]
            row[f"error AUROC {MEASURE_LABELS[m]}"] = r.scores.get(f"error_auroc_{m}", math.nan)
        row["epochs"] = len(r.history)
        rows.append(row)
    return pd.DataFrame(rows)


def certainty_order(result: ModelResult, measure: str = "predictive_entropy") -> np.ndarray:
    """Test indices from most certain (lowest uncertainty) to least certain."""
    return np.argsort(result.per_sample[measure], kind="stable")


# ----------------------------------------------------------------------------- the committed multi-seed study
STUDY_DIR = Path(__file__).resolve().parents[2] / "docs" / "qcbnn_study"
STAGES = {"select": "selection (seeds 0–4, all models)", "confirm": "confirmation (seeds 5–9, chosen family)"}


def load_study(folder: Path | None = None) -> dict[tuple[str, str], dict]:
    """The committed summaries ``{(stage, data): summary}`` from ``<stage>_<data>.json`` files in ``folder``
    (default :data:`STUDY_DIR`; stages in :data:`STAGES`); unreadable or foreign files are skipped."""
    folder = STUDY_DIR if folder is None else folder
    out = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        stage, _, data = path.stem.partition("_")
        if stage not in STAGES or not data:
            continue
        try:
            out[(stage, data)] = load_summary(path)
        except (OSError, ValueError):
            continue
    return out


def _cell(stat: dict) -> str:
    if math.isnan(stat["mean"]):
        return "n/a"
    if math.isnan(stat["ci_low"]):
        return f"{stat['mean']:.3f}"
    return f"{stat['mean']:.3f} [{stat['ci_low']:.3f}, {stat['ci_high']:.3f}]"


def summary_table(summary: dict, paired: bool = False) -> pd.DataFrame:
    """One row per model: mean [95 % CI] over seeds (or of the paired differences against the baseline)."""
    rows = []
    for label, s in (summary["paired"] if paired else summary["models"]).items():
        row = {"model": label, "accuracy": _cell(s["accuracy"]), "ECE": _cell(s["ece"]),
               "gap pred. entropy": _cell(s["gap"]["predictive_entropy"]),
               "error AUROC pred. entropy": _cell(s["auroc"]["predictive_entropy"]),
               "gap mutual info": _cell(s["gap"]["mutual_information"]),
               "error AUROC mutual info": _cell(s["auroc"]["mutual_information"]),
               "weight std": _cell(s["weight_std"])}
        if not paired:
            row["collapsed runs"] = f"{summary['models'][label]['collapsed_runs']} / {summary['models'][label]['n_runs']}"
        rows.append(row)
    return pd.DataFrame(rows)
