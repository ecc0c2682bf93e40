"""Widgets of the training-lab page: settings, Start/Pause/Step/Reset, the live fragment and the replay tab.

Per-session state lives in ``st.session_state`` (a :class:`~pages._ui.live_run.LiveRun` under ``LAB_KEY``,
whose models train in a worker process); the shareable settings are mirrored in ``st.query_params``.
Training only happens in :func:`_live_body` (bounded ticks per fragment run) or in the Step button,
each time holding a server-wide slot.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from ntl_core.history import eval_rows
from ntl_core.lab_plots import curves_figure, digit_heatmaps
from ntl_core.models import MODEL_PRESETS
from ntl_core.objectives import loss_label
from ntl_core.tokenization import TOKENIZER_KINDS
from ntl_core.train_config import TASKS
from ntl_core.runs import CHECKPOINT, CONFIG, METRICS
from ntl_core.presets import STUDENT_PRESETS
from ntl_core.training import LOSSES, PRESETS, TrainConfig, load_runs
from labkit.workers import RunSpec
from pages._ui.live_run import LiveRun
from pages._ui.live_training import LiveControls
from pages._ui.common import worker_kind
from pages._ui.ntl_lab import build_lab, check_cpu_cost, verdict
from pages._ui.run_dirs import list_runs, load_upload, open_listed, runs_root
from pages._ui.slots import torch_threads_from_env
from pages._ui.url_spec import UrlSpec, choice, choices, flag, integer, number, text

LAB_KEY = "lab"  # also the prefix of the button keys (lab_start, ...) and of the message key
FRAGMENT_RUN_S = 15.0  # ticks per fragment run: see _live_body
BATCH_SIZES = (8, 16, 32, 64, 128, 256)  # the cap keeps 30 students' runs within a laptop's memory
MAX_UPLOAD_BYTES = 5_000_000
UPLOADED = "uploaded.txt"  # stands for the upload in the page's config; the worker writes the real file
N_SAMPLES = 8

# The shareable settings, and the bounds their widgets use (a link can ask for a test preset).
URL = UrlSpec(
    choice("lab_preset", "preset", PRESETS),
    choice("lab_task", "task", [t for t in TASKS if t != "file"]),
    integer("lab_digits", "digits", 1, 6),
    flag("lab_reverse", "reverse"),
    choice("lab_model", "model", MODEL_PRESETS),
    choice("lab_tokenizer", "tok", TOKENIZER_KINDS),
    choices("lab_losses", "losses", LOSSES),
    number("lab_lambda", "lam", 0.0, 2.0),
    text("lab_lr", "lr"),  # checked on Start, with a message
    choice("lab_batch", "bs", BATCH_SIZES, int),
    integer("lab_steps", "steps", 10, 20_000),
    integer("lab_eval", "eval", 5, 1000),
)


def _clip(key: str, value: int) -> int:
    return int(min(max(value, URL[key].lo), URL[key].hi))


def _apply_preset() -> None:
    """Fill every setting from the chosen preset (a widget callback, so it runs before the widgets draw)."""
    cfg = PRESETS[st.session_state["lab_preset"]]
    st.session_state.update({
        "lab_task": cfg.task, "lab_digits": _clip("lab_digits", cfg.digits), "lab_reverse": cfg.reverse,
        "lab_model": cfg.model, "lab_tokenizer": cfg.tokenizer, "lab_lambda": float(cfg.ntl_weight),
        "lab_lr": f"{cfg.lr:g}", "lab_batch": min(BATCH_SIZES, key=lambda b: abs(b - cfg.batch_size)),
        "lab_steps": _clip("lab_steps", cfg.steps), "lab_eval": _clip("lab_eval", cfg.eval_every or 10),
    })


def init_state() -> None:
    """First run of a session: preset defaults, then whatever a shared link overrides."""
    if "lab_preset" in st.session_state:
        return
    values, warnings = URL.parse(st.query_params.to_dict())
    st.session_state["lab_preset"] = values.pop("lab_preset", next(iter(PRESETS)))
    _apply_preset()
    st.session_state["lab_losses"] = ["ce", "was"]
    st.session_state.update(values)
    for warning in warnings:
        st.warning(warning)


def settings() -> None:
    """Draw the settings widgets (bounded, so one student cannot exhaust the server)."""
    current = st.session_state["lab_preset"]
    offered = [*STUDENT_PRESETS, *([current] if current not in STUDENT_PRESETS else [])]  # test presets only by link
    st.selectbox("Preset", offered, key="lab_preset", on_change=_apply_preset,
                 help="Fills every setting below; the CPU preset is ~90 s of training per run on a 2-core CPU (runs side by side share the CPU, so two take ~3 min).")
    st.multiselect("Losses to compare (one model each, same seed and data)", LOSSES, format_func=loss_label,
                   key="lab_losses")
    c1, c2, c3, c4 = st.columns(4)
    c1.selectbox("Task", TASKS, key="lab_task", help="'file': your own question/answer .txt file")
    file_task = st.session_state["lab_task"] == "file"
    if file_task:
        c1.file_uploader("Question/answer file (.txt, alternating lines)", type=["txt"], key="lab_file")
    # Drawn even when unused: a widget that is not drawn loses its value in session_state.
    c1.slider("Digits per operand", *URL["lab_digits"].bounds, key="lab_digits", disabled=file_task)
    c1.checkbox("Answers reversed (units digit first)", key="lab_reverse")
    c2.selectbox("Model", list(MODEL_PRESETS), key="lab_model")
    c2.selectbox("Tokenizer", TOKENIZER_KINDS, key="lab_tokenizer",
                 help="'digits': one token per digit (what NTL needs); 'multidigit': numbers split into "
                      "multi-digit tokens, for contrast (CE and regression only)")
    c3.slider("NTL weight λ", *URL["lab_lambda"].bounds, step=0.05, key="lab_lambda")
    c3.text_input("Learning rate", key="lab_lr", help="e.g. 3e-3; a positive number up to 1")
    c4.select_slider("Batch size", BATCH_SIZES, key="lab_batch")
    c4.number_input("Steps per run", *URL["lab_steps"].bounds, step=10, key="lab_steps")
    c4.number_input("Evaluate every (steps)", *URL["lab_eval"].bounds, step=5, key="lab_eval",
                    help="Each evaluation answers the held-out questions of both test splits.")
    URL.write()


def _uploaded_text() -> str:
    """The uploaded data file's text (it travels to the training worker with the run's spec)."""
    upload = st.session_state.get("lab_file")
    if upload is None:
        raise ValueError("upload a question/answer .txt file first (task 'file')")
    data = upload.getvalue()
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file has {len(data)} bytes; the lab accepts at most {MAX_UPLOAD_BYTES}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text") from None


def _config_from_widgets(seed: int) -> TrainConfig:
    """The config the widgets ask for; ValueError with a message fit for the page."""
    raw_lr = st.session_state["lab_lr"]
    try:
        lr = float(raw_lr)
    except ValueError:
        raise ValueError(f"learning rate must be a number such as 3e-3, got {raw_lr!r}") from None
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"learning rate must be a positive finite number, got {raw_lr!r}")
    file_task = st.session_state["lab_task"] == "file"
    return PRESETS[st.session_state["lab_preset"]].replace(
        task=st.session_state["lab_task"], data_path=UPLOADED if file_task else None,
        interpolation_path=None, extrapolation_path=None,
        digits=int(st.session_state["lab_digits"]), reverse=bool(st.session_state["lab_reverse"]),
        model=st.session_state["lab_model"], tokenizer=st.session_state["lab_tokenizer"],
        ntl_weight=float(st.session_state["lab_lambda"]), lr=lr, batch_size=int(st.session_state["lab_batch"]),
        steps=int(st.session_state["lab_steps"]), eval_every=int(st.session_state["lab_eval"]), seed=seed,
    )


def _build_run(seed: int) -> LiveRun:
    """The comparison's spec (no model yet: the worker builds it once a slot is granted)."""
    base, losses = _config_from_widgets(seed), list(st.session_state["lab_losses"])
    if not losses:
        raise ValueError("choose at least one loss to train")
    if worker_kind() == "cpu":
        check_cpu_cost(base, len(losses))
    text = _uploaded_text() if base.task == "file" else None
    spec = RunSpec(build_lab, {"base": base, "losses": losses, "data_text": text}, threads=torch_threads_from_env())
    return LiveRun(spec, {"base": base, "losses": losses})


