"""Widgets of the QCBNN training page: data, settings, live side-by-side training, results, study, run dirs,
the multi-seed verdict (its glossary lives in pages/_ui/glossary.py).

Per-session state: :class:`~pages._ui.live_run.LiveRun` objects in ``st.session_state`` (models in workers)
(``LAB_KEY`` for QCBNN vs. BNN, ``STUDY_KEY`` for the architecture study). Training happens only in a
fragment tick or the Step button, each holding a server-wide training slot for its duration.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from qcbnn_core import ANSATZ_PRESETS, plots
from qcbnn_core.ansatz import DEFAULT_PRESET
from qcbnn_core.data import QCBNNDataset
from qcbnn_core.metrics import UNCERTAINTY_MEASURES
from qcbnn_core.objectives import KL_ESTIMATORS, objective_mode
from qcbnn_core.study import best_family, verdict
from qcbnn_core.generator import MECHANISM_LABELS
from qcbnn_core.models import MECHANISMS, ModelConfig
from qcbnn_core.runs import RUN_FILES, load_run
from qcbnn_core.trainer import TrainConfig
from labkit.untrusted import Budget, is_regular_file
from labkit.workers import RunSpec, WorkerError
from pages._ui.live_run import LiveRun, ModelFreed
from pages._ui.live_training import LiveControls, show_machine_note
from pages._ui.plain_text import plain, safe_name
from pages._ui.qcbnn_lab import (MEASURE_LABELS, STAGES, ModelResult, build_lab, certainty_order, gap_verdict,
                                 load_data, load_study, result_from_run, study_table, summary_table)
from pages._ui.run_dirs import list_runs, load_upload, open_listed, runs_root
from pages._ui.slots import torch_threads_from_env
from pages._ui.url_spec import UrlSpec, choice, choices, flag, integer, whole

LAB_KEY, STUDY_KEY = "qt_lab", "qt_study"
DATA_LABELS = {"breastmnist": "BreastMNIST (real ultrasound, the paper's data)",
               "phantom": "Ultrasound phantom (SYNTHETIC, fast)", "digits": "sklearn digits 3 vs 8",
               "breast_cancer": "sklearn breast cancer (tabular)", "upload": "Your own BreastMNIST-format .npz"}
GALLERY = 6

# The shareable settings, and the bounds their widgets use (sizes bounded for a shared server).
URL = UrlSpec(
    choice("qt_data", "data", [d for d in DATA_LABELS if d != "upload"]),  # an upload cannot travel in a link
    integer("qt_ntrain", "ntrain", 16, 546),
    integer("qt_epochs", "epochs", 1, 30),
    choice("qt_batch", "bs", (16, 32, 64), whole),
    choice("qt_ansatz", "ansatz", ANSATZ_PRESETS),
    choice("qt_mech", "mech", MECHANISMS),
    flag("qt_mlp", "mlp"),
    flag("qt_cnn", "cnn"),
    integer("qt_strain", "strain", 1, 16),
    integer("qt_seval", "seval", 4, 128),
    choices("qt_study_ansatz", "study", ANSATZ_PRESETS),
    integer("qt_study_epochs", "study_epochs", 1, 10),
)
_DEFAULTS = {"qt_data": "breastmnist", "qt_ntrain": 256, "qt_epochs": 10, "qt_batch": 32, "qt_ansatz": DEFAULT_PRESET,
             "qt_mech": "semi_implicit", "qt_strain": 8, "qt_seval": 32, "qt_mlp": True, "qt_cnn": True,
             "qt_study_ansatz": ["constrained_crx", "ry_cnot", "ryrz_product"], "qt_study_epochs": 3}


def init_state() -> None:
    """Defaults on a session's first run, then whatever a shared link says."""
    URL.init_session(_DEFAULTS)


# ----------------------------------------------------------------------------- data
@st.cache_data(max_entries=16, show_spinner="Loading data…")
def _cached_data(source: str, seed: int, n_train: int, upload: bytes | None) -> QCBNNDataset:
    return load_data(source, seed, n_train, upload)


