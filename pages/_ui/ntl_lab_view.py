"""Widgets of the training-lab page: settings, Start/Pause/Step/Reset, the live fragment and the replay tab.

Per-session state lives in ``st.session_state`` (the :class:`LabSession` under ``LAB_KEY``); the
shareable settings are mirrored in ``st.query_params``. Training only happens in :func:`_live_body`
(one bounded tick per fragment run) or in the Step button, each time holding a server-wide slot.
"""
from __future__ import annotations

import math
import tempfile
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
from ntl_core.train_config import STUDENT_PRESETS
from ntl_core.training import LOSSES, PRESETS, TrainConfig, load_runs
from pages._ui.live_training import TICK_INTERVAL_S, LiveControls
from pages._ui.ntl_lab import LabSession, verdict
from pages._ui.run_dirs import list_runs, load_upload, open_listed, runs_root
from pages._ui.url_spec import UrlSpec, choice, choices, flag, integer, number, text

LAB_KEY = "lab"  # also the prefix of the button keys (lab_start, ...) and of the message key
FRAGMENT_RUN_S = 15.0  # ticks per fragment run: see _live_body
BATCH_SIZES = (8, 16, 32, 64, 128, 256)  # the cap keeps 30 students' runs within a laptop's memory
MAX_UPLOAD_BYTES = 5_000_000
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
    c1.slider("Digits per operand", URL["lab_digits"].lo, URL["lab_digits"].hi, key="lab_digits", disabled=file_task)
    c1.checkbox("Answers reversed (units digit first)", key="lab_reverse")
    c2.selectbox("Model", list(MODEL_PRESETS), key="lab_model")
    c2.selectbox("Tokenizer", TOKENIZER_KINDS, key="lab_tokenizer",
                 help="'digits': one token per digit (what NTL needs); 'multidigit': numbers split into "
                      "multi-digit tokens, for contrast (CE and regression only)")
    c3.slider("NTL weight λ", URL["lab_lambda"].lo, URL["lab_lambda"].hi, step=0.05, key="lab_lambda")
    c3.text_input("Learning rate", key="lab_lr", help="e.g. 3e-3; a positive number up to 1")
    c4.select_slider("Batch size", BATCH_SIZES, key="lab_batch")
    c4.number_input("Steps per run", URL["lab_steps"].lo, URL["lab_steps"].hi, step=10, key="lab_steps")
    c4.number_input("Evaluate every (steps)", URL["lab_eval"].lo, URL["lab_eval"].hi, step=5, key="lab_eval",
                    help="Each evaluation answers the held-out questions of both test splits.")
    URL.write()


def _uploaded_path() -> str:
    """Save the uploaded data file where the trainer can read it; ValueError if there is none or it is too big."""
    upload = st.session_state.get("lab_file")
    if upload is None:
        raise ValueError("upload a question/answer .txt file first (task 'file')")
    data = upload.getvalue()
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file has {len(data)} bytes; the lab accepts at most {MAX_UPLOAD_BYTES}")
    folder = Path(st.session_state.setdefault("lab_tmpdir", tempfile.mkdtemp(prefix="ntl_lab_")))
    path = folder / "train.txt"
    path.write_bytes(data)
    return str(path)


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
        task=st.session_state["lab_task"], data_path=_uploaded_path() if file_task else None,
        interpolation_path=None, extrapolation_path=None,
        digits=int(st.session_state["lab_digits"]), reverse=bool(st.session_state["lab_reverse"]),
        model=st.session_state["lab_model"], tokenizer=st.session_state["lab_tokenizer"],
        ntl_weight=float(st.session_state["lab_lambda"]), lr=lr, batch_size=int(st.session_state["lab_batch"]),
        steps=int(st.session_state["lab_steps"]), eval_every=int(st.session_state["lab_eval"]), seed=seed,
    )


def _live_controls(seed: int) -> LiveControls:
    return LiveControls(
        key=LAB_KEY,
        build=lambda: LabSession(_config_from_widgets(seed), st.session_state["lab_losses"]),
        busy_hint="replay a pre-trained run in the other tab",
        done_text=lambda lab: f"Finished: {lab.total_steps} steps per run.",
        noun="comparison",
    )


def controls(seed: int) -> None:
    """Start/Pause/Step/Reset and the message the last action left."""
    lab: LabSession | None = st.session_state.get(LAB_KEY)
    _live_controls(seed).buttons(started=bool(lab and lab.step),
                                 settings_changed=lab is not None and _settings_changed(lab, seed))


def _settings_changed(lab: LabSession, seed: int) -> bool:
    if st.session_state["lab_task"] == "file":
        return False  # re-saving the upload just to compare is not worth it
    try:
        wanted = _config_from_widgets(seed)
    except ValueError:
        return True
    return (wanted, list(st.session_state["lab_losses"])) != (lab.base, lab.losses)


