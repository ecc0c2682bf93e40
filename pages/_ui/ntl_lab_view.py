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
from ntl_core.deepmind import DIFFICULTIES, MODULE_LABELS, TASK_PREFIX, GeneratorUnavailable, example_questions
from ntl_core.train_config import TASKS
from ntl_core.runs import CHECKPOINT, CONFIG, METRICS
from ntl_core.presets import PRESET_INFO, STUDENT_PRESETS
from ntl_core.training import LOSSES, PRESETS, TrainConfig, load_runs
from ntl_core.design_search import CONFIRMATION_SEEDS, SELECTION_SEEDS, analyse
from ntl_core.verdict import compare, steps_until_table
from labkit.untrusted import is_regular_file
from labkit.workers import RunSpec, WorkerError
from pages._ui.live_run import LiveRun, ModelFreed
from pages._ui.live_training import LiveControls, in_fragment_run, show_machine_note
from pages._ui.common import worker_kind
from pages._ui.ntl_lab import build_lab, by_key, check_cpu_cost
from pages._ui.plain_text import plain
from pages._ui.redraw import Redraw
from pages._ui.run_dirs import list_runs, load_upload, open_listed, runs_root
from pages._ui.slots import torch_threads_from_env
from pages._ui.url_spec import UrlSpec, choice, choices, flag, integer, number, text, whole

LAB_KEY = "lab"  # also the prefix of the button keys (lab_start, ...) and of the message key
FRAGMENT_RUN_S = 15.0  # ticks per fragment run: see _live_body
CURVES_EVERY_S = 3.0  # while training, the curves are redrawn at least this often (and at every evaluation)
BATCH_SIZES = (8, 16, 32, 64, 128, 256)  # the cap keeps 30 students' runs within a laptop's memory
MAX_UPLOAD_BYTES = 5_000_000
UPLOADED = "uploaded.txt"  # stands for the upload in the page's config; the worker writes the real file
N_SAMPLES = 8
MAX_SEEDS = 5
GALLERY = Path(__file__).resolve().parents[2] / "gallery" / "ntl"  # prepared runs shipped with the app
GALLERY_PREFIX = "gallery/"

# The shareable settings, and the bounds their widgets use (a link can ask for a test preset).
URL = UrlSpec(
    choice("lab_preset", "preset", PRESETS),
    choice("lab_task", "task", [t for t in TASKS if t != "file"]),
    integer("lab_digits", "digits", 1, 6),
    choice("lab_difficulty", "difficulty", DIFFICULTIES),
    flag("lab_reverse", "reverse"),
    choice("lab_model", "model", MODEL_PRESETS),
    choice("lab_tokenizer", "tok", TOKENIZER_KINDS),
    choices("lab_losses", "losses", LOSSES),
    number("lab_lambda", "lam", 0.0, 2.0),
    text("lab_lr", "lr"),  # checked on Start, with a message
    choice("lab_batch", "bs", BATCH_SIZES, whole),
    integer("lab_steps", "steps", 10, 20_000),
    integer("lab_eval", "eval", 5, 1000),
    integer("lab_k", "k", 1, MAX_SEEDS),
)


def _clip(key: str, value: int) -> int:
    return int(min(max(value, URL[key].lo), URL[key].hi))


SEARCH_JSON = Path(__file__).resolve().parents[2] / "docs" / "ntl_design_search.json"


@st.cache_data(show_spinner=False)
def _search_results(path: str, mtime: float) -> dict:
    return analyse(path)


def _ratio_text(stat: dict) -> str:
    r = stat["log_mape_ratio"]
    ci = f" ± {r['ci95']:.2f}" if math.isfinite(r["ci95"]) else ""
    return f"ln(MAPE_CE / MAPE_WAS) = {r['mean']:+.2f}{ci} (n = {stat['n']})"


