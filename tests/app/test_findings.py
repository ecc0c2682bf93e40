"""Home's two measured answers: each number recomputed here, independently, from the committed runs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from streamlit.testing.v1 import AppTest

from pages._ui import findings

ROOT = Path(__file__).resolve().parents[2]


def _t(values) -> tuple[float, float, float]:
    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return x.mean(), x.mean() - half, x.mean() + half


def test_qcbnn_sentence_matches_the_committed_runs():
    if not findings.QCBNN_CONFIRMATION.is_file():
        pytest.skip("no committed BreastMNIST confirmation")
    summary = json.loads(findings.QCBNN_CONFIRMATION.read_text())
    chosen = summary["selected"]
    by = {(r["model"], r["seed"]): r for r in summary["runs"]}
    diffs = [by[(chosen, s)]["gap"]["predictive_entropy"] - by[("bnn", s)]["gap"]["predictive_entropy"]
             for s in summary["seeds"]]
    mean, low, high = _t(diffs)
    text = findings.qcbnn_finding()
    assert f"{mean:+.3f} (95 % CI {low:+.3f} to {high:+.3f})" in text
    word = "larger than" if low > 0 else "smaller than" if high < 0 else "not distinguishable from"
    assert f"**{word}**" in text and f"{len(summary['seeds'])} fresh seeds" in text


def test_ntl_sentence_matches_the_committed_runs():
    runs = [json.loads(line) for line in findings.NTL_RUNS.read_text().splitlines()] if findings.NTL_RUNS.is_file() else []
    text = findings.ntl_finding()
    if text is None:
        pytest.skip("the NTL study has no selection yet")
    stage1 = [r for r in runs if r["stage"] == "1"]
    if "still running" in text:  # the selection's reading: recompute the best case's paired exact-match difference
        best = {}
        for setting in {r["setting"] for r in stage1}:
            for loss in ("was", "mse"):
                pairs = {(r["loss"], r["seed"]): r["curve"][-1]["exact_match"] for r in stage1 if r["setting"] == setting}
                d = [pairs[(loss, s)] - pairs[("ce", s)] for s in range(5)]
                best[(setting, loss)] = _t(d)
        (setting, loss), (mean, low, high) = max(best.items(), key=lambda kv: kv[1][0])
        assert f"{loss.upper()} on {setting}" in text and f"{mean:+.3f} (95 % CI {low:+.3f} to {high:+.3f})" in text
        assert ("no robust" in text) == all(v[1] <= 0 for v in best.values())


def test_home_states_both_answers_with_links():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    shown = " ".join(str(m.value) for m in at.markdown)
    for text in (findings.qcbnn_finding(), findings.ntl_finding()):
        if text:
            assert text in shown
    assert "What we measured" in [s.value for s in at.subheader]