def _live_controls(seed: int) -> LiveControls:
    return LiveControls(
        key=LAB_KEY,
        build=lambda: _build_run(seed),
        busy_hint="replay a pre-trained run in the other tab",
        done_text=lambda run: f"Finished: {run.progress['total_steps']} steps per run.",
        noun="comparison",
        views_method=None,
    )


def controls(seed: int) -> None:
    """Start/Pause/Step/Reset and the message the last action left."""
    run: LiveRun | None = st.session_state.get(LAB_KEY)
    _live_controls(seed).buttons(started=bool(run and run.started),
                                 settings_changed=run is not None and _settings_changed(run, seed))


def _settings_changed(run: LiveRun, seed: int) -> bool:
    if st.session_state["lab_task"] == "file":
        return False  # comparing uploads is not worth it
    try:
        wanted = _config_from_widgets(seed)
    except ValueError:
        return True
    return (wanted, list(st.session_state["lab_losses"])) != (run.meta["base"], run.meta["losses"])


def live_panel(seed: int) -> None:
    """The live part: a fragment that reruns by itself while training (or while waiting for a slot)."""
    live = _live_controls(seed)
    st.fragment(run_every=live.run_every)(_live_body)(seed)


def _live_body(seed: int) -> None:
    """Ticks and redraws for up to ``FRAGMENT_RUN_S`` seconds, then ends; the timer starts the next run.

    Several ticks per fragment run, redrawn in place, because the gap between two timer-driven runs
    (about 1 s on a busy 2-core laptop, measured) would otherwise idle the worker for almost as long as
    a tick trains. A click (Pause, Reset, a setting) requests a full rerun, which Streamlit lets preempt
    this run at its next ``st`` call, i.e. after the current tick: Pause waits at most one tick.
    """
    live = _live_controls(seed)
    if live.poll_queue():
        return
    run: LiveRun | None = st.session_state.get(LAB_KEY)
    if run is None:
        st.info("Press **Start** to train one small model per chosen loss, side by side, on the same data.")
        return
    progress, curves, verdict_box = st.empty(), st.empty(), st.empty()
    samples = _samples_view(run)
    deadline = time.perf_counter() + FRAGMENT_RUN_S
    while True:
        if run.running:
            live.train_tick(run)
        with progress.container():
            _show_progress(run)
        curves.plotly_chart(curves_figure(run.histories()), width="stretch")
        with verdict_box.container():
            _show_verdict(run.histories(), seed)
        if samples is not None:
            samples(run)
        if not run.running or time.perf_counter() >= deadline:
            return