def _upload_bytes() -> bytes | None:
    up = st.session_state.get("qt_upload")
    return None if up is None else up.getvalue()


def current_data(seed: int) -> QCBNNDataset:
    """The dataset the settings ask for; ValueError with a page-ready message."""
    source = st.session_state["qt_data"]
    upload = _upload_bytes() if source == "upload" else None
    return _cached_data(source, seed, int(st.session_state["qt_ntrain"]), upload)


def data_section(seed: int) -> QCBNNDataset | None:
    """Data choice, upload validation and the per-class gallery; None (after an error message) when unusable."""
    c1, c2 = st.columns([2, 1])
    c1.radio("Data", list(DATA_LABELS), format_func=DATA_LABELS.get, key="qt_data", horizontal=True)
    c2.slider("Training examples (at most)", *URL["qt_ntrain"].bounds, step=8, key="qt_ntrain",
              help="Fewer examples train faster; the validation and test splits stay the same.")
    if st.session_state["qt_data"] == "upload":
        st.file_uploader("A BreastMNIST-format .npz (28×28)", type=["npz"], key="qt_upload",
                         help="Nothing is downloaded. The genuine MedMNIST file already ships with the app "
                              "(choose BreastMNIST); upload your own variant here.")
    try:
        data = current_data(seed)
    except ValueError as err:
        st.error(f"Cannot use this data: {plain(err)}")
        return None
    tag = " — **SYNTHETIC images, not patient data**" if data.synthetic else ""
    sizes = ", ".join(f"{s} {len(data.split(s))}" for s in ("train", "val", "test"))
    st.caption(f"{data.description}{tag}  \nSplits: {sizes}; positive class (1) = {data.class_names[1]}. "
               f"{base_rate_sentence(data)}")
    if data.notice:
        st.warning(data.notice)
    with st.expander("Examples per class", expanded=data.kind == "image"):
        examples = data.class_examples("train", 8)
        for c, name in enumerate(data.class_names):
            if data.kind == "image":
                st.image([_to_image(x) for x in examples[c]], caption=[name] * len(examples[c]), width=72)
            else:
                st.write(f"**{name}**: the first 8 of {data.input_shape[0]} standardised features (0 = training "
                         f"mean, 1 = one standard deviation) of {len(examples[c])} examples")
                names = list(data.feature_names[:8]) or [f"feature {i}" for i in range(min(8, data.input_shape[0]))]
                st.dataframe(pd.DataFrame(examples[c][:, :8].numpy().round(2), columns=names), width="stretch",
                             hide_index=True)
    return data


def base_rate_sentence(data: QCBNNDataset) -> str:
    """The test split's class balance and what always answering the majority class scores."""
    y = data.test.y.numpy()
    counts = np.bincount(y, minlength=2)
    major = int(counts.argmax())
    return (f"Test split: {counts[1]} {data.class_names[1]}, {counts[0]} {data.class_names[0]} — always answering "
            f"'{data.class_names[major]}' scores accuracy **{counts[major] / len(y):.3f}** (the base rate): "
            "compare every accuracy with it.")


