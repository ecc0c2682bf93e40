"""AppTest of the training lab: start, step, pause, reset a tiny comparison; the slot cap; bad input.

``run_every`` does not fire under AppTest, so each ``at.run()`` stands for one fragment tick.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import pages._ui.live_training as live_training
import pages._ui.ntl_lab as ntl_lab
import pages._ui.ntl_lab_view as view
from ntl_core.training import PRESETS, Trainer
from pages._ui.slots import TrainingSlots
from tests.app.page_text import shown
from tests.unit.run_doubles import zip_folder

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "ntl_training_lab.py")
TINY = {"preset": "tiny", "steps": "10", "eval": "5", "losses": "ce,was", "bs": "8", "k": "1"}


@pytest.fixture(autouse=True)
def no_gallery(monkeypatch, tmp_path_factory):
    """An empty gallery, so listings hold only what a test puts there."""
    monkeypatch.setattr(view, "GALLERY", tmp_path_factory.mktemp("gallery"))


@pytest.fixture(autouse=True)
def slots(monkeypatch) -> TrainingSlots:
    """A private cap per test, so tests neither see nor leak slots of the shared server registry.

    Also a zero tick budget and one tick per fragment run: every ``run()`` while training is exactly one
    step per run, whatever the machine's speed.
    """
    mine = TrainingSlots(2)
    monkeypatch.setattr(live_training, "training_slots", lambda: mine)
    monkeypatch.setattr(live_training, "TICK_BUDGET_S", 0.0)
    monkeypatch.setattr(view, "FRAGMENT_RUN_S", 0.0)
    return mine


def _app(**params: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.query_params.update({**TINY, **params})
    return at.run()


def _texts(elements) -> str:
    return " | ".join(str(e.value) for e in elements)


def _step_metric(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label == "Step (each run)")


def _samples(at: AppTest):
    """The table of test questions (other tables on the page: the search summary, sample efficiency)."""
    return next(d.value for d in at.dataframe if "question" in d.value.columns)


def _step(run) -> int:
    return run.progress.get("step", 0)


def _hist(run, loss: str) -> list[dict]:
    """The history of ``loss``'s run with the first seed (members are named ``loss@seed``)."""
    return next(h for name, h in run.histories().items() if name.startswith(f"{loss}@"))


def test_start_step_pause_reset_changes_metrics(slots):
    at = _app()
    assert not at.exception
    assert "Press **Start**" in _texts(at.info)
    assert at.session_state["lab_digits"] == 1 and at.session_state["lab_steps"] == 10

    at.button(key="lab_step").click().run()
    run = at.session_state[view.LAB_KEY]
    lab = run.handle.target  # the in-process backend hands out the worker's session
    assert not at.exception and not run.running and _step(run) == 1
    assert slots.in_use() == 0  # Step gives its slot back at once
    assert _step_metric(at) == f"{_step(run)} / 10"
    assert set(run.histories()) == set(lab.members) == {f"ce@{lab.seeds[0]}", f"was@{lab.seeds[0]}"}
    for name, hist in run.histories().items():  # the page's mirror of the worker's rows
        assert hist == lab.members[name].history
        assert [r["step"] for r in hist if "split" not in r] == list(range(1, _step(run) + 1)), name

    # The sample table shows each run's own greedy answers, marked against the true answer.
    table = _samples(at)
    first = lab.trainers["ce"]
    pairs = first.sample_questions(len(table), "interpolation")
    assert list(table["question"]) == [q for q, _ in pairs]
    for loss, tr in lab.trainers.items():
        answers = tr.predict([q for q, _ in pairs])
        col = view.loss_label(loss)
        assert list(table[col]) == [f"{g} {'✓' if g == a else '✗'}" for g, (_, a) in zip(answers, pairs)]

    at.button(key="lab_start").click().run()
    assert run.running and slots.in_use() == 1
    assert _step(run) == 2  # the fragment ticked once in the run that followed the click
    while _step(run) < 5:  # each run() stands for one tick of the fragment
        at.run()
    assert _step(run) == 5 and run.running and not at.exception
    # The first evaluation (every 5 steps) gives a verdict built from the eval rows of both runs.
    ce_row = [r for r in lab.trainers["ce"].history if r.get("split") == "interpolation"][0]
    verdict_text = _texts([*at.success, *at.warning, *at.info])
    assert "step 5" in verdict_text and "1 seed" in verdict_text
    assert f"{ce_row['exact_match']:.3g} (CE)" in verdict_text

    at.button(key="lab_pause").click().run()
    assert not run.running and slots.in_use() == 0 and _step(run) == 5
    at.run()
    assert _step(run) == 5, "a paused lab must not train"

    at.button(key="lab_reset").click().run()
    assert view.LAB_KEY not in at.session_state and not run.has_model  # Reset frees the worker
    assert "Press **Start**" in _texts(at.info) and not at.exception