def live_panel(seed: int) -> None:
    """The live part: a fragment that, while training, reruns by itself every ``TICK_INTERVAL_S``."""
    lab = st.session_state.get(LAB_KEY)
    st.fragment(run_every=TICK_INTERVAL_S if lab is not None and lab.running else None)(_live_body)(seed)


def _live_body(seed: int) -> None:
    """Ticks and redraws for up to ``FRAGMENT_RUN_S`` seconds, then ends; the timer starts the next run.

    Several ticks per fragment run, redrawn in place, because the gap between two timer-driven runs
    (about 1 s on a busy 2-core laptop, measured) would otherwise idle the CPU for almost as long as a
    tick trains. A click (Pause, Reset, a setting) requests a full rerun, which Streamlit lets preempt
    this run at its next ``st`` call, i.e. after the current tick: Pause waits at most one tick.
    """
    lab: LabSession | None = st.session_state.get(LAB_KEY)
    if lab is None:
        st.info("Press **Start** to train one small model per chosen loss, side by side, on the same data.")
        return
    progress, curves, verdict_box = st.empty(), st.empty(), st.empty()
    live = _live_controls(seed)
    samples = _samples_view(lab)
    deadline = time.perf_counter() + FRAGMENT_RUN_S
    while True:
        if lab.running:
            live.train_tick(lab)
        with progress.container():
            _show_progress(lab)
        curves.plotly_chart(curves_figure(lab.histories()), width="stretch")
        with verdict_box.container():
            _show_verdict(lab.histories(), seed)
        if samples is not None:
            samples(lab)
        if not lab.running or time.perf_counter() >= deadline:
            return


def _show_progress(lab: LabSession) -> None:
    c1, c2, c3 = st.columns(3)
    c1.metric("Step (each run)", f"{lab.step} / {lab.total_steps}")
    c2.metric("Device", lab.device)
    tick = lab.last_tick
    c3.metric("Steps/s (all runs, last tick)", f"{tick.steps_per_second:.1f}" if tick else "–",
              help="Optimiser steps of all runs together per second of wall time, evaluations included.")
    st.progress(min(1.0, lab.step / lab.total_steps))


def _show_verdict(histories: dict, seed: int) -> None:
    v = verdict(histories, seed)
    {True: st.success, False: st.warning, None: st.info}[v.ntl_ahead]("  \n".join(v.lines))
    if v.ntl_ahead is False:
        st.caption("NTL did not win on this seed. The paper's claim is about averages; one seed can go either way. "
                   "Try other seeds, or run `python -m ntl_core train --seeds 0,1,2,3,4` for a confidence interval.")


def _sample_rows(lab: LabSession, split: str) -> pd.DataFrame:
    first = next(iter(lab.trainers.values()))
    pairs = first.sample_questions(N_SAMPLES, split)
    table = {"question": [q for q, _ in pairs], "true answer": [a for _, a in pairs]}
    for loss, tr in lab.trainers.items():
        answers = tr.predict([q for q, _ in pairs])
        table[loss_label(loss)] = [f"{got} {'✓' if got == a else '✗'}" for got, (_, a) in zip(answers, pairs)]
    return pd.DataFrame(table)


def _samples_view(lab: LabSession):
    """Draw the sample widgets once; return a function that (re)draws the table and heatmap when they change.

    While training they change at each new evaluation (answers between evaluations are not worth a
    tick's time); when paused, at every step. Returns None before the first step.
    """
    if not lab.step:
        return None
    first = next(iter(lab.trainers.values()))
    token_runs = {loss: tr for loss, tr in lab.trainers.items() if loss != "reg"}  # reg has no digit distribution
    left, right = st.columns(2)
    split = left.radio("Test questions", first.available_splits, horizontal=True, key="lab_split",
                       help="interpolation: operand lengths seen in training; extrapolation: one digit longer")
    pairs = first.sample_questions(N_SAMPLES, split)
    question = right.selectbox("Question for the heatmap", [q for q, _ in pairs], key="lab_heat_q") \
        if token_runs and pairs else None
    table_box, heat_box, caption_box = st.empty(), st.empty(), st.empty()
    shown: dict[str, object] = {}

    def draw(lab: LabSession) -> None:
        evals = [row["step"] for row in eval_rows(next(iter(lab.histories().values())))]
        version = (evals[-1] if evals else 0) if lab.running else lab.step
        if shown.get("version") == version:
            return
        shown["version"] = version
        table = lab.cached(f"samples-{split}", version, lambda: _sample_rows(lab, split))
        table_box.dataframe(table, hide_index=True, width="stretch")
        if question is None:
            return
        answer = dict(pairs)[question]
        fig = lab.cached(f"heat-{question}", version, lambda: digit_heatmaps(
            {loss: tr.answer_digit_probs(question) for loss, tr in token_runs.items()}, question,
            first.task.to_target(answer)))
        heat_box.plotly_chart(fig, width="stretch")
        caption_box.caption("Rows: answer positions in the order the model writes them"
                            + (" (units first)." if lab.base.reverse else "."))

    return draw


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
