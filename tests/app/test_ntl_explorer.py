"""AppTest of the loss explorer: drive the widgets, compare the displayed numbers with ntl_core.scoring."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ntl_core.scoring import (
    LOSS_NAMES,
    number_preset_logits,
    parse_distribution,
    preset_logits,
    score_digit,
    score_number,
)
from pages._ui.explorer_state import rounded
from tests.app.page_text import shown

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "ntl_explorer.py")
DISPLAY_TOL = 5e-5  # metrics are shown with 4 decimals


def _run(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _shown(at: AppTest) -> dict[str, float]:
    return {m.label: float(m.value) for m in at.metric}


def _slider_logits(at: AppTest) -> np.ndarray:
    return np.array([at.slider(key=f"ntlx_logit_{d}").value for d in range(10)])


def _qp(at: AppTest, key: str) -> str:
    value = at.query_params[key]
    return value[0] if isinstance(value, list) else value


def _assert_digit_metrics(at: AppTest, expected) -> None:
    shown = _shown(at)
    for name in LOSS_NAMES:
        assert shown[name] == pytest.approx(expected.losses[name], abs=DISPLAY_TOL), name
    assert shown["expected value ŷ"] == pytest.approx(expected.expected, abs=DISPLAY_TOL)


def test_default_view_is_the_bimodal_case():
    at = _run()
    logits = _slider_logits(at)
    np.testing.assert_array_equal(logits, rounded(preset_logits("bimodal", 4)))
    expected = score_digit(4, logits=logits)
    _assert_digit_metrics(at, expected)
    shown = _shown(at)
    assert shown["NTL-MSE"] == 0.0 and shown["NTL-WAS"] > 1.5 and shown["CE"] > 1.0
    assert any("NTL-MSE is about 0" in w.value for w in at.warning)
    assert len(at.get("plotly_chart")) == 4
    assert len(at.latex) == 4


def test_preset_target_temperature_drive_the_scores():
    at = _run()
    at.selectbox(key="ntlx_preset").set_value("far")
    at.slider(key="ntlx_target").set_value(2)
    at.slider(key="ntlx_temp").set_value(0.5)
    at.run()
    assert not at.exception
    logits = _slider_logits(at)
    np.testing.assert_array_equal(logits, rounded(preset_logits("far", 2, 0.5)))
    _assert_digit_metrics(at, score_digit(2, logits=logits))
    assert (_qp(at, "preset"), _qp(at, "target"), _qp(at, "temp")) == ("far", "2", "0.5")
    assert "logits" not in at.query_params  # untouched preset: the link rebuilds it


def test_moving_a_logit_slider_rescores_and_enters_the_url():
    at = _run({"preset": "peaked", "target": "3"})
    at.slider(key="ntlx_logit_8").set_value(9.5).run()
    assert not at.exception
    logits = _slider_logits(at)
    assert logits[8] == 9.5
    expected = score_digit(3, logits=logits)
    _assert_digit_metrics(at, expected)
    assert np.argmax(expected.probs) == 8 and _shown(at)["NTL-WAS"] > 3
    assert [float(v) for v in _qp(at, "logits").split(",")] == logits.tolist()


def test_typed_distribution_and_bad_distributions():
    at = _run({"preset": "uniform", "target": "5"})
    at.text_input(key="ntlx_probs").set_value("0 0 0 1 0 0 0 1 0 0").run()
    assert not at.exception and not at.error
    _assert_digit_metrics(at, score_digit(5, probs=parse_distribution("0 0 0 1 0 0 0 1 0 0")))
    assert _qp(at, "probs") == "0 0 0 1 0 0 0 1 0 0"
    slider_score = score_digit(5, logits=_slider_logits(at))
    for bad, message in [("0 0 0 0 0 0 0 0 0 0", "all zeros"), ("nan 0 0 0 0 0 0 0 0 1", "NaN"),
                         ("-1 0 0 0 0 0 0 0 0 2", "negative"), ("1 2 3", "exactly 10")]:
        at.text_input(key="ntlx_probs").set_value(bad).run()
        assert not at.exception
        assert any(message in e.value for e in at.error), (bad, [e.value for e in at.error])
        _assert_digit_metrics(at, slider_score)  # falls back to the sliders, and says so


def test_bimodal_on_an_edge_digit_switches_to_peaked_and_says_so():
    """The defect: digit 9 kept the previous (bimodal-looking or uniform) logits under a "Bimodal" label."""
    at = _run({"preset": "bimodal", "target": "4"})
    at.slider(key="ntlx_target").set_value(9).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="ntlx_preset").value == "peaked"
    assert "Bimodal around the target" not in at.selectbox(key="ntlx_preset").options
    assert any("room on both sides" in i.value for i in at.info)
    np.testing.assert_array_equal(_slider_logits(at), rounded(preset_logits("peaked", 9)))
    _assert_digit_metrics(at, score_digit(9, logits=_slider_logits(at)))
    assert len(at.get("plotly_chart")) == 4
    at.slider(key="ntlx_target").set_value(3).run()  # bimodal is offered again where it fits
    assert "Bimodal around the target" in at.selectbox(key="ntlx_preset").options


def test_a_link_with_bimodal_on_zero_is_shown_not_hidden():
    at = _run({"preset": "bimodal", "target": "0"})
    assert not at.error and at.selectbox(key="ntlx_preset").value == "peaked"
    assert len(at.get("plotly_chart")) == 4


def test_number_mode_scores_and_rejects_bad_numbers():
    at = _run()
    at.radio(key="ntlx_mode").set_value("number").run()
    assert not at.exception
    presets = [at.selectbox(key=f"ntlx_pos_{i}").value for i in range(3)]
    expected = score_number("472", number_preset_logits("472", presets, 1.0, 0))
    shown = _shown(at)
    assert shown["number sMAPE"] == pytest.approx(expected.number_loss, abs=DISPLAY_TOL)
    for name in ("CE", "NTL-MSE", "NTL-WAS"):
        assert shown[f"mean {name}"] == pytest.approx(expected.digit_mean[name], abs=DISPLAY_TOL)
    assert f"**{expected.expected_number:.2f}**" in " ".join(c.value for c in at.caption)

    at.selectbox(key="ntlx_pos_0").set_value("far").run()
    far = score_number("472", number_preset_logits("472", ["far", *presets[1:]], 1.0, 0))
    assert _shown(at)["number sMAPE"] == pytest.approx(far.number_loss, abs=DISPLAY_TOL)
    assert _qp(at, "presets").startswith("far,")

    for bad in ("4a2", "", "-47", "123456789"):
        at.text_input(key="ntlx_number").set_value(bad).run()
        assert not at.exception
        assert any("target number" in e.value for e in at.error), bad
        assert not at.metric

    at.text_input(key="ntlx_number").set_value("58").run()
    at.selectbox(key="ntlx_pos_0").set_value("bimodal").run()
    at.text_input(key="ntlx_number").set_value("98").run()  # the defect: an error hid every chart
    assert not at.exception and not at.error
    assert at.selectbox(key="ntlx_pos_0").value == "peaked"
    assert any("room on both sides" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 3
    expected = score_number("98", number_preset_logits("98", ["peaked", at.selectbox(key="ntlx_pos_1").value]))
    assert _shown(at)["number sMAPE"] == pytest.approx(expected.number_loss, abs=DISPLAY_TOL)


def test_switching_modes_keeps_both_views():
    at = _run({"preset": "far", "target": "2"})
    at.slider(key="ntlx_logit_5").set_value(3.0).run()
    at.radio(key="ntlx_mode").set_value("number").run()
    at.text_input(key="ntlx_number").set_value("58").run()
    at.radio(key="ntlx_mode").set_value("digit").run()
    assert not at.exception
    assert (at.selectbox(key="ntlx_preset").value, at.slider(key="ntlx_target").value) == ("far", 2)
    assert at.slider(key="ntlx_logit_5").value == 3.0
    at.radio(key="ntlx_mode").set_value("number").run()
    assert at.text_input(key="ntlx_number").value == "58"


def test_query_params_round_trip():
    query = {"mode": "digit", "preset": "neighbour", "target": "6", "temp": "2.5", "seed": "3",
             "logits": "1,0,0,0,0,0,0,4.25,0,-2"}
    at = _run(query)
    assert at.selectbox(key="ntlx_preset").value == "neighbour"
    assert at.slider(key="ntlx_target").value == 6
    assert at.slider(key="ntlx_temp").value == 2.5
    assert _slider_logits(at).tolist() == [1, 0, 0, 0, 0, 0, 0, 4.25, 0, -2]
    _assert_digit_metrics(at, score_digit(6, logits=[1, 0, 0, 0, 0, 0, 0, 4.25, 0, -2]))
    for key, value in query.items():
        assert _qp(at, key) == value, key
    again = _run({k: _qp(at, k) for k in at.query_params})
    assert _shown(again) == _shown(at)

    number = _run({"mode": "number", "number": "305", "presets": "far,peaked,bimodal", "temp": "0.7"})
    assert number.text_input(key="ntlx_number").value == "305"
    assert [number.selectbox(key=f"ntlx_pos_{i}").value for i in range(3)] == ["far", "peaked", "bimodal"]
    assert (_qp(number, "number"), _qp(number, "presets"), _qp(number, "temp")) == ("305", "far,peaked,bimodal", "0.7")


def test_bad_query_params_warn_and_fall_back():
    at = _run({"preset": "sharp", "target": "12", "temp": "abc", "logits": "1,2", "number": "4a2", "mode": "x"})
    warnings = shown(" ".join(w.value for w in at.warning))
    for fragment in ("preset='sharp'", "target='12'", "temp='abc'", "logits='1,2'", "number='4a2'", "mode='x'"):
        assert fragment in warnings, fragment
    assert at.selectbox(key="ntlx_preset").value == "bimodal" and at.slider(key="ntlx_target").value == 4


def test_random_preset_follows_the_sidebar_seed():
    at = _run({"preset": "random", "target": "1"})
    first = _slider_logits(at)
    np.testing.assert_array_equal(first, rounded(preset_logits("random", 1, seed=0)))
    at.sidebar.number_input[0].set_value(11).run()
    assert not at.exception
    np.testing.assert_array_equal(_slider_logits(at), rounded(preset_logits("random", 1, seed=11)))


def test_reachable_from_the_app_shell():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/ntl_explorer.py").run()
    assert not at.exception
    assert "Loss explorer" in at.title[0].value
