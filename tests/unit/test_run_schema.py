"""Run-directory schemas: every malformed run of issue 22 is refused by the library's loader with one message
naming the file and the field (the pages call the same loader), and the budgets hold for rows and JSON depth."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ntl_core.runs import load_run as load_ntl, load_runs
from qcbnn_core.runs import load_run
from tests.unit.run_doubles import edit_json, npz_bytes, write_ntl_run, write_qcbnn_run


def _arrays(run, name, change):
    with np.load(run / name) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    (run / name).write_bytes(npz_bytes(arrays))


PER_SAMPLE = ("p_positive", "pred", "correct", "label", "predictive_entropy", "expected_entropy",
              "mutual_information", "std_p_positive")

# (what issue 22 found, how to break a valid run, the message)
QCBNN_BROKEN = [
    ("1-D snapshots", lambda r: _arrays(r, "weights.npz", lambda a: a.update(snapshots=a["snapshots"].ravel())),
     r"weights.npz: snapshots: expected 3 dimension"),
    ("1-D probabilities", lambda r: _arrays(r, "predictions.npz", lambda a: a.update(probs=a["probs"].ravel())),
     r"predictions.npz: probs: expected 3 dimension"),
    ("missing predictive_entropy", lambda r: _arrays(r, "predictions.npz", lambda a: a.pop("predictive_entropy")),
     r"predictions.npz is missing keys \['predictive_entropy'\]"),
    ("labels -3", lambda r: _arrays(r, "predictions.npz", lambda a: a.update(label=a["label"] * 0 - 3)),
     r"predictions.npz: label: values must lie in \[0, 1\], found -3"),
    ("labels 7", lambda r: _arrays(r, "predictions.npz", lambda a: a.update(label=a["label"] * 0 + 7)),
     r"predictions.npz: label: values must lie in \[0, 1\], found 7"),
    ("one saved epoch", lambda r: _arrays(r, "weights.npz", lambda a: a.update(snapshots=a["snapshots"][:1])),
     r"weights.npz: snapshots: expected 3 saved draws"),
    ("NaN snapshots", lambda r: _arrays(r, "weights.npz", lambda a: a.update(snapshots=a["snapshots"] * np.nan)),
     r"weights.npz: snapshots: holds NaN"),
    ("empty snapshots", lambda r: _arrays(r, "weights.npz", lambda a: a.update(snapshots=a["snapshots"][:, :0])),
     r"weights.npz: snapshots: expected 3 dimension\(s\) of length ≥ 1"),
    ('epochs: "xyz"', lambda r: edit_json(r / "config.json", lambda c: c["train"].update(epochs="xyz")),
     r"config.json: train.epochs: expected a whole number, got 'xyz'"),
    ('gap: "x"', lambda r: edit_json(r / "metrics.json",
                                      lambda m: m["test"]["uncertainty_gap"]["predictive_entropy"].update(gap="x")),
     r"metrics.json: test.uncertainty_gap.predictive_entropy.gap: expected a number or null, got 'x'"),
    ('model kind "evil"', lambda r: edit_json(r / "config.json", lambda c: c["model"].update(kind="evil")),
     r"config.json: model: model kind must be one of .*got 'evil'"),
    ('mechanism "evil"', lambda r: edit_json(r / "config.json", lambda c: c["model"].update(mechanism="evil")),
     r"config.json: model: mechanism must be one of .*got 'evil'"),
    ("per-sample arrays of length 3",
     lambda r: _arrays(r, "predictions.npz", lambda a: a.update({k: a[k][:3] for k in PER_SAMPLE})),
     r"predictions.npz: p_positive: expected 12 values"),
    ("empty predictions", lambda r: _arrays(r, "predictions.npz", lambda a: a.update(
        {k: (v[:, :0] if k == "probs" else v[:0]) for k, v in a.items()})),
     r"predictions.npz: probs: expected 3 dimension\(s\) of length ≥ 1, got shape \(4, 0, 2\)"),
    ("probabilities above 1", lambda r: _arrays(r, "predictions.npz", lambda a: a.update(probs=a["probs"] + 1)),
     r"predictions.npz: probs: values must lie in \[0, 1\]"),
    ("correct that disagrees with pred and label",
     lambda r: _arrays(r, "predictions.npz", lambda a: a.update(correct=~a["correct"])), r"correct: disagrees"),
    ("reliability of the wrong length",
     lambda r: edit_json(r / "metrics.json", lambda m: m["test"]["reliability"].update(count=[1])),
     r"metrics.json: test.reliability.count: expected a list of 10 items"),
    ("an unknown ansatz", lambda r: edit_json(r / "config.json", lambda c: c["model"].update(ansatz="evil")),
     r"config.json: model: unknown ansatz preset 'evil'"),
]


@pytest.mark.parametrize("finding, breaks, message", QCBNN_BROKEN, ids=[c[0] for c in QCBNN_BROKEN])
def test_a_malformed_qcbnn_run_is_refused_naming_the_field(tmp_path, finding, breaks, message):
    run = write_qcbnn_run(tmp_path / "run")
    load_run(run)  # valid before the change
    breaks(run)
    with pytest.raises(ValueError, match=message):
        load_run(run, need_model=False)


def _row(run, **fields):
    """Append one eval row holding ``fields`` as raw JSON text (so ``1e29``, ``true`` stay what they are)."""
    body = ", ".join(f'"{k}": {v}' for k, v in {"step": "9", "split": '"interpolation"', **fields}.items())
    with open(run / "metrics.jsonl", "a") as fh:
        fh.write("{" + body + "}\n")


NTL_BROKEN = [
    ("config.json of 100,000 nested brackets", lambda r: (r / "config.json").write_text("[" * 100_000 + "]" * 100_000),
     r"config.json: lists or objects nest more than 16 levels deep"),
    ('metric "abc"', lambda r: _row(r, mae='"abc"'), r"metrics.jsonl line 7: mae: expected a number ≥ 0 or null"),
    ("metric [1,2]", lambda r: _row(r, mae="[1, 2]"), r"metrics.jsonl line 7: mae: expected a number"),
    ('"step": 1e29', lambda r: _row(r, step="100000000000000000000000000000"),
     r"metrics.jsonl line 7: step: expected a whole number from 0 to 1e\+09"),
    ('"step": true', lambda r: _row(r, step="true"), r"metrics.jsonl line 7: step: expected a whole number"),
    ('"split": 7', lambda r: _row(r, split="7"), r"metrics.jsonl line 7: split: expected one of extrapolation"),
    ('"digits": true', lambda r: edit_json(r / "config.json", lambda c: c.update(digits=True)),
     r"config.json: digits must be an integer from 1 to 12, got True"),
    ("exact match of 2", lambda r: _row(r, exact_match="2"), r"exact_match: expected a number from 0 to 1"),
]


@pytest.mark.parametrize("finding, breaks, message", NTL_BROKEN, ids=[c[0] for c in NTL_BROKEN])
def test_a_malformed_ntl_run_is_refused_naming_the_field(tmp_path, finding, breaks, message):
    run = write_ntl_run(tmp_path / "run")
    load_ntl(run)
    breaks(run)
    with pytest.raises(ValueError, match=message):
        load_ntl(run)


def test_null_metrics_read_as_nan(tmp_path):
    run = write_ntl_run(tmp_path / "run")
    _row(run, mae="null")
    assert math.isnan(load_ntl(run).history[-1]["mae"])


def test_a_history_over_the_row_budget_is_refused_before_its_rows_are_parsed(tmp_path):
    """Issue 22: a 3 MB zip of 1.19 M rows cost 1.17 GB in the loader."""
    from labkit.untrusted import MAX_HISTORY_ROWS

    run = write_ntl_run(tmp_path / "run")
    (run / "metrics.jsonl").write_text('{"step": 1}\n' * (MAX_HISTORY_ROWS + 1))
    with pytest.raises(ValueError, match=f"more than {MAX_HISTORY_ROWS:,} rows"):
        load_ntl(run)


def test_runs_of_a_comparison_share_one_budget(tmp_path):
    from labkit.untrusted import Budget

    for seed in range(3):
        write_ntl_run(tmp_path / "cmp" / f"ce-seed{seed}", seed=seed, steps=40)
    assert len(load_runs(tmp_path / "cmp")) == 3
    with pytest.raises(ValueError, match="ce-seed2/metrics.jsonl: the histories hold more than 100 rows"):
        load_runs(tmp_path / "cmp", Budget(max_rows=100))  # 42 rows each: the third run passes the budget


def test_json_that_would_explode_in_memory_is_refused_before_parsing(tmp_path):
    """3 bytes of ``[],`` become a 56-byte list: the estimate counts values, not only text."""
    from labkit.untrusted import Budget

    run = write_qcbnn_run(tmp_path / "run")
    (run / "history.json").write_text('{"epochs": [' + "[]," * 1_000_000 + "[]]}")  # 3 MB of text
    with pytest.raises(ValueError, match="history.json: unpacking it would take .* past its budget"):
        load_run(run, budget=Budget(max_bytes=32 << 20))


def test_two_runs_of_one_loss_and_seed_are_refused(tmp_path):
    write_ntl_run(tmp_path / "cmp" / "ce-seed0")
    write_ntl_run(tmp_path / "cmp" / "copy")
    with pytest.raises(ValueError, match="both ce with seed 0"):
        load_runs(tmp_path / "cmp")


@pytest.mark.parametrize("core", ["qcbnn", "ntl"])
def test_symlinked_files_in_a_run_are_not_followed(tmp_path, core):
    """Issue 22: a config.json that is a symlink inside a listed run folder was followed and its keys echoed."""
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"db_password": "hunter2"}))
    run = write_qcbnn_run(tmp_path / "run") if core == "qcbnn" else write_ntl_run(tmp_path / "run")
    (run / "config.json").unlink()
    (run / "config.json").symlink_to(secret)
    with pytest.raises(ValueError) as info:
        load_run(run) if core == "qcbnn" else load_ntl(run)
    assert "config.json is a symbolic link" in str(info.value) and "hunter2" not in str(info.value)


def test_loader_messages_name_files_inside_the_run_not_its_path(tmp_path):
    run = write_qcbnn_run(tmp_path / "run")
    edit_json(run / "config.json", lambda c: c["model"].update(kind="evil"))
    with pytest.raises(ValueError) as info:
        load_run(run)
    assert str(tmp_path) not in str(info.value)
    cmp = tmp_path / "cmp"
    _row(write_ntl_run(cmp / "ce-seed0"), mae='"x"')
    with pytest.raises(ValueError) as info:
        load_runs(cmp)
    assert str(info.value).startswith("ce-seed0/metrics.jsonl line 7: mae") and str(tmp_path) not in str(info.value)