def _show_progress(run: LiveRun) -> None:
    p = run.progress
    c1, c2, c3 = st.columns(3)
    c1.metric("Step (each run)", f"{p.get('step', 0)} / {p.get('total_steps', run.meta['base'].steps)}")
    c2.metric("Device", p.get("device", "–"), help="Where the training worker runs the models.")
    tick = run.last_tick
    c3.metric("Steps/s (all runs, last tick)", f"{tick.steps_per_second:.1f}" if tick else "–",
              help="Optimiser steps of all runs together per second of the worker's wall time, evaluations "
                   "included.")
    st.progress(min(1.0, p.get("step", 0) / max(1, p.get("total_steps", 1))))


def _show_verdict(histories: dict, seed: int) -> None:
    v = verdict(histories, seed)
    {True: st.success, False: st.warning, None: st.info}[v.ntl_ahead]("  \n".join(v.lines))
    if v.ntl_ahead is False:
        st.caption("NTL did not win on this seed. The paper's claim is about averages; one seed can go either way. "
                   "Try other seeds, or run `python -m ntl_core train --seeds 0,1,2,3,4` for a confidence interval.")


def _samples_view(run: LiveRun):
    """Draw the sample widgets once; return a function that (re)draws the table and heatmap when they change.

    The answers come from the training worker. While training they change at each new evaluation
    (answers between evaluations are not worth a tick's time); when paused, at every step. Returns
    None before the first step, and a caption instead once the model is freed (finished runs keep
    only their curves).
    """
    if not run.started:
        return None
    if not run.has_model:
        st.caption("Sample answers and the digit heatmap need the model, which was freed when the run ended "
                   "(so the server keeps memory for other students). The curves above are complete.")
        return None
    splits = run.progress.get("splits", ["interpolation"])
    token_runs = [loss for loss in run.meta["losses"] if loss != "reg"]  # reg has no digit distribution
    left, right = st.columns(2)
    split = left.radio("Test questions", splits, horizontal=True, key="lab_split",
                       help="interpolation: operand lengths seen in training; extrapolation: one digit longer")
    table = run.cached(f"samples-{split}", lambda: run.query("samples", split, N_SAMPLES))
    pairs = dict(zip(table["question"], table["true answer"]))
    question = right.selectbox("Question for the heatmap", list(pairs), key="lab_heat_q") \
        if token_runs and pairs else None
    table_box, heat_box, caption_box = st.empty(), st.empty(), st.empty()
    shown: dict[str, object] = {}

    def draw(run: LiveRun) -> None:
        evals = [row["step"] for row in eval_rows(next(iter(run.histories().values()), []))]
        version = (evals[-1] if evals else 0) if run.running else run.progress.get("step")
        if shown.get("version") == version or not run.has_model:
            return
        shown["version"] = version
        table = run.cached(f"samples-{split}", lambda: run.query("samples", split, N_SAMPLES))
        table_box.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
        if question is None or question not in pairs:
            return
        fig = run.cached(f"heat-{question}", lambda: digit_heatmaps(
            *_heat_inputs(run.query("heatmap", question, pairs[question]), question)))
        heat_box.plotly_chart(fig, width="stretch")
        caption_box.caption("Rows: answer positions in the order the model writes them"
                            + (" (units first)." if run.meta["base"].reverse else "."))

    return draw