def search_summary() -> None:
    """What the pre-registered design search found, read from the committed raw results."""
    if not SEARCH_JSON.exists():
        return
    results = _search_results(str(SEARCH_JSON), SEARCH_JSON.stat().st_mtime)
    with st.expander("What the pre-registered search found (CPU, 1000 steps, CE vs CE + NTL-WAS)"):
        st.markdown(f"Eight settings, one factor at a time; selection on seeds {list(SELECTION_SEEDS)}, the claim "
                    f"re-measured on unseen seeds {list(CONFIRMATION_SEEDS)}. Headline: per seed "
                    "ln(MAPE_CE / MAPE_WAS) on the interpolation split, > 0 when NTL has the lower error; mean ± 95 % CI. "
                    "Protocol and full table: `docs/ntl_design_search_protocol.md`, `docs/ntl_design_search.md`.")
        st.dataframe(pd.DataFrame([{
            "setting": s["setting"], "selection": _ratio_text(s),
            "EM CE / WAS": f"{s['exact_match']['ce']['mean']:.3f} / {s['exact_match']['was']['mean']:.3f}",
        } for s in results["selection"]]), hide_index=True, width="stretch")
        for s in results["confirmation"]:
            st.markdown(f"**Confirmation, {s['setting']}:** {_ratio_text(s)}; exact match CE "
                        f"{s['exact_match']['ce']['mean']:.3f}, WAS {s['exact_match']['was']['mean']:.3f}.")


def _apply_preset() -> None:
    """Fill every setting from the chosen preset (a widget callback, so it runs before the widgets draw)."""
    cfg = PRESETS[st.session_state["lab_preset"]]
    st.session_state.update({
        "lab_task": cfg.task, "lab_digits": _clip("lab_digits", cfg.digits), "lab_reverse": cfg.reverse,
        "lab_difficulty": cfg.difficulty,
        "lab_model": cfg.model, "lab_tokenizer": cfg.tokenizer, "lab_lambda": float(cfg.ntl_weight),
        "lab_lr": f"{cfg.lr:g}", "lab_batch": min(BATCH_SIZES, key=lambda b: abs(b - cfg.batch_size)),
        "lab_steps": _clip("lab_steps", cfg.steps), "lab_eval": _clip("lab_eval", cfg.eval_every or 10),
        "lab_k": _clip("lab_k", len(PRESET_INFO[st.session_state["lab_preset"]].seeds)),
        "lab_losses": list(PRESET_INFO[st.session_state["lab_preset"]].losses),
    })


def init_state() -> None:
    """First run of a session: preset defaults, then whatever a shared link overrides."""
    if "lab_preset" in st.session_state:
        return
    values, warnings = URL.parse(st.query_params.to_dict())
    st.session_state["lab_preset"] = values.pop("lab_preset", next(iter(PRESETS)))
    _apply_preset()
    st.session_state.update(values)
    for warning in warnings:
        st.warning(warning)


def settings() -> None:
    """Draw the settings widgets (bounded, so one student cannot exhaust the server)."""
    current = st.session_state["lab_preset"]
    offered = [*STUDENT_PRESETS, *([current] if current not in STUDENT_PRESETS else [])]  # test presets only by link
    st.selectbox("Preset", offered, key="lab_preset", on_change=_apply_preset,
                 format_func=lambda key: PRESET_INFO[key].label,
                 help="Fills every setting below. Each preset carries the claim it was made for; see the note below.")
    preset = PRESET_INFO[st.session_state["lab_preset"]]
    st.caption(f"Headline metric: **{preset.headline_metric.replace('_', ' ')}** (interpolation). Expected for "
               f"CE + NTL-WAS vs CE: **{preset.expected or 'not measured'}** — {preset.evidence}.")
    l1, l2 = st.columns([3, 1])
    l1.multiselect("Losses to compare (one model per loss and seed, same data per seed)", LOSSES,
                   format_func=loss_label, key="lab_losses")
    l2.slider("Seeds per loss", 1, MAX_SEEDS, key="lab_k",
              help="k seeds (the sidebar seed and the next k−1). The verdict uses the mean and a 95 % CI of the "
                   "per-seed differences; with one seed there is no interval. Runs train side by side, so k seeds "
                   "take about k times as long.")
    c1, c2, c3, c4 = st.columns(4)
    c1.selectbox("Task", TASKS, key="lab_task", format_func=task_label,
                 help="Arithmetic on n-digit operands; DeepMind Mathematics modules (the NTL paper's data, "
                      "generated here by DeepMind's own generator); or 'file': your own question/answer .txt file")
    task = st.session_state["lab_task"]
    file_task, dm_task = task == "file", task.startswith(TASK_PREFIX)
    if file_task:
        c1.file_uploader("Question/answer file (.txt, alternating lines)", type=["txt"], key="lab_file")
    # Drawn even when unused: a widget that is not drawn loses its value in session_state.
    c1.slider("Digits per operand", *URL["lab_digits"].bounds, key="lab_digits", disabled=file_task or dm_task)
    c1.selectbox("Training difficulty", list(DIFFICULTIES), key="lab_difficulty", disabled=not dm_task,
                 help="DeepMind's generator splits its training range in three; 'all' is the whole range. The test "
                      "questions are the generator's own interpolation and extrapolation sets.")
    if dm_task:
        dm_examples(task)
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


