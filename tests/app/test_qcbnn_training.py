"""The QCBNN training page: helpers on hand-made inputs, then AppTest driving a tiny side-by-side run.

``run_every`` does not fire under AppTest, so each ``at.run()`` stands for one fragment tick; the tick
budget is patched to 0 s so that every tick is exactly one optimiser step per model.
"""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import pages._ui.live_training as live_training
import pages._ui.qcbnn_train_view as view
from pages._ui.qcbnn_lab import (LabSession, ModelResult, gap_verdict, load_data, result_from_run,
                                 result_from_trainer, study_table)
from pages._ui.slots import TrainingSlots
from tests.app.page_text import shown
from qcbnn_core.models import ModelConfig
from qcbnn_core.runs import load_run, save_run
from qcbnn_core.trainer import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "qcbnn_training.py")
TINY = {"ntrain": "24", "epochs": "2", "bs": "16", "strain": "2", "seval": "8", "study_epochs": "1",
        "study": "ry_cnot,ryrz_product"}


@pytest.fixture(autouse=True)
def slots(monkeypatch) -> TrainingSlots:
    """A private cap per test (no leaks into the server registry) and one step per model per tick."""
    mine = TrainingSlots(2)
    monkeypatch.setattr(live_training, "training_slots", lambda: mine)
    monkeypatch.setattr(live_training, "TICK_BUDGET_S", 0.0)
    return mine


TINY_CFG = TrainConfig(epochs=1, batch_size=16, n_samples_train=2, n_samples_eval=8, snapshot_samples=16, n_boot=50)


def _trained(models: dict[str, ModelConfig]) -> LabSession:
    """A finished one-epoch run on 24 phantom images (every tick = one step per model)."""
    lab = LabSession(load_data("phantom", 0, 24), models, TINY_CFG)
    while not lab.finished:
        lab.tick(0.0)
    return lab


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _breastmnist_like(n: int = 12) -> bytes:
    rng = np.random.default_rng(0)
    out = {}
    for split in ("train", "val", "test"):
        out[f"{split}_images"] = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        out[f"{split}_labels"] = (np.arange(n) % 2).astype(np.uint8)[:, None]
    return _npz(**out)


# ----------------------------------------------------------------------------- helpers
def _result(name: str, gap: float, lo: float, hi: float) -> ModelResult:
    g = {"gap": gap, "ci_low": lo, "ci_high": hi, "mean_wrong": 0.5, "mean_right": 0.5 - gap, "n_wrong": 5,
         "n_right": 20}
    per_sample = {"pred": np.arange(25) % 2}
    return ModelResult(name, [], np.zeros((1, 2, 64)), per_sample, None, {"predictive_entropy": g}, {},
                       {"accuracy": 0.8, "ece": 0.1})


def test_gap_verdict_is_computed_from_the_numbers():
    ahead, text = gap_verdict({"QCBNN": _result("QCBNN", 0.30, 0.25, 0.35), "BNN": _result("BNN", 0.10, 0.05, 0.15)},
                              "predictive_entropy")
    assert ahead is True and "+0.300" in text and "+0.100" in text and "do not overlap" in text
    # Every gap beside its model's accuracy and errors, and the note that one seed is no verdict.
    assert "QCBNN: gap +0.300 [+0.250, +0.350], accuracy 0.800, 5 errors of 25" in text
    assert "not a verdict" in text and "Multi-seed verdict" in text
    ahead, text = gap_verdict({"QCBNN": _result("QCBNN", 0.10, 0.0, 0.2), "BNN": _result("BNN", 0.12, 0.05, 0.2)},
                              "predictive_entropy")
    assert ahead is False and "NOT larger" in text and "overlap: this run cannot" in text
    collapsed = _result("QCBNN", 0.30, 0.25, 0.35)
    collapsed.per_sample["pred"] = np.zeros(25, dtype=int)
    ahead, text = gap_verdict({"QCBNN": collapsed, "BNN": _result("BNN", 0.10, 0.05, 0.15)}, "predictive_entropy")
    assert ahead is None and "at the base rate" in text and "says little" in text  # a collapsed model: no crown
    at_base_rate = _result("BNN", 0.10, 0.05, 0.15)
    at_base_rate.per_sample["label"] = np.r_[np.zeros(20, int), np.ones(5, int)]  # base rate 0.8 = its accuracy
    assert at_base_rate.collapsed and at_base_rate.base_rate == pytest.approx(0.8)
    ahead, text = gap_verdict({"QCBNN": _result("QCBNN", 0.30, 0.25, 0.35), "BNN": at_base_rate}, "predictive_entropy")
    assert ahead is True and "One seed" in text and "Caveat: BNN is at the base rate" in text
    assert "Caveat" not in gap_verdict({"QCBNN": _result("QCBNN", 0.3, 0.25, 0.35),
                                        "BNN": _result("BNN", 0.1, 0.05, 0.15)}, "predictive_entropy")[1]
    ahead, text = gap_verdict({"QCBNN": _result("QCBNN", math.nan, math.nan, math.nan),
                               "BNN": _result("BNN", 0.1, 0.0, 0.2)}, "predictive_entropy")
    assert ahead is None and "undefined for QCBNN" in text