def _heat_inputs(answer: tuple[dict, str], question: str) -> tuple[dict, str, str]:
    """The worker's ``(probs per loss, written answer)`` as :func:`digit_heatmaps`'s arguments."""
    probs, written = answer
    return probs, question, written


def _is_ntl_run(folder: Path) -> bool:
    """A run directory, or a comparison folder of run directories (what ``--out`` writes)."""
    if (folder / CONFIG).is_file():
        return True
    try:
        return any((sub / CONFIG).is_file() for sub in folder.iterdir() if sub.is_dir() and not sub.is_symlink())
    except OSError:
        return False


def _ntl_member(parts: tuple[str, ...]) -> bool:
    """Members of an uploaded zip the replay reads: configs and metrics, never the checkpoint folder."""
    return parts[-1] in (CONFIG, METRICS) and CHECKPOINT not in parts[:-1]


def replay_tab() -> None:
    """Replay a run directory from the class's run folder, or an uploaded zipped one."""
    st.markdown("A teacher can pre-train before class (`python -m ntl_core train … --out runs/NAME`, e.g. on a GPU "
                "box) and replay the curves here; students can upload a zipped run directory.")
    root = runs_root()
    names = list_runs(root, _is_ntl_run)
    c1, c2 = st.columns(2)
    choice = c1.selectbox("Run in the class's run folder", names, index=None, key="lab_replay_dir",
                          placeholder="choose a run" if names else f"no runs in {root.name}/ yet")
    upload = c2.file_uploader("…or upload a zipped run directory", type=["zip"], key="lab_replay_zip")
    if st.button("Open run", key="lab_replay_open"):
        try:
            if upload is not None:
                records = load_upload(upload.getvalue(), _ntl_member, _is_ntl_run, load_runs)
            elif choice is not None:
                records = open_listed(root, choice, _is_ntl_run, load_runs)
            else:
                raise ValueError("choose a run or upload a zipped run directory")
            st.session_state["lab_replay"] = records
        except (ValueError, OSError) as err:
            st.session_state.pop("lab_replay", None)
            st.error(f"Cannot open the run: {err}")
    records = st.session_state.get("lab_replay")
    if not records:
        return
    seeds = sorted({rec.config.seed for rec in records})
    seed = st.selectbox("Seed", seeds, key="lab_replay_seed") if len(seeds) > 1 else seeds[0]
    histories = {rec.config.loss: rec.history for rec in records if rec.config.seed == seed}
    cfg = next(rec.config for rec in records if rec.config.seed == seed)
    st.caption(f"{cfg.task}, {cfg.digits} digits, model {cfg.model}, λ={cfg.ntl_weight:g}, lr={cfg.lr:g}, "
               f"batch {cfg.batch_size}; runs: {', '.join(loss_label(k) for k in histories)}")
    last = max((row["step"] for hist in histories.values() for row in hist), default=0)
    upto = st.slider("Replay up to step", 0, max(1, int(last)), max(1, int(last)), key="lab_replay_upto")
    cut = {loss: [row for row in hist if row["step"] <= upto] for loss, hist in histories.items()}
    st.plotly_chart(curves_figure(cut), width="stretch", key="lab_replay_curves")
    _show_verdict(cut, seed)
    if len(seeds) > 1:
        wins = [verdict({r.config.loss: r.history for r in records if r.config.seed == s}, s).ntl_ahead
                for s in seeds]
        st.write(f"At the final evaluation, NTL is ahead of CE on **{sum(w is True for w in wins)} of "
                 f"{len(seeds)}** seeds.")