def task_label(task: str) -> str:
    """The picker's name for a task: DeepMind modules by what they ask, with their id."""
    if task.startswith(TASK_PREFIX):
        module = task[len(TASK_PREFIX):]
        return f"DeepMind: {MODULE_LABELS[module]} ({module})"
    return "your own file" if task == "file" else task


@st.cache_data(show_spinner="Asking DeepMind's generator for example questions…", max_entries=16)
def _examples(module: str) -> list[tuple[str, str]]:
    return example_questions(module, 3)


def dm_examples(task: str) -> None:
    """Three of the task's interpolation questions with their answers, as students will read them."""
    try:
        pairs = _examples(task[len(TASK_PREFIX):])
    except GeneratorUnavailable as err:
        st.error(str(err))
        return
    st.caption("Test questions look like: " + "; ".join(f"*{q}* → **{a}**" for q, a in pairs))


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
        difficulty=st.session_state["lab_difficulty"],
        model=st.session_state["lab_model"], tokenizer=st.session_state["lab_tokenizer"],
        ntl_weight=float(st.session_state["lab_lambda"]), lr=lr, batch_size=int(st.session_state["lab_batch"]),
        steps=int(st.session_state["lab_steps"]), eval_every=int(st.session_state["lab_eval"]), seed=seed,
    )


def _seeds(seed: int) -> list[int]:
    return [seed + i for i in range(int(st.session_state["lab_k"]))]


def _build_run(seed: int) -> LiveRun:
    """The comparison's spec (no model yet: the worker builds it once a slot is granted)."""
    base, losses = _config_from_widgets(seed), list(st.session_state["lab_losses"])
    if not losses:
        raise ValueError("choose at least one loss to train")
    if worker_kind() == "cpu":
        check_cpu_cost(base, len(losses))
    text = _uploaded_text() if base.task == "file" else None
    seeds = _seeds(seed)
    spec = RunSpec(build_lab, {"base": base, "losses": losses, "data_text": text, "seeds": seeds},
                   threads=torch_threads_from_env())
    return LiveRun(spec, {"base": base, "losses": losses, "seeds": seeds, "preset": st.session_state["lab_preset"]})


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
    # a finished comparison offers Start (which says to press Reset), not Resume
    _live_controls(seed).buttons(started=bool(run and run.started and not run.finished),
                                 settings_changed=run is not None and _settings_changed(run, seed))


def _settings_changed(run: LiveRun, seed: int) -> bool:
    if st.session_state["lab_task"] == "file":
        return False  # comparing uploads is not worth it
    try:
        wanted = _config_from_widgets(seed)
    except ValueError:
        return True
    return ((wanted, list(st.session_state["lab_losses"]), _seeds(seed))
            != (run.meta["base"], run.meta["losses"], run.meta["seeds"]))