def test_a_full_page_run_ticks_once_even_with_a_long_fragment_loop(slots, monkeypatch):
    """Only the fragment's timer-driven runs loop for FRAGMENT_RUN_S: a full-page run (AppTest's only kind) that
    looped would hold back the Replay tab drawn after the panel."""
    monkeypatch.setattr(view, "FRAGMENT_RUN_S", 600.0)
    at = _app()
    at.button(key="lab_start").click().run()
    run = at.session_state[view.LAB_KEY]
    assert run.running and _step(run) == 1  # one tick in the run that followed the click, not all 10 steps
    at.run()
    assert run.running and _step(run) == 2 and not at.exception


def test_a_run_starved_by_other_programs_says_so_with_a_measured_estimate(slots, monkeypatch):
    import pages._ui.live_run as live_run
    from labkit.timing import TimingStore

    store = TimingStore(clock=lambda: 1000.0)  # a private record: the real ticks of this test land here too
    monkeypatch.setattr(live_run, "server_timing", lambda: store)
    monkeypatch.setattr(live_training, "server_timing", lambda: store)
    at = _app(steps="200")
    at.button(key="lab_start").click().run()
    run = at.session_state[view.LAB_KEY]
    assert run.running and not [w for w in at.warning if "busy" in str(w.value)]  # no evidence yet
    for _ in range(5):  # what the worker reported beside two busy programs: 2 s ticks with 0.3 s of CPU
        store.tick(run.id, steps=2, wall_s=2.0, cpu_s=0.3, models=2)
    at.run()
    note = next(str(w.value) for w in at.warning if "busy" in str(w.value))
    share = int(re.search(r"got (\d+)% of a CPU core", note).group(1))
    assert 10 <= share <= 30 and "steps/s per model" in note and re.search(r"needs ≈ \d+ more min", note)
    assert not at.exception


def test_a_finished_run_frees_its_model_and_keeps_its_curves(slots):
    at = _app(steps="10")
    at.button(key="lab_start").click().run()
    run = at.session_state[view.LAB_KEY]
    for _ in range(12):
        if not run.running:
            break
        at.run()
    assert run.finished and not run.running and not run.has_model and slots.in_use() == 0
    assert "Finished: 10 steps per run." in _texts(at.success)
    assert [r["step"] for r in _hist(run, "ce") if "split" not in r] == list(range(1, 11))
    at.run()
    assert "model, which was freed" in _texts(at.caption) and not at.exception
    assert at.button(key="lab_start").label == "Start"  # not "Resume": a finished comparison cannot go on
    at.button(key="lab_start").click().run()
    assert "is finished. Press Reset" in _texts(at.info) and not run.running


def test_full_server_queues_and_starts_by_itself(slots):
    slots.max_runs = 1
    assert slots.acquire("another-student")
    at = _app()
    at.button(key="lab_start").click().run()
    assert "number 1** in the queue" in _texts(at.info)
    assert view.LAB_KEY not in at.session_state  # no model is built for a waiting student
    assert slots.waiting() == 1
    assert at.button(key="lab_step").disabled and at.button(key="lab_start").disabled  # one place in the queue
    at.run()  # the queued page polls: still waiting
    assert "number 1** in the queue" in _texts(at.info)
    slots.release("another-student")
    at.run()  # its next poll gets the slot and starts the run
    run = at.session_state[view.LAB_KEY]
    assert run.running and slots.in_use() == 1 and slots.waiting() == 0
    at.run()
    assert _step(run) >= 1 and not at.exception