def test_load_data_cuts_the_training_split_and_validates_uploads():
    data = load_data("phantom", seed=0, n_train=24)
    assert len(data.train) == 24 and len(data.test) == 156 and data.synthetic
    assert set(data.train.y.tolist()) == {0, 1}
    # The test split does not depend on the training size (separate random streams).
    assert (load_data("phantom", 0, 40).test.x == data.test.x).all()
    tab = load_data("breast_cancer", seed=0, n_train=50)
    assert tab.kind == "tabular" and tab.input_shape == (30,) and len(tab.train) == 50
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_data("upload", 0, 100, upload=b"definitely not a zip file")
    with pytest.raises(ValueError, match="missing keys"):
        load_data("upload", 0, 100, upload=_npz(train_images=np.zeros((2, 28, 28), np.uint8)))
    with pytest.raises(ValueError, match="upload"):
        load_data("upload", 0, 100)
    bundled = load_data("breastmnist", 0, 100)  # the genuine file that ships with the app, no upload needed
    assert len(bundled.train) == 100 and len(bundled.test) == 156 and not bundled.synthetic and not bundled.notice
    good = load_data("upload", 0, 100, upload=_breastmnist_like())
    assert "not MedMNIST's original" in good.notice
    assert len(good.train) == 12 and good.train.y.tolist() == [1, 0] * 6  # MedMNIST 0 = malignant → class 1


def test_lab_session_lockstep_and_study_table():
    lab = LabSession(load_data("phantom", 0, 24), {"QCBNN": ModelConfig(kind="qcbnn", ansatz="ryrz_product"),
                                                   "BNN": ModelConfig(kind="bnn")}, TINY_CFG)
    tick = lab.tick(0.0)
    assert tick.steps == 2 and {t.global_step for t in lab.trainers.values()} == {1}
    while not lab.finished:
        lab.tick(0.0)
    assert lab.epoch == 1 and all(len(t.history) == 1 for t in lab.trainers.values())
    results = lab.results()
    table = study_table(results)
    for name, t in lab.trainers.items():
        ev = t.evaluate("test")  # an independent call of the library: same numbers in the table
        row = table[table["model"] == name].iloc[0]
        assert row["accuracy"] == pytest.approx(ev.accuracy) and row["ECE"] == pytest.approx(ev.ece)
        assert row["gap predictive entropy"] == pytest.approx(ev.uncertainty_gap["predictive_entropy"].gap,
                                                              nan_ok=True)
    assert results["QCBNN"].probs.shape == (8, 156, 2) and results["QCBNN"].snapshots.shape == (2, 16, 64)


def test_run_directory_round_trip(tmp_path):
    lab = _trained({"BNN": ModelConfig(kind="bnn")})
    live = lab.results()["BNN"]
    save_run(lab.trainers["BNN"], tmp_path / "bnn")
    loaded = result_from_run(load_run(tmp_path / "bnn"))
    assert loaded.name == "BNN" and loaded.scores["accuracy"] == pytest.approx(live.scores["accuracy"])
    assert loaded.gaps["mutual_information"]["gap"] == pytest.approx(live.gaps["mutual_information"]["gap"],
                                                                       nan_ok=True)
    np.testing.assert_allclose(loaded.snapshots, live.snapshots)
    assert loaded.prior_sigma == live.prior_sigma == TINY_CFG.prior_sigma