def live_panel(seed: int) -> None:
    """The live part: a fragment that reruns by itself while training (or while waiting for a slot)."""
    live = _live_controls(seed)
    run: LiveRun | None = st.session_state.get(LAB_KEY)
    _view_options(run)
    st.fragment(run_every=live.run_every)(_live_body)(seed)


def _view_options(run: LiveRun | None) -> None:
    """Widgets that change only the view, drawn outside the fragment: a change reruns the page at once,
    while a widget inside the fragment waited for the fragment's ~15 s training loop to end."""
    c1, c2 = st.columns(2)
    c1.checkbox("Show every seed's curve", key="lab_show_seeds")
    c2.number_input("Sample efficiency: steps until MAPE below (%)", 0.1, 100.0, 5.0, step=0.5, key="lab_mape_x",
                    help="The paper's sample-efficiency measure: the first evaluation at which the interpolation "
                         "MAPE is below this, per loss, mean ± 95 % CI over the seeds that got there.")
    if run is None or not run.started or not run.has_model:
        return
    left, right = st.columns(2)
    split = left.radio("Test questions", run.progress.get("splits", ["interpolation"]), horizontal=True,
                       key="lab_split",
                       help="interpolation: operand lengths seen in training; extrapolation: one digit longer")
    if any(loss != "reg" for loss in run.meta["losses"]):  # reg has no digit distribution
        table = run.cached(f"samples-{split}", lambda: run.query("samples", split, N_SAMPLES))
        right.selectbox("Question for the heatmap (first seed)", table["question"], key="lab_heat_q")


def _live_body(seed: int) -> None:
    """Ticks and redraws for up to ``FRAGMENT_RUN_S`` seconds, then ends; the timer starts the next run.

    Several ticks per fragment run, redrawn in place, because the gap between two timer-driven runs
    (about 1 s on a busy 2-core laptop, measured) would otherwise idle the worker for almost as long as
    a tick trains (only in the fragment's own runs: a full-page run ticks once). A click (Pause, Reset,
    a setting) requests a full rerun, which Streamlit lets preempt this run at its next ``st`` call, i.e.
    after the current tick: Pause waits at most one tick.
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
    redraw = Redraw(CURVES_EVERY_S)
    while True:
        if run.running:
            live.train_tick(run)
        with progress.container():
            _show_progress(run)
        # The figure is the web server's biggest cost per tick (measured: 46 % of a core for 4 training pages and
        # 6 waiting ones), so while training it is redrawn (in place) at a new evaluation or every CURVES_EVERY_S s.
        if redraw.due(len(eval_rows(next(iter(run.histories().values()), []))), run.running):
            histories = by_key(run.histories())
            curves.plotly_chart(curves_figure(histories, run.meta["base"].steps,
                                              st.session_state.get("lab_show_seeds")), width="stretch")
            with verdict_box.container():
                _show_verdict(histories, PRESET_INFO[run.meta["preset"]].headline_metric)
        if samples is not None:
            samples(run)
        # A full-page run (Start, a changed setting) ticks once: looping there would hold back the tabs drawn
        # after this panel (Replay) for FRAGMENT_RUN_S; the fragment's own timer-driven runs do the looping.
        if not run.running or not in_fragment_run() or time.perf_counter() >= deadline:
            return


def _show_progress(run: LiveRun) -> None:
    p = run.progress
    c1, c2, c3 = st.columns(3)
    c1.metric("Step (each run)", f"{p.get('step', 0)} / {p.get('total_steps', run.meta['base'].steps)}")
    c2.metric("Device", p.get("path", "–"),
              help="Where the training worker runs the models, and how: on CUDA one batched (vmapped) model for "
                   "all runs of GPT-2 token losses, else a loop over the runs.")
    tick = run.last_tick
    runs = len(run.meta["losses"]) * len(run.meta["seeds"])
    c3.metric("Steps/s (last tick): all runs · per run",
              f"{tick.steps_per_second:.1f} · {tick.steps_per_second / runs:.1f}" if tick else "–",
              help=f"Optimiser steps of all {runs} runs together, and per run, per second of the worker's wall time, "
                   "evaluations included. Runs side by side share the CPU, so the per-run rate falls with every "
                   "seed and loss you add.")
    st.progress(min(1.0, p.get("step", 0) / max(1, p.get("total_steps", 1))))
    show_machine_note(run)


def _show_verdict(histories: dict, headline: str) -> None:
    """The verdict over seeds on the preset's headline metric, and the steps-until-MAPE table."""
    v = compare(histories, headline)
    {"success": st.success, "warning": st.warning, "info": st.info}[v.box]("  \n".join(v.lines))
    if v.losses and v.box != "success":
        st.caption("A lead counts only when the 95 % CI of the per-seed differences excludes 0, and not at 0 vs 0 "
                   "exact match or while another metric is significantly worse. More seeds narrow the interval: "
                   "`python -m ntl_core train --preset ID --seeds 100,101,102,103,104`.")
    x = float(st.session_state.get("lab_mape_x", 5.0))
    table = steps_until_table(histories, x / 100)
    if any(row["n"] for row in table.values()) and v.step is not None:
        st.dataframe(pd.DataFrame([{
            "loss": loss_label(loss), f"steps until MAPE < {x:g} % (mean ± 95 % CI)":
                "not reached" if not row["reached"] else
                f"{row['mean']:.0f}" + (f" ± {row['ci95']:.0f}" if math.isfinite(row["ci95"]) else ""),
            "seeds that got there": f"{row['reached']} of {row['n']}"} for loss, row in table.items()]),
            hide_index=True, width="stretch")