def test_leaving_the_queue_and_a_full_queue(slots):
    slots.max_runs, slots.max_queued = 1, 1
    slots.acquire("a-student")
    assert slots.request("another-student") == 1  # the queue is now full
    at = _app()
    at.button(key="lab_start").click().run()
    assert "students are already waiting" in _texts(at.warning) and view.LAB_KEY not in at.session_state
    slots.release("another-student")
    at.button(key="lab_start").click().run()
    assert "number 1** in the queue" in _texts(at.info) and slots.waiting() == 1
    at.button(key="lab_pause").click().run()  # "Leave queue"
    assert slots.waiting() == 0 and "queue" not in _texts(at.info)


def test_any_error_in_a_tick_pauses_frees_the_slot_and_shows_a_message(slots, monkeypatch):
    at = _app()
    at.button(key="lab_start").click().run()
    run = at.session_state[view.LAB_KEY]
    assert run.running and slots.in_use() == 1

    def broken_tick(self, budget_s):
        raise IndexError("index 300 is out of bounds")  # e.g. a question longer than the model's context

    monkeypatch.setattr(ntl_lab.LabSession, "tick", broken_tick)
    at.run()
    assert not run.running and slots.in_use() == 0 and not at.exception and not run.has_model
    assert "internal error (IndexError)" in _texts(at.error) and "out of bounds" not in _texts(at.error)


@pytest.mark.parametrize("lr", ["0", "nan", "fast", "-1e-3", "5"])
def test_bad_learning_rate_is_refused_with_a_message(slots, lr):
    at = _app(lr=lr)
    at.button(key="lab_start").click().run()
    assert "learning rate" in _texts(at.error) and not at.exception
    assert view.LAB_KEY not in at.session_state and slots.in_use() == 0


def test_junk_in_a_shared_link_is_ignored(slots):
    at = _app(digits="99", bs="7", losses="ce,bogus", model="gpt9", reverse="maybe")
    assert not at.exception
    cfg = PRESETS["tiny"]
    assert at.session_state["lab_digits"] == cfg.digits and at.session_state["lab_batch"] == 16
    assert at.session_state["lab_losses"] == ["ce", "was"] and at.session_state["lab_model"] == cfg.model


def test_malformed_data_file_gets_a_message(slots):
    at = _app(task="addition")
    at.selectbox(key="lab_task").set_value("file").run()
    at.file_uploader(key="lab_file").set_value(("bad.txt", b"1+1=\n2\n3+3=\n", "text/plain")).run()
    at.button(key="lab_start").click().run()
    assert "line 3" in _texts(at.error) and not at.exception
    assert view.LAB_KEY not in at.session_state


def test_uploaded_data_file_trains(slots):
    good = "".join(f"{a}+{b}=\n{a + b}\n" for a in range(5) for b in range(5)).encode()
    at = _app(losses="ce")
    at.selectbox(key="lab_task").set_value("file").run()
    at.file_uploader(key="lab_file").set_value(("qa.txt", good, "text/plain")).run()
    at.button(key="lab_step").click().run()
    run = at.session_state[view.LAB_KEY]
    assert not at.exception and _step(run) == 1 and run.meta["base"].task == "file"
    assert run.handle.target.base.data_path != view.UPLOADED  # the worker wrote the text to its own file


def _save_comparison(folder: Path) -> None:
    for loss in ("ce", "was"):
        tr = Trainer(PRESETS["tiny"].replace(loss=loss, eval_every=2, steps=4))
        tr.step(4)
        tr.save(folder / f"{loss}-seed0")


