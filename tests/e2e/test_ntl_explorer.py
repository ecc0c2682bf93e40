"""The loss explorer in a real browser: it loads, a control moves, charts draw, nothing raises."""
import re

import pytest

from ntl_core.scoring import preset_logits, score_digit
from tests.e2e.conftest import assert_no_exception, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_explorer_slider_rerenders_without_exception(page, app_url):
    page.goto(f"{app_url}/ntl_explorer?preset=peaked&target=4")
    wait_for_app(page)
    page.get_by_text("How to use", exact=False).first.wait_for()
    charts = page.locator("[data-testid='stPlotlyChart'] .main-svg")
    charts.first.wait_for(timeout=30_000)
    assert_no_exception(page)

    # Move the "True digit" slider one step to the right with the keyboard, as a student could.
    thumb = page.get_by_role("slider", name=re.compile("True digit"))
    thumb.focus()
    thumb.press("ArrowRight")
    page.wait_for_url(re.compile(r"target=5"), timeout=30_000)
    wait_for_app(page)
    assert_no_exception(page)
    assert page.locator("[data-testid='stPlotlyChart']").count() == 4
    assert charts.first.is_visible()
    # The preset follows the true digit: the peak moved to 5 and the metrics show its CE.
    ce = score_digit(5, logits=preset_logits("peaked", 5)).losses["CE"]
    page.locator("[data-testid='stMetricValue']", has_text=f"{ce:.4f}").first.wait_for(timeout=10_000)