def _samples_view(run: LiveRun):
    """Draw the sample widgets once; return a function that (re)draws the table and heatmap when they change.

    The answers come from the training worker. While training they change at each new evaluation
    (answers between evaluations are not worth a tick's time); when paused, at every step. Returns
    None before the first step, and a caption instead once the model is freed (finished runs keep
    only their curves).
    """
    if not run.started:
        return None
    freed = ("Sample answers and the digit heatmap need the model, which was freed when the run ended or "
             "stopped (so the server keeps memory for other students). The curves above are complete.")
    if not run.has_model:
        st.caption(freed)
        return None
    split = st.session_state.get("lab_split") or "interpolation"
    try:
        table = run.cached(f"samples-{split}", lambda: run.query("samples", split, N_SAMPLES))
    except (ModelFreed, WorkerError, ValueError):  # the worker went away meanwhile (idle, crashed)
        st.caption(freed)
        return None
    pairs = dict(zip(table["question"], table["true answer"]))
    question = st.session_state.get("lab_heat_q")
    table_box, heat_box, caption_box = st.empty(), st.empty(), st.empty()
    shown: dict[str, object] = {}

    def draw(run: LiveRun) -> None:
        evals = [row["step"] for row in eval_rows(next(iter(run.histories().values()), []))]
        version = (evals[-1] if evals else 0) if run.running else run.progress.get("step")
        if shown.get("version") == version or not run.has_model:
            return
        shown["version"] = version
        try:
            table = run.cached(f"samples-{split}", lambda: run.query("samples", split, N_SAMPLES))
            fig = None if question is None or question not in pairs else run.cached(
                f"heat-{question}", lambda: digit_heatmaps(
                    *_heat_inputs(run.query("heatmap", question, pairs[question]), question)))
        except (ModelFreed, WorkerError, ValueError):
            table_box.caption(freed)
            return
        table_box.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
        if fig is None:
            return
        heat_box.plotly_chart(fig, width="stretch")
        caption_box.caption("Rows: answer positions in the order the model writes them"
                            + (" (units first)." if run.meta["base"].reverse else "."))

    return draw


def _heat_inputs(answer: tuple[dict, str], question: str) -> tuple[dict, str, str]:
    """The worker's ``(probs per loss, written answer)`` as :func:`digit_heatmaps`'s arguments."""
    probs, written = answer
    return probs, question, written