def test_runs_are_chosen_from_the_class_folder_only(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_RUNS_DIR", str(tmp_path))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    at = _app()
    at.button(key="lab_replay_open").click().run()
    assert "choose a run or upload" in _texts(at.error)
    assert at.selectbox(key="lab_replay_dir").options == ["broken"]
    at.selectbox(key="lab_replay_dir").set_value("broken")
    at.button(key="lab_replay_open").click().run()
    assert "config.json: not valid JSON" in shown(_texts(at.error)) and not at.exception


def test_replay_of_a_saved_comparison(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_RUNS_DIR", str(tmp_path))
    _save_comparison(tmp_path / "add")
    at = _app()
    at.selectbox(key="lab_replay_dir").set_value("add")
    at.button(key="lab_replay_open").click().run()
    assert not at.exception and not at.error
    records = at.session_state["lab_replay"]
    assert sorted(r.config.loss for r in records) == ["ce", "was"]
    assert at.slider(key="lab_replay_upto").value == 4
    assert "step 4" in _texts([*at.success, *at.warning, *at.info])
    at.slider(key="lab_replay_upto").set_value(2).run()
    assert "step 2" in _texts([*at.success, *at.warning, *at.info])


def test_replay_of_an_uploaded_zip_and_a_malicious_one(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_RUNS_DIR", str(tmp_path / "empty"))
    _save_comparison(tmp_path / "add")
    at = _app()
    at.file_uploader(key="lab_replay_zip").set_value(("add.zip", zip_folder(tmp_path / "add"), "application/zip")).run()
    at.button(key="lab_replay_open").click().run()
    assert not at.exception and not at.error
    assert sorted(r.config.loss for r in at.session_state["lab_replay"]) == ["ce", "was"]
    evil = zip_folder(tmp_path / "add", {"../../outside.json": b"{}"})
    at.file_uploader(key="lab_replay_zip").set_value(("evil.zip", evil, "application/zip")).run()
    at.button(key="lab_replay_open").click().run()
    assert "leaves its folder" in _texts(at.error) and "lab_replay" not in at.session_state
    assert not (tmp_path / "outside.json").exists()


def test_reachable_through_the_app_navigation():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("pages/ntl_training_lab.py").run()
    assert not at.exception
    assert "Training lab" in at.title[0].value and at.button(key="lab_start").label == "Start"


def test_k_seeds_per_loss_give_a_verdict_over_seeds_and_a_sample_efficiency_table(slots):
    at = _app(k="2", steps="5")
    at.button(key="lab_start").click().run()
    run = at.session_state[view.LAB_KEY]
    lab = run.handle.target
    assert len(lab.members) == 4 and lab.seeds == [lab.seeds[0], lab.seeds[0] + 1]
    for _ in range(8):
        if not run.running:
            break
        at.run()
    text = _texts([*at.success, *at.warning, *at.info])
    assert "mean of 2 seeds" in text and not at.exception
    total, per_run = (float(v) for v in next(m.value for m in at.metric if m.label.startswith("Steps/s")).split(" · "))
    assert total > 0 and per_run == pytest.approx(total / 4, abs=0.06)  # 2 losses × 2 seeds
    efficiency = [d.value for d in at.dataframe if any("steps until MAPE" in str(c) for c in d.value.columns)]
    assert efficiency and list(efficiency[0]["seeds that got there"])[0].endswith("of 2")


def test_changing_the_test_split_redraws_the_table_in_the_same_run(slots):
    at = _app()
    at.button(key="lab_step").click().run()
    run = at.session_state[view.LAB_KEY]
    assert at.radio(key="lab_split").value == "interpolation"
    at.radio(key="lab_split").set_value("extrapolation").run()
    questions = list(_samples(at)["question"])
    extrapolation = run.handle.target.trainers["ce"].sample_questions(len(questions), "extrapolation")
    assert questions == [q for q, _ in extrapolation] and not at.exception


def test_gallery_runs_open_in_the_replay_tab(tmp_path, monkeypatch):
    monkeypatch.setattr(view, "GALLERY", tmp_path)
    monkeypatch.setenv("APP_RUNS_DIR", str(tmp_path / "class"))
    _save_comparison(tmp_path / "demo")
    at = _app()
    assert at.selectbox(key="lab_replay_dir").options == ["gallery/demo"]
    at.selectbox(key="lab_replay_dir").set_value("gallery/demo")
    at.button(key="lab_replay_open").click().run()
    assert not at.exception and not at.error
    assert sorted(r.config.loss for r in at.session_state["lab_replay"]) == ["ce", "was"]


def test_the_shipped_gallery_opens_with_its_seeds(monkeypatch, tmp_path):
    monkeypatch.setattr(view, "GALLERY", ROOT / "gallery" / "ntl")
    monkeypatch.setenv("APP_RUNS_DIR", str(tmp_path))
    at = _app()
    names = at.selectbox(key="lab_replay_dir").options
    assert names and all(n.startswith("gallery/search-") for n in names)
    for name in names:
        at.selectbox(key="lab_replay_dir").set_value(name)
        at.button(key="lab_replay_open").click().run()
        assert not at.exception and not at.error
        assert len({r.config.seed for r in at.session_state["lab_replay"]}) == 5
        assert "mean of 5 seeds" in _texts([*at.success, *at.warning, *at.info])


def test_too_expensive_settings_on_a_cpu_server_get_a_message(slots):
    at = _app(model="gpt2-medium", bs="256", digits="6", losses="ce,was,mse", task="multiplication")
    at.button(key="lab_start").click().run()
    assert "choose a smaller model" in _texts(at.error) and view.LAB_KEY not in at.session_state
    assert slots.in_use() == 0 and not at.exception


def test_a_paused_run_whose_worker_went_away_keeps_its_curves_and_says_so(slots):
    at = _app()
    at.button(key="lab_step").click().run()
    run = at.session_state[view.LAB_KEY]
    rows = {k: list(v) for k, v in run.histories().items()}
    run.handle.close()  # as when the idle worker exits after APP_WORKER_IDLE_S
    at.run()
    assert "model, which was freed" in _texts(at.caption) and not at.exception
    assert run.histories() == rows and _step_metric(at) == "1 / 10"
    at.button(key="lab_start").click().run()  # Resume cannot continue without the model
    assert "model was freed" in _texts(at.warning) and not run.running and slots.in_use() == 0
    at.button(key="lab_reset").click().run()
    at.button(key="lab_start").click().run()  # a new run starts from step 0 in a new worker
    assert at.session_state[view.LAB_KEY].running and not at.exception


def test_deepmind_task_in_the_picker_with_its_questions_and_difficulty(monkeypatch, tmp_path):
    monkeypatch.setenv("NTL_DATA_CACHE", str(tmp_path))
    from ntl_core.deepmind import DeepMindTask

    monkeypatch.setattr(DeepMindTask, "train_size", 300)  # the default set (50,000) takes a minute to generate
    at = _app(task="dm:numbers__place_value", difficulty="easy")
    assert not at.exception
    assert at.session_state["lab_task"] == "dm:numbers__place_value" and at.session_state["lab_difficulty"] == "easy"
    picker = at.selectbox(key="lab_task")
    assert "DeepMind: name one digit of a number (its place value) (numbers__place_value)" in picker.options
    # Three of the generator's interpolation questions, as a student reads them, with their answers.
    from ntl_core.deepmind import example_questions

    shown = _texts(at.caption)
    for q, a in example_questions("numbers__place_value", 3):
        assert f"*{q}* → **{a}**" in shown
    assert at.slider(key="lab_digits").disabled and not at.selectbox(key="lab_difficulty").disabled
    at.button(key="lab_step").click().run()
    assert not at.exception
    lab = at.session_state[view.LAB_KEY].handle.target
    assert lab.trainers["ce"].task.name == "dm:numbers__place_value" and lab.trainers["ce"].task.difficulty == "easy"
