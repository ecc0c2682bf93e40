"""Browser test: the training lab trains a tiny comparison for a few live ticks without exceptions."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_exception, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

TINY = "preset=tiny&steps=40&eval=5&losses=ce,was&bs=8"


def _step(page) -> int:
    text = page.locator("[data-testid='stMetric']").filter(has_text="Step (each run)").inner_text()
    return int(re.search(r"(\d+) / \d+", text).group(1))


def test_live_ticks_draw_curves(page, app_url):
    page.goto(f"{app_url}/ntl_training_lab?{TINY}")
    wait_for_app(page, timeout_ms=120_000)
    page.get_by_text("Press Start", exact=False).first.wait_for(timeout=120_000)  # first run imports torch
    page.get_by_role("button", name="Start", exact=True).click()
    page.locator("[data-testid='stMetric']").filter(has_text="Step (each run)").wait_for(timeout=120_000)
    first = _step(page)
    # The fragment keeps ticking by itself (run_every): the step count grows with no clicks.
    page.wait_for_function(
        """(first) => {
            const m = [...document.querySelectorAll("[data-testid='stMetric']")]
                .find(e => e.innerText.includes('Step (each run)'));
            const n = m && m.innerText.match(/(\\d+) \\/ \\d+/);
            return n && Number(n[1]) >= Math.min(first + 5, 40);
        }""", arg=first, timeout=120_000)
    page.locator("[data-testid='stPlotlyChart']").first.wait_for(timeout=60_000)
    # Curves drawn (waited for: each tick redraws the chart, so one look could fall between two draws).
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length > 0",
                           timeout=60_000)
    assert_no_exception(page)
    if page.get_by_role("button", name="Pause", exact=True).is_enabled():
        page.get_by_role("button", name="Pause", exact=True).click()
        # The click's rerun finishes the current tick first; Resume is enabled only once that rerun has drawn
        # (or Start, when that last tick ended the run: a finished run offers no Resume).
        expect(page.get_by_role("button", name=re.compile(r"^(Resume|Start)$"))).to_be_enabled(timeout=60_000)
        wait_for_app(page)
    paused = _step(page)
    page.wait_for_timeout(2_000)
    assert _step(page) == paused  # Pause stops the timer
    assert_no_exception(page)


def test_gallery_run_opens_in_the_replay_tab(page, app_url):
    page.goto(f"{app_url}/ntl_training_lab?{TINY}")
    wait_for_app(page, timeout_ms=120_000)
    page.get_by_role("tab", name="Replay a run directory").click()
    page.get_by_text("Prepared run (gallery)", exact=False).first.wait_for(timeout=60_000)
    page.locator("[data-testid='stSelectbox']").filter(has_text="Prepared run (gallery)").click()
    page.get_by_role("option").filter(has_text="gallery/").first.click()
    page.get_by_role("button", name="Open run", exact=True).click()
    # The replay draws the curves with their seed bands and a verdict over the gallery's seeds.
    page.get_by_text("mean of 5 seeds", exact=False).first.wait_for(timeout=60_000)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length > 0",
                           timeout=60_000)
    assert_no_exception(page)


def test_deepmind_task_shows_its_questions_as_students_read_them(page, app_url):
    page.goto(f"{app_url}/ntl_training_lab?preset=tiny&task=dm:numbers__place_value&difficulty=easy")
    wait_for_app(page, timeout_ms=120_000)
    # DeepMind's generator writes the questions on the server (first use imports sympy: slow on a cold box).
    page.get_by_text("Test questions look like:").first.wait_for(timeout=180_000)
    shown = page.get_by_text("Test questions look like:").first.inner_text()
    assert re.search(r"What is the \w+( \w+)? digit of \d+\?", shown)
    task_box = page.locator("[data-testid='stSelectbox']").filter(has_text="Task").first
    shown_task = task_box.inner_text() + " " + " ".join(
        task_box.locator("input").evaluate_all("els => els.map(e => e.value || e.getAttribute('aria-label') || '')"))
    assert "DeepMind: name one digit of a number" in shown_task  # the picker's readable label
    assert_no_exception(page)