def _to_image(x) -> np.ndarray:
    """``(1, H, W)`` tensor in [0, 1] → an upscaled ``(H', W')`` array for ``st.image``."""
    img = np.asarray(x[0], dtype=np.float32).clip(0, 1)
    scale = max(1, 56 // img.shape[0])
    return np.kron(img, np.ones((scale, scale), dtype=np.float32))


# ----------------------------------------------------------------------------- settings
def settings() -> None:
    """Model and training settings (bounded so that one student cannot exhaust the server)."""
    c1, c2, c3, c4 = st.columns(4)
    c1.selectbox("QCBNN ansatz", list(ANSATZ_PRESETS), key="qt_ansatz",
                 help="See the generator page for what each design does.")
    c1.radio("Continuity mechanism", MECHANISMS, key="qt_mech", format_func=MECHANISM_LABELS.get,
             help="Semi-implicit (default, the fair one): Born-machine weights plus learnable Gaussian jitter, so "
                  "the weights have a density and the KL is a proper bound. Born + adversarial: the old option; its "
                  "weights lie on a 6-dimensional surface, the KL is only a learned regulariser and the spread "
                  "collapses in training. Bitstring + jitter: independent binned weights with an exact density.")
    c2.slider("Epochs", *URL["qt_epochs"].bounds, key="qt_epochs")
    c2.select_slider("Batch size", URL["qt_batch"].options, key="qt_batch")
    c3.slider("Weight draws per step", *URL["qt_strain"].bounds, key="qt_strain")
    c3.slider("Weight draws for predictions", *URL["qt_seval"].bounds, key="qt_seval")
    c4.checkbox("MLP generator (classical control)", key="qt_mlp",
                help="Same 6 noise numbers, same 64 outcomes, same weight map and mechanism as the QCBNN, with a "
                     "small MLP in the circuit's place: if it matches the QCBNN, the effect is not quantum.")
    c4.checkbox("CNN (deterministic)", key="qt_cnn",
                help="One weight vector; its only uncertainty is the softmax entropy (mutual information 0).")
    c4.caption("Same seed for every model: same data order, same initial classical layer, same noise streams.")
    URL.write()


def _train_cfg(seed: int, epochs: int) -> TrainConfig:
    # Our choice: the KL warm-up lasts up to half the run (the library default is 5 epochs).
    return TrainConfig(epochs=epochs, batch_size=int(st.session_state["qt_batch"]),
                       n_samples_train=int(st.session_state["qt_strain"]),
                       n_samples_eval=int(st.session_state["qt_seval"]), warmup_epochs=min(5, epochs // 2),
                       snapshot_samples=256, n_boot=500, seed=seed)


def compare_key(seed: int) -> tuple:
    return (seed, *(st.session_state[k] for k in ("qt_data", "qt_ntrain", "qt_epochs", "qt_batch", "qt_ansatz",
                                                  "qt_mech", "qt_strain", "qt_seval", "qt_mlp", "qt_cnn")))


def _controls(prefix_ansatz: str) -> dict[str, ModelConfig]:
    """The control models the settings ask for (the MLP control copies the QCBNN's noise size and mechanism)."""
    out = {}
    if st.session_state.get("qt_mlp"):
        out["MLP"] = ModelConfig(kind="mlp", ansatz=prefix_ansatz, mechanism=st.session_state["qt_mech"])
    if st.session_state.get("qt_cnn"):
        out["CNN"] = ModelConfig(kind="cnn")
    return out


def _run(seed: int, models: dict[str, ModelConfig], epochs: int, key: tuple) -> LiveRun:
    """A run's spec (no model yet: a worker builds it once a slot is granted) and what the page knows of it."""
    cfg = _train_cfg(seed, epochs)
    spec = RunSpec(build_lab, {"data": current_data(seed), "models": models, "cfg": cfg},
                   threads=torch_threads_from_env())
    return LiveRun(spec, {"key": key, "cfg": cfg, "models": dict(models)})


def build_compare(seed: int) -> LiveRun:
    """QCBNN, the BNN and the chosen controls on the chosen data, same seed."""
    ansatz = st.session_state["qt_ansatz"]
    models = {"QCBNN": ModelConfig(kind="qcbnn", ansatz=ansatz, mechanism=st.session_state["qt_mech"]),
              "BNN": ModelConfig(kind="bnn"), **_controls(ansatz)}
    return _run(seed, models, int(st.session_state["qt_epochs"]), compare_key(seed))


def study_key(seed: int) -> tuple:
    return (seed, st.session_state["qt_data"], st.session_state["qt_ntrain"], st.session_state["qt_batch"],
            st.session_state["qt_mech"], st.session_state["qt_strain"], st.session_state["qt_seval"],
            tuple(st.session_state["qt_study_ansatz"]), st.session_state["qt_study_epochs"],
            st.session_state.get("qt_study_bnn", True), st.session_state.get("qt_mlp"), st.session_state.get("qt_cnn"))


def build_study(seed: int) -> LiveRun:
    """One QCBNN per chosen ansatz (and the BNN and the chosen controls as references), same seed."""
    chosen = list(st.session_state["qt_study_ansatz"])
    if not chosen:
        raise ValueError("pick at least one ansatz")
    models = {a: ModelConfig(kind="qcbnn", ansatz=a, mechanism=st.session_state["qt_mech"]) for a in chosen}
    if st.session_state.get("qt_study_bnn", True):
        models["BNN"] = ModelConfig(kind="bnn")
    models.update(_controls(chosen[0]))
    return _run(seed, models, int(st.session_state["qt_study_epochs"]), study_key(seed))


# ----------------------------------------------------------------------------- Start / Pause / Step / Reset
def _epochs_text(run: LiveRun) -> str:
    epoch = run.progress.get("epoch", 0)
    return f"Finished: {epoch} epoch{'' if epoch == 1 else 's'}."


def _runner(key: str, build: Callable[[int], LiveRun], seed: int) -> LiveControls:
    return LiveControls(key, lambda: build(seed), "open a saved run directory in the last tab", _epochs_text,
                        views_method="views")


def run_panel(key: str, build: Callable[[int], LiveRun], current_key: Callable[[int], tuple], seed: int,
              body: Callable[[LiveRun], None], idle_text: str) -> None:
    """Start/Pause/Step/Reset for the run under ``key``, then its live view (progress + ``body``)."""
    runner = _runner(key, build, seed)
    run: LiveRun | None = runner.session
    changed = run is not None and run.meta["key"] != current_key(seed)
    runner.buttons(started=bool(run and run.started), settings_changed=changed)
    runner.fragment(_progress, body, idle_text)


def _progress(run: LiveRun) -> None:
    p = run.progress
    c1, c2, c3 = st.columns(3)
    c1.metric("Epochs done (every model)", f"{p.get('epoch', 0)} / {run.meta['cfg'].epochs}")
    c2.metric("Optimiser steps (all models)", f"{p.get('steps_done', 0)} / {p.get('total_steps', '–')}")
    tick = run.last_tick
    c3.metric("Steps/s (last tick)", f"{tick.steps_per_second:.1f}" if tick and tick.steps else "–",
              help=f"Device of the classical part, in the training worker: {p.get('device', '–')}")
    st.progress(min(1.0, p.get("steps_done", 0) / max(p.get("total_steps", 1), 1)))
    show_machine_note(run)


def _snapshots(run: LiveRun) -> dict[str, np.ndarray]:
    """Weight draws per saved epoch: from the worker (new ones only after an epoch), or the settled views."""
    if run.has_model:
        try:
            return run.cached("snapshots", lambda: run.query("snapshots"), version=run.progress.get("epoch"))
        except (ModelFreed, WorkerError, ValueError):  # the worker went away meanwhile: what was settled stays
            pass
    return run.views.get("snapshots", {})


# ----------------------------------------------------------------------------- charts
def compare_body(run: LiveRun) -> None:
    """Curves, weight distributions and (when paused or finished) the uncertainty results."""
    if run.progress.get("epoch", 0) == 0:
        st.info("Curves appear after the first epoch (validation scores are computed at each epoch's end).")
        return
    curves(run, "qt_curves")
    snapshots = _snapshots(run)
    if snapshots:
        weights_panel(snapshots, run.meta["cfg"].prior_sigma, "qt_w")
    if run.running:
        st.caption("Pause (or wait for the end) to score the test split: uncertainty, calibration and gallery.")
        return
    results = run.views.get("results")
    if not results:
        st.caption("Press Pause while training (or wait for the end) to score the test split.")
        return
    results_panel(results, run.spec.kwargs["data"], "qt_res")


def curves(run: LiveRun, key: str) -> None:
    """Loss curves on separate axes (named by KL estimator), validation accuracy and ECE shared."""
    notes = {name: KL_ESTIMATORS[objective_mode(mc.kind, mc.mechanism)] for name, mc in run.meta["models"].items()}
    st.plotly_chart(plots.curves_figure(run.histories(), notes), width="stretch", key=key)
    st.caption("Each model's −ELBO has its own axis: the KL part comes from a different estimator per model "
               "(closed form for the BNN, a SIVI upper bound or an adversarial estimate for generators, none for "
               "the CNN), so the levels are not comparable across models — compare the accuracy and ECE panels.")


def weights_panel(snapshots: dict[str, np.ndarray], prior_sigma: float, key: str) -> None:
    """Weight distribution per saved epoch: circuit-sampled histograms vs. the BNN's Gaussians."""
    n_saved = min(len(s) for s in snapshots.values())
    c1, c2 = st.columns([3, 1])
    epoch = c1.slider("Saved epoch (0 = before training)", 0, n_saved - 1, n_saved - 1, key=f"{key}_epoch")
    n_w = min(s.shape[2] for s in snapshots.values())
    j = c2.number_input("Weight index", 0, n_w - 1, 0, key=f"{key}_j")
    hist, gauss, points = {}, {}, []
    for name, snap in snapshots.items():
        w = snap[epoch][:, j]
        if name == "BNN":
            # The BNN's weight IS Gaussian; its mean and std are estimated from the saved draws.
            gauss[f"BNN N(μ, σ²) fitted to {len(w)} draws"] = (float(w.mean()), max(float(w.std()), 1e-6))
        elif len(w) == 1 or float(w.std()) == 0.0:
            points.append(f"{name} w_{j} = {float(w[0]):.3f}")
        else:
            hist[f"{name} draws"] = w
    st.plotly_chart(plots.weight_hist_figure(hist, prior_sigma=prior_sigma, gaussians=gauss,
                                             title=f"Weight w_{j} after epoch {epoch}"), width="stretch",
                    key=f"{key}_fig")
    point_note = f" Point estimates (no distribution): {'; '.join(points)}." if points else ""
    st.caption("How to read: each histogram is one model's distribution of the chosen weight over draws, the dashed "
               "curve the prior. A wide distribution = the model is unsure about that weight (epistemic "
               "uncertainty); one shrinking to a spike over the epochs = the model has become confident, or has "
               "collapsed. Slide through the epochs to watch it happen." + point_note)


def results_panel(results: dict[str, ModelResult], data: QCBNNDataset | None, key: str) -> None:
    """Uncertainty of right vs. wrong, the honest verdict, the reliability diagram and the certainty gallery."""
    st.subheader("Does the model know when it is wrong?")
    st.markdown(
        r"Uncertainty gap = mean uncertainty of **wrong** test predictions − mean of **correct** ones. "
        r"Predictive entropy $H[\bar p] = -\sum_c \bar p_c \log \bar p_c$ with $\bar p = \frac1S\sum_s p_s$ (total); "
        r"mutual information $H[\bar p] - \frac1S\sum_s H[p_s]$ (the part due to weight uncertainty). "
        "A larger gap means uncertainty flags mistakes better; the **error-detection AUROC** asks the same without "
        "a mean: how often a random wrong prediction is more uncertain than a random right one (0.5 = chance). "
        "**This is one seed**; the *Multi-seed verdict* tab has the answer over seeds."
    )
    measure = st.radio("Uncertainty measure", UNCERTAINTY_MEASURES, format_func=MEASURE_LABELS.get,
                       key=f"{key}_measure", horizontal=True)
    if "QCBNN" in results and "BNN" in results:
        _, text = gap_verdict(results, measure)
        st.info(text)  # neutral whatever the direction: one seed is not a verdict
    collapsed = [n for n, r in results.items() if r.collapsed]
    if collapsed:
        st.caption(f"At the base rate (a near-constant classifier; its gap says little): {', '.join(collapsed)}.")
    st.plotly_chart(plots.uncertainty_figure({n: r.per_sample for n, r in results.items()},
                                             {n: r.gaps[measure] for n, r in results.items()},
                                             measure, MEASURE_LABELS[measure]), width="stretch", key=f"{key}_unc")
    scores = " · ".join(f"{n}: accuracy {r.scores['accuracy']:.3f}, error AUROC "
                        f"{r.scores.get(f'error_auroc_{measure}', float('nan')):.3f}, ECE {r.scores['ece']:.3f}"
                        for n, r in results.items())
    st.caption(f"Test split, one seed (accuracy beside each gap: a gap bought with lower accuracy is no win). {scores}")
    st.plotly_chart(plots.reliability_figure({n: r.reliability for n, r in results.items()},
                                             {n: r.scores["ece"] for n, r in results.items()}), width="stretch",
                    key=f"{key}_rel")
    st.caption("How to read: test inputs are grouped by the model's confidence (its largest class probability); "
               "each point is a group's mean confidence (x) against the share it got right (y). On the dashed "
               "diagonal the model is calibrated: 80 % confident means right 80 % of the time. Below the diagonal "
               "= over-confident, above = under-confident. ECE is the size-weighted mean distance to the diagonal; "
               "big markers are groups with many inputs.")
    gallery(results, data, key)


def gallery(results: dict[str, ModelResult], data: QCBNNDataset | None, key: str) -> None:
    """The most and least certain test inputs of one model, with their predictive distributions."""
    name = st.selectbox("Gallery of the model", list(results), key=f"{key}_gal_model")
    r = results[name]
    order = certainty_order(r)
    labels = np.asarray(r.per_sample["label"]).astype(int)
    correct = np.asarray(r.per_sample["correct"], dtype=bool)
    p_pos = np.asarray(r.per_sample["p_positive"], dtype=float)
    for title, idx, how in (("Most certain", order[:GALLERY], "lowest"),
                            ("Least certain", order[::-1][:GALLERY], "highest")):
        captions = [f"#{i} true {labels[i]} · p={p_pos[i]:.2f} {'✓' if correct[i] else '✗'}" for i in idx]
        st.markdown(f"**{title}** ({how} predictive entropy; p = mean p(positive), ✓/✗ = right/wrong)")
        if data is not None and data.kind == "image":
            st.image([_to_image(data.test.x[i]) for i in idx], caption=captions, width=84)
        else:
            st.caption(" · ".join(captions))
        if r.probs is not None:
            st.plotly_chart(plots.draws_figure(r.probs[:, idx, 1], [f"#{i}" for i in idx],
                                               f"{title}: p(positive) over {r.probs.shape[0]} weight draws"),
                            width="stretch", key=f"{key}_draws_{title}")


# ----------------------------------------------------------------------------- architecture study
def study_settings() -> None:
    c1, c2, c3 = st.columns([3, 1, 1])
    c1.multiselect("Ansätze to compare", list(ANSATZ_PRESETS), key="qt_study_ansatz", max_selections=5)
    c2.slider("Epochs each", *URL["qt_study_epochs"].bounds, key="qt_study_epochs")
    c3.checkbox("Include the BNN", value=True, key="qt_study_bnn")
    c3.caption("The MLP and CNN controls follow the checkboxes of the first tab's settings.")
    URL.write()


def study_body(run: LiveRun) -> None:
    if run.progress.get("epoch"):
        curves(run, "qt_study_curves")
    if not run.finished or not run.views.get("results"):
        st.caption("The table and bar chart appear when every model has finished its epochs.")
        return
    results = run.views["results"]
    table = study_table(results)
    st.dataframe(table.round(4), hide_index=True, width="stretch")
    st.plotly_chart(plots.study_figure(table), width="stretch", key="qt_study_bars")
    collapsed = [n for n, r in results.items() if r.collapsed]
    st.caption(f"One seed, same data, {run.meta['cfg'].epochs} epoch(s) each — not a ranking: the intervals are a "
               "bootstrap over this run's test images, and another seed reorders the bars."
               + (f" At the base rate (their gaps say little): {', '.join(collapsed)}." if collapsed else "")
               + " The *Multi-seed verdict* tab has the study over seeds.")
    st.download_button("Download CSV", table.to_csv(index=False), "qcbnn_architecture_study.csv", "text/csv",
                       key="qt_study_csv")


# ----------------------------------------------------------------------------- run directories
VIEWER_FILES = tuple(f for f in RUN_FILES if f != "model.pt")  # the viewer never loads the weights


def _is_qcbnn_run(folder: Path) -> bool:
    return all(is_regular_file(folder / f) for f in VIEWER_FILES)


def _viewer_member(parts: tuple[str, ...]) -> bool:
    return parts[-1] in VIEWER_FILES


def _results_of(folder: Path, budget: Budget) -> list[ModelResult]:
    """The run in ``folder``, or the (at most two) runs inside it (an uploaded zip of two runs), within one budget."""
    runs = [folder] if _is_qcbnn_run(folder) else [folder / n for n in list_runs(folder, _is_qcbnn_run, depth=1)][:2]
    out = []
    for run in runs:
        label = safe_name(run.name)
        try:
            res = result_from_run(load_run(run, need_model=False, budget=budget))
        except ValueError as err:
            raise ValueError(f"{label}: {err}") from None
        res.name = f"{res.name} ({label})"
        out.append(res)
    return out


def runs_tab() -> None:
    """Open run directories written by ``python -m qcbnn_core train --out DIR`` and show the same plots."""
    st.markdown("Train before class, e.g. `python -m qcbnn_core train --model qcbnn --out runs/qcbnn` and "
                "`… --model bnn --out runs/bnn`, then open both here (or upload a zip of one or two run folders).")
    root = runs_root()
    names = list_runs(root, _is_qcbnn_run)
    placeholder = "choose a run" if names else f"no runs in {root.name}/ yet"
    c1, c2, c3 = st.columns(3)
    first = c1.selectbox("Run", names, index=None, key="qt_run_a", placeholder=placeholder)
    second = c2.selectbox("Second run (optional)", names, index=None, key="qt_run_b", placeholder=placeholder)
    upload = c3.file_uploader("…or upload a zipped run directory", type=["zip"], key="qt_run_zip")
    if st.button("Open", key="qt_run_open"):
        try:
            if upload is not None:
                found = load_upload(upload.getvalue(), _viewer_member, _is_qcbnn_run, _results_of)
            else:
                chosen = list(dict.fromkeys(n for n in (first, second) if n is not None))
                if not chosen:
                    raise ValueError("choose a run or upload a zipped run directory")
                found = [r for n in chosen for r in open_listed(root, n, _is_qcbnn_run, _results_of)]
            st.session_state["qt_runs"] = {r.name: r for r in found}
        except (ValueError, OSError) as err:
            st.session_state.pop("qt_runs", None)
            st.error(f"Cannot open the run: {plain(err)}")
    results: dict[str, ModelResult] | None = st.session_state.get("qt_runs")
    if not results:
        return
    st.plotly_chart(plots.curves_figure({n: r.history for n, r in results.items()}), width="stretch",
                    key="qt_run_curves")
    weights_panel({n: r.snapshots for n, r in results.items()}, next(iter(results.values())).prior_sigma, "qt_run_w")
    results_panel(results, None, "qt_run_res")
    st.caption("Run directories do not store the test images, so the gallery shows indices only.")


def explainer() -> None:
    st.markdown(
        "All models are the same small CNN (one 2×2 convolution with 16 maps, one dense layer); only the 64 "
        "convolution weights differ: **QCBNN** draws them from a quantum circuit, the **BNN** from independent "
        "Gaussians, the **MLP** control from a small classical network fed the same 6 noise numbers through the "
        "same weight map (if it matches the QCBNN, the effect is not quantum), and the **CNN** has one fixed set. "
        r"The Bayesian ones minimise the negative ELBO $\mathbb{E}_q[-\log p(y|x,w)] + \beta\,\mathrm{KL}(q\,\|\,p)/N$ "
        "and predict by averaging S weight draws."
    )
    st.caption("What to do: choose data, press **Start**, watch the curves; then **Pause** (or wait for the end) and "
               "scroll to see whether each model is more uncertain on the images it gets wrong.")


# ----------------------------------------------------------------------------- multi-seed verdict
def multiseed_tab() -> None:
    """The committed multi-seed study (``docs/qcbnn_study/``) and the verdict its pre-registered rule gives."""
    studies = load_study()
    if not studies:
        st.info("No committed study results found in docs/qcbnn_study/. Run e.g. `python -m qcbnn_core train "
                "--data phantom --model qcbnn,mlp,bnn,cnn --seeds 0,1,2,3,4 --jobs 2 --json`.")
        return
    c1, c2 = st.columns(2)
    datasets = sorted({d for _, d in studies})
    # Defaults: BreastMNIST (the paper's data) when its study is committed, else the phantom; the confirmation stage.
    default = next((d for d in ("breastmnist", "phantom") if d in datasets), datasets[0])
    data = c1.radio("Data", datasets, key="qt_ms_data", horizontal=True, format_func=lambda d: DATA_LABELS.get(d, d),
                    index=datasets.index(default))
    stages = [s for s in STAGES if (s, data) in studies]
    stage = c2.radio("Stage", stages, key="qt_ms_stage", format_func=STAGES.get, horizontal=True,
                     index=stages.index("confirm") if "confirm" in stages else 0)
    summary = studies[(stage, data)]
    protocol = summary.get("protocol", "docs/qcbnn_study.md")
    st.markdown(f"{len(summary['seeds'])} seeds per model, 30 epochs each (exact commands and the pre-registered "
                f"rule in `{protocol}`). Mean [95 % CI] over seeds — Student-t for gaps, bootstrap over seeds for "
                "accuracy, ECE and AUROC (which stays inside [0, 1]); the seeds pair the models (same data order and "
                "initialisation).")
    # The study names the configuration it selected (BreastMNIST); older summaries are read by the family rule.
    quantum = summary.get("selected") or best_family(summary)
    if quantum is None:
        st.warning("No QCBNN family qualifies (every one has a collapsed run): no verdict.")
    elif "bnn" in summary["models"]:
        v = verdict(summary, quantum)
        box = st.success if v["quantum_effect"] else st.warning
        box(("Confirmation seeds: " if stage == "confirm" else "Selection seeds (the family was chosen on these, "
             "so read the confirmation stage for the verdict): ") + v["text"])
    st.dataframe(summary_table(summary), hide_index=True, width="stretch")
    base_rates = {round(r["base_rate"], 3) for r in summary["runs"] if "base_rate" in r}
    if base_rates:
        st.caption(f"Accuracy against the test base rate {', '.join(f'{b:.3f}' for b in sorted(base_rates))} "
                   "(always answering the majority class).")
    if summary["paired"]:
        st.markdown(f"**Paired differences against the {summary['baseline'].upper()}** (same seed; a CI that "
                    "excludes 0 is a difference the seeds support):")
        st.dataframe(summary_table(summary, paired=True), hide_index=True, width="stretch")
    st.caption("Model names: `qcbnn` = QCBNN with the default circuit (constrained CRX), `qcbnn:<family>` = another "
               "circuit family, `qcbnn::born` = the old Born machine with adversarial KL, `mlp` = the classical "
               "generator control, `bnn` = Gaussian BNN, `cnn` = deterministic CNN. Weight std = mean per-weight "
               "spread of the trained weight distribution (0 for the CNN).")