# ----------------------------------------------------------------------------- AppTest
def _app(**params: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params.update({**TINY, **params})
    return at.run()


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _texts(elements) -> str:
    return " | ".join(str(e.value) for e in elements)


def _steps(run) -> int:
    return run.progress.get("steps_done", 0)


def test_start_step_pause_reset(slots):
    at = _app(data="phantom")  # the synthetic set, labelled as such (BreastMNIST, the default, has its own test)
    assert not at.exception and not at.error
    assert "SYNTHETIC" in _texts(at.caption)
    assert "Press **Start** to train the QCBNN" in _texts(at.info)

    at.button(key="qt_lab_step").click().run()
    lab = at.session_state[view.LAB_KEY]
    trainers = lab.handle.target.trainers  # the in-process backend hands out the worker's session
    assert list(trainers) == ["QCBNN", "BNN", "MLP", "CNN"]  # the controls train beside them by default
    assert lab.meta["models"]["MLP"].mechanism == lab.meta["models"]["QCBNN"].mechanism == "semi_implicit"
    assert not at.exception and not lab.running and _steps(lab) == 4  # one step per model
    assert slots.in_use() == 0  # Step gives its slot back at once
    assert _metric(at, "Optimiser steps (all models)") == "4 / 16"

    at.button(key="qt_lab_start").click().run()
    assert lab.running and slots.in_use() == 1 and _steps(lab) == 8
    at.run()  # the step count grows with each tick; the first epoch closes with validation scores
    assert _metric(at, "Epochs done (every model)") == "1 / 2" and not at.exception
    for name, t in trainers.items():
        assert 0.0 <= t.history[0]["val_accuracy"] <= 1.0 and math.isfinite(t.history[0]["train_loss"]), name
        assert lab.histories()[name] == t.history  # the page's mirror of the worker's records

    at.button(key="qt_lab_pause").click().run()
    assert not lab.running and slots.in_use() == 0 and not at.exception
    # Paused after an epoch: the test-split results (fetched from the worker inside the slot, on Pause) and
    # the honest verdict, from the library's numbers.
    results = lab.views["results"]
    assert results["BNN"].scores["accuracy"] == result_from_trainer("BNN", trainers["BNN"]).scores["accuracy"]
    q, b = (results[n].gaps["predictive_entropy"]["gap"] for n in ("QCBNN", "BNN"))
    verdict = _texts([*at.success, *at.warning, *at.info])
    if math.isfinite(q) and math.isfinite(b):
        assert f"{q:+.3f}" in verdict and f"{b:+.3f}" in verdict
        if results["QCBNN" if q > b else "BNN"].collapsed:  # after 24 examples the winner may be at the base rate
            assert "says little" in verdict
        else:
            assert ("NOT larger" in verdict) == (q <= b)
    # One seed never looks like a verdict: a neutral box (no green or orange), no "largest gap" crown.
    assert "One seed" in _texts(at.info) and "not a verdict" in _texts(at.info)
    assert not [w for w in [*at.success, *at.warning] if "One seed" in str(w.value)]
    assert not [c for c in at.caption if "Largest" in str(c.value)]
    at.radio(key="qt_res_measure").set_value("mutual_information").run()
    assert not at.exception and "mutual information" in _texts([*at.success, *at.warning, *at.info])
    steps = _steps(lab)
    at.run()
    assert _steps(lab) == steps  # paused: no training on reruns

    at.button(key="qt_lab_start").click().run()
    while lab.running:
        at.run()
    assert lab.finished and slots.in_use() == 0 and "Finished: 2 epochs." in _texts(at.success)
    assert not lab.has_model and lab.views["results"]["QCBNN"].history == lab.histories()["QCBNN"]
    at.button(key="qt_lab_reset").click().run()
    assert view.LAB_KEY not in at.session_state and not at.exception


def test_tabular_data_trains_to_the_results():
    at = _app(data="breast_cancer", epochs="1")
    assert "30 features" in _texts(at.caption) and "SYNTHETIC" not in _texts(at.caption)
    features = at.dataframe[0].value
    assert list(features.columns[:2]) == ["mean radius", "mean texture"]  # named, not 0–7
    at.button(key="qt_lab_start").click().run()
    lab = at.session_state[view.LAB_KEY]
    assert lab.handle.target.trainers["QCBNN"].model.source.n_weights == 16 * 30  # a dense layer replaces the conv
    while lab.running:
        at.run()
    assert "Finished: 1 epoch." in _texts(at.success) and not at.exception
    # No images for tabular data: the gallery lists the test indices with their p(positive).
    order = lab.views["results"]["QCBNN"].per_sample["predictive_entropy"].argsort(kind="stable")
    assert f"#{order[0]} true" in _texts(at.caption)


def test_full_server_gets_a_friendly_message(slots):
    slots.acquire("another-student")
    slots.acquire("a-third-student")
    at = _app()
    at.button(key="qt_lab_start").click().run()
    assert view.LAB_KEY not in at.session_state  # no model is built for a waiting student
    assert "You are **number 1** in the queue" in _texts(at.info) and "saved run directory" in _texts(at.info)
    assert not at.exception
    at.button(key="qt_study_start").click().run()  # one live run (or place in the queue) per student
    assert "one live run per student" in _texts(at.warning) and slots.waiting() == 1


def test_malformed_upload_shows_an_error_and_nothing_breaks(slots):
    at = _app()
    at.button(key="qt_lab_start").click().run()
    assert at.session_state[view.LAB_KEY].running and slots.in_use() == 1
    at.radio(key="qt_data").set_value("upload").run()
    assert not at.session_state[view.LAB_KEY].running and slots.in_use() == 0  # unusable data pauses the run
    assert "upload a BreastMNIST-format .npz first" in shown(_texts(at.error))
    at.file_uploader(key="qt_upload").upload("breastmnist.npz", b"PK\x03\x04 broken", "application/octet-stream")
    at.run()
    assert not at.exception
    assert "Cannot use this data: not a readable .npz" in shown(_texts(at.error))
    assert not [b for b in at.button if b.key == "qt_lab_start"]  # no training on unusable data
    at.file_uploader(key="qt_upload").clear().upload("breastmnist.npz", _breastmnist_like(), "application/zip")
    at.run()
    assert not at.exception and not at.error
    assert "BreastMNIST" in _texts(at.caption)
    assert "not MedMNIST's original" in _texts(at.warning)  # a user's own variant is said to be one


def test_breastmnist_is_the_default_with_its_base_rate_and_real_images():
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception and at.session_state["qt_data"] == "breastmnist"
    caption = _texts(at.caption)
    assert "BreastMNIST (MedMNIST v2)" in caption and "SYNTHETIC" not in caption
    assert "42 malignant, 114 normal/benign" in caption and "**0.731** (the base rate)" in caption
    assert at.expander[[e.label for e in at.expander].index("Examples per class")].proto.expanded
    at.radio(key="qt_data").set_value("phantom").run()
    assert "SYNTHETIC images, not patient data" in _texts(at.caption)


def test_architecture_study_table_and_csv(slots):
    at = _app(mlp="0")
    at.button(key="qt_study_start").click().run()
    study = at.session_state[view.STUDY_KEY]
    assert list(study.handle.target.trainers) == ["ry_cnot", "ryrz_product", "BNN", "CNN"]
    while study.running:
        at.run()
    assert study.finished and not at.exception
    table = at.dataframe[0].value
    assert list(table["model"]) == ["ry_cnot", "ryrz_product", "BNN", "CNN"]
    for name, r in study.views["results"].items():
        assert table.loc[table["model"] == name, "accuracy"].iloc[0] == pytest.approx(round(r.scores["accuracy"], 4))
    assert at.get("download_button")


def test_open_run_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_RUNS_DIR", str(tmp_path))
    lab = _trained({"BNN": ModelConfig(kind="bnn")})
    save_run(lab.trainers["BNN"], tmp_path / "bnn")
    (tmp_path / "not-a-run").mkdir()
    at = _app()
    assert at.selectbox(key="qt_run_a").options == ["bnn"]
    at.button(key="qt_run_open").click().run()
    assert "choose a run or upload" in _texts(at.error) and not at.exception
    at.selectbox(key="qt_run_a").set_value("bnn").run()
    at.button(key="qt_run_open").click().run()
    assert not at.exception and not at.error
    assert set(at.session_state["qt_runs"]) == {"BNN (bnn)"}
    assert "Run directories do not store the test images" in _texts(at.caption)


def test_a_malformed_or_hostile_run_upload_gets_a_plain_message_and_a_safe_name(tmp_path, monkeypatch):
    """Issue 22: malformed run zips crashed the page; folder names and messages are user text."""
    from markdown_it import MarkdownIt
    from tests.unit.run_doubles import edit_json, write_qcbnn_run, zip_folder

    monkeypatch.setenv("APP_RUNS_DIR", str(tmp_path / "empty"))
    bad = write_qcbnn_run(tmp_path / "bad" / "run")
    edit_json(bad / "config.json", lambda c: c["train"].update(epochs="[x](https://evil.example)"))
    hostile = write_qcbnn_run(tmp_path / "ok" / "[Your account expired](https:evil.example)")
    at = _app()
    at.file_uploader(key="qt_run_zip").set_value(("bad.zip", zip_folder(bad), "application/zip"))
    at.button(key="qt_run_open").click().run()
    assert not at.exception and "qt_runs" not in at.session_state
    html = MarkdownIt("commonmark").render(at.error[0].value)
    assert "train.epochs: expected a whole number" in html and "<a" not in html and "/tmp" not in html
    at.file_uploader(key="qt_run_zip").set_value(("ok.zip", zip_folder(hostile), "application/zip"))
    at.button(key="qt_run_open").click().run()
    assert not at.exception and not at.error
    (name,) = at.session_state["qt_runs"]
    assert name.startswith("QCBNN (_Your_account_expired_") and not set("[]():<>") & set(name[7:-1])


# ----------------------------------------------------------------------------- multi-seed verdict, names, glossary
def _study_summary(q_gaps, b_gaps, c_gaps) -> dict:
    """A multi-seed summary as the CLI writes it (strict JSON: NaN → null)."""
    from labkit.strict_json import jsonable
    from qcbnn_core.study import summarize

    def rec(model, seed, acc, gap):
        return {"model": model, "seed": seed, "accuracy": acc, "ece": 0.05, "weight_std": 0.2, "collapsed": False,
                "gap": {"predictive_entropy": gap, "mutual_information": gap / 10},
                "auroc": {"predictive_entropy": 0.7 + gap / 10, "mutual_information": 0.6}}
    recs = [rec(m, s, acc, g[s]) for s in range(len(q_gaps))
            for m, acc, g in (("qcbnn", 0.86, q_gaps), ("bnn", 0.9, b_gaps), ("mlp", 0.87, c_gaps))]
    return jsonable(summarize(recs))


def test_multiseed_tab_reads_the_committed_study(tmp_path, monkeypatch):
    import json

    import pages._ui.qcbnn_lab as lab_module
    from qcbnn_core.study import verdict

    confirm = _study_summary([0.30, 0.41, 0.35, 0.33], [0.10, 0.20, 0.12, 0.15], [0.31, 0.40, 0.36, 0.33])
    select = _study_summary([0.30, 0.45, 0.35, 0.37], [0.10, 0.20, 0.12, 0.15], [0.11, 0.19, 0.13, 0.14])
    (tmp_path / "confirm_phantom.json").write_text(json.dumps(confirm))
    (tmp_path / "select_phantom.json").write_text(json.dumps(select))
    (tmp_path / "notes_phantom.json").write_text("{}")  # foreign files are ignored
    monkeypatch.setattr(lab_module, "STUDY_DIR", tmp_path)
    at = _app()
    assert not at.exception
    assert at.radio(key="qt_ms_stage").options[0].startswith("selection")
    assert at.radio(key="qt_ms_stage").value == "confirm"  # the stage that answers is shown first
    expected = verdict(lab_module.load_study(tmp_path)[("confirm", "phantom")], "qcbnn")
    shown = _texts(at.warning)
    assert "not a quantum effect" in expected["text"] and expected["text"] in shown
    assert "Confirmation seeds" in shown
    tables = [d.value for d in at.dataframe]
    per_model = next(t for t in tables if "collapsed runs" in t)
    assert list(per_model["model"]) == ["qcbnn", "bnn", "mlp"] and per_model["collapsed runs"].iloc[0] == "0 / 4"
    paired = next(t for t in tables if "collapsed runs" not in t and list(t["model"]) == ["qcbnn", "mlp"])
    assert paired["accuracy"].iloc[0].startswith("-0.040 [")
    at.radio(key="qt_ms_stage").set_value("select").run()
    assert "Selection seeds" in _texts(at.success) and "attributed to the circuit" in _texts(at.success)


@pytest.mark.parametrize("data", ["breastmnist", "phantom"])
def test_multiseed_tab_shows_the_committed_verdict(data):
    """The real committed studies (docs/qcbnn_study/): the page says what the rule says, whatever it is; the
    paper's own data (BreastMNIST) is shown first when its study is committed."""
    from pages._ui.qcbnn_lab import load_study
    from qcbnn_core.study import best_family, verdict

    studies = load_study()
    if ("confirm", data) not in studies:
        pytest.skip(f"no committed {data} confirmation study")
    summary = studies[("confirm", data)]
    expected = verdict(summary, summary.get("selected") or best_family(summary))["text"]
    at = _app()
    default = "breastmnist" if any(d == "breastmnist" for _, d in studies) else "phantom"
    assert at.radio(key="qt_ms_data").value == default and not at.exception
    if data != default:
        at.radio(key="qt_ms_data").set_value(data).run()
        at.radio(key="qt_ms_stage").set_value("confirm").run()
    assert expected in _texts([*at.success, *at.warning])


def test_human_names_glossary_and_control_checkboxes(monkeypatch, tmp_path):
    import pages._ui.qcbnn_lab as lab_module

    monkeypatch.setattr(lab_module, "STUDY_DIR", tmp_path)  # no study: a hint instead of a verdict
    at = _app()
    assert "No committed study results" in _texts(at.info)
    mech = at.radio(key="qt_mech")
    assert mech.value == "semi_implicit"
    assert "semi-implicit Born machine (SIVI bound)" in mech.options and "born" not in mech.options
    glossary = _texts(at.markdown)
    for term in ("ELBO", "KL", "β", "ansatz", "CRX", "Born machine", "ECE", "entropy vs mutual information"):
        assert f"**{term}**" in glossary
    at.checkbox(key="qt_mlp").uncheck().run()
    at.checkbox(key="qt_cnn").uncheck().run()
    at.radio(key="qt_mech").set_value("born").run()
    at.button(key="qt_lab_step").click().run()
    lab = at.session_state[view.LAB_KEY]
    assert list(lab.meta["models"]) == ["QCBNN", "BNN"] and lab.meta["models"]["QCBNN"].mechanism == "born"
    assert at.query_params["mlp"] == "0" and at.query_params["mech"] == "born"


def test_figures_only_with_new_epoch_rows_and_all_of_them_at_the_end(monkeypatch):
    """A timer-driven fragment run ticks on, redrawing only the progress, until an epoch's rows arrive; the next
    run draws the figures once for all those ticks. The finished run draws every panel."""
    monkeypatch.setattr(live_training, "in_fragment_run", lambda: True)  # AppTest's runs are full-page runs
    monkeypatch.setattr(live_training, "REDRAW_EVERY_S", math.inf)  # rows only: the clock is tested in test_redraw
    built: list[str] = []
    for name in ("curves_figure", "weight_hist_figure"):
        def counted(*args, _build=getattr(view.plots, name), _name=name, **kwargs):
            built.append(_name)
            return _build(*args, **kwargs)
        monkeypatch.setattr(view.plots, name, counted)
    at = _app(epochs="3")
    at.button(key="qt_lab_start").click().run()
    lab = at.session_state[view.LAB_KEY]
    per_epoch = sum(t.steps_per_epoch for t in lab.handle.target.trainers.values())
    assert per_epoch >= 8 and _steps(lab) == per_epoch and not built  # several ticks (one step per model each)
    at.run()  # draws epoch 1, then ticks through epoch 2
    assert _steps(lab) == 2 * per_epoch and _metric(at, "Epochs done (every model)") == "2 / 3"
    assert built == ["curves_figure", "weight_hist_figure"] and not at.exception  # once, not once per tick
    while lab.running:
        at.run()
    assert lab.finished and "Finished: 3 epochs." in _texts(at.success) and not at.exception
    charts = {c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")}
    assert {"qt_curves", "qt_w_fig", "qt_res_unc", "qt_res_rel", "qt_res_draws_Most certain",
            "qt_res_draws_Least certain"} <= charts
