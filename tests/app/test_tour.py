"""The guided tour: every stop is a valid URL state of its page, and the banner drives it."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages._ui import qcbnn_gen_view
from pages._ui.explorer_state import parse_query
from pages._ui.tour import EXPLORER, GENERATOR, STOPS, stop_query
from tests.app.page_text import shown

ROOT = Path(__file__).resolve().parents[2]


def test_the_tour_has_five_to_seven_stops_on_real_pages():
    assert 5 <= len(STOPS) <= 7
    assert all((ROOT / stop.page).exists() for stop in STOPS)
    assert {stop.page for stop in STOPS} == {EXPLORER, GENERATOR}


@pytest.mark.parametrize("index", range(1, len(STOPS) + 1))
def test_every_stop_is_a_valid_url_state(index):
    stop = STOPS[index - 1]
    if stop.page == EXPLORER:
        state, warnings = parse_query(stop.params)
        assert not warnings
        assert state.mode == stop.params["mode"]
    else:
        values, warnings = qcbnn_gen_view.URL.parse(stop.params)
        assert not warnings and len(values) == len(stop.params), stop.params
    assert stop_query(index)["tour"] == str(index)


def test_a_stop_sets_the_view_and_says_what_to_look_at():
    at = AppTest.from_file(str(ROOT / EXPLORER), default_timeout=60)
    at.query_params.update(stop_query(5))
    at.run()
    assert not at.exception
    banner = " ".join(m.value for m in at.markdown)
    assert f"stop 5 of {len(STOPS)}: {STOPS[4].title}" in banner
    assert at.selectbox(key="ntlx_preset").value == "neighbour" and at.slider(key="ntlx_temp").value == 0.1
    assert "has vanished" in banner  # the gradient notice the stop points at
    assert at.button(key="tour_prev").disabled is False and at.button(key="tour_next").disabled is False
    at.button(key="tour_end").click().run()
    assert "tour" not in at.query_params and not any("Guided tour" in m.value for m in at.markdown)


def test_no_banner_without_the_tour_parameter():
    at = AppTest.from_file(str(ROOT / EXPLORER), default_timeout=60).run()
    assert not at.exception and not any("Guided tour" in m.value for m in at.markdown)
    assert not any("tour=" in shown(w.value) for w in at.warning)


@pytest.mark.parametrize("page", [EXPLORER, GENERATOR])
@pytest.mark.parametrize("junk", ["²", "9" * 5000, "9" * 40, "99", "x"])
def test_a_bad_tour_value_is_warned_about_and_removed_never_an_exception(page, junk):
    """Issue 22: ``?tour=²`` or 5,000 digits crashed both pages (``isdigit()`` passes, ``int()`` fails)."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=60)
    at.query_params["tour"] = junk
    at.run()
    assert not at.exception and not any("Guided tour" in m.value for m in at.markdown)
    assert any("tour=" in shown(w.value) and "whole number from 1 to 7" in shown(w.value) for w in at.warning)
    assert "tour" not in at.query_params


def test_home_links_both_papers_gives_times_and_starts_the_tour():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    text = " ".join(m.value for m in at.markdown)
    assert "arxiv.org/abs/2411.02083" in text and "arxiv.org/abs/2406.06307" in text
    assert "Suggested order (about 70 minutes)" in [h.value for h in at.subheader]
    assert at.button(key="tour_start")