def _is_ntl_run(folder: Path) -> bool:
    """A run directory, or a comparison folder of run directories (what ``--out`` writes); links not followed."""
    if is_regular_file(folder / CONFIG):
        return True
    try:
        return any(is_regular_file(sub / CONFIG) for sub in folder.iterdir() if sub.is_dir() and not sub.is_symlink())
    except OSError:
        return False


def _ntl_member(parts: tuple[str, ...]) -> bool:
    """Members of an uploaded zip the replay reads: configs and metrics, never the checkpoint folder."""
    return parts[-1] in (CONFIG, METRICS) and CHECKPOINT not in parts[:-1]


def _open_listed_run(name: str) -> list:
    """A gallery entry (``gallery/NAME``) or a run in the class's run folder, as records."""
    if name.startswith(GALLERY_PREFIX):
        return open_listed(GALLERY, name[len(GALLERY_PREFIX):], _is_ntl_run, load_runs)
    return open_listed(runs_root(), name, _is_ntl_run, load_runs)


def replay_tab() -> None:
    """Replay a prepared gallery run, a run from the class's run folder, or an uploaded zipped one."""
    st.markdown("The **gallery** holds prepared comparisons (histories only, several seeds) so a class on a CPU laptop "
                "can see a longer experiment with its confidence interval. A teacher can add runs "
                "(`python -m ntl_core train --preset ID --seeds 0,1,2 --out runs/NAME`, e.g. on a GPU box); students "
                "can upload a zipped run directory.")
    root = runs_root()
    names = [GALLERY_PREFIX + n for n in list_runs(GALLERY, _is_ntl_run)] + list_runs(root, _is_ntl_run)
    c1, c2 = st.columns(2)
    choice = c1.selectbox("Prepared run (gallery) or a run in the class's run folder", names, index=None,
                          key="lab_replay_dir", placeholder="choose a run" if names else f"no runs in {root.name}/ yet")
    upload = c2.file_uploader("…or upload a zipped run directory", type=["zip"], key="lab_replay_zip")
    if st.button("Open run", key="lab_replay_open"):
        try:
            if upload is not None:
                records = load_upload(upload.getvalue(), _ntl_member, _is_ntl_run, load_runs)
            elif choice is not None:
                records = _open_listed_run(choice)
            else:
                raise ValueError("choose a run or upload a zipped run directory")
            st.session_state["lab_replay"] = records
        except (ValueError, OSError) as err:
            st.session_state.pop("lab_replay", None)
            st.error(f"Cannot open the run: {plain(err)}")
    records = st.session_state.get("lab_replay")
    if not records:
        return
    histories = {(rec.config.loss, rec.config.seed): rec.history for rec in records}
    cfg = records[0].config
    seeds = sorted({seed for _, seed in histories})
    size = f"difficulty {cfg.difficulty}" if cfg.task.startswith(TASK_PREFIX) else f"{cfg.digits} digits"
    st.caption(f"{task_label(cfg.task)}, {size}, {'reversed' if cfg.reverse else 'normal'} answers, model {cfg.model}, "
               f"λ={cfg.ntl_weight:g}, lr={cfg.lr:g}, batch {cfg.batch_size}"
               + (f", fixed set of {cfg.train_size} pairs" if cfg.train_size else ", fresh pairs")
               + f"; runs: {', '.join(dict.fromkeys(loss_label(k) for k, _ in histories))}; seeds {seeds}")
    last = max((row["step"] for hist in histories.values() for row in hist), default=0)
    upto = st.slider("Replay up to step", 0, max(1, int(last)), max(1, int(last)), key="lab_replay_upto")
    cut = {key: [row for row in hist if row["step"] <= upto] for key, hist in histories.items()}
    show = st.checkbox("Show every seed's curve", key="lab_replay_seeds")
    st.plotly_chart(curves_figure(cut, int(last), show), width="stretch", key="lab_replay_curves")
    headline = st.selectbox("Verdict on", ["mape", "exact_match", "mae"], key="lab_replay_headline",
                            format_func=lambda m: m.replace("_", " "))
    _show_verdict(cut, headline)
