"""The guided tour in a real browser: from home, through every stop, onto the generator."""
import re

import pytest

from pages._ui.tour import STOPS
from tests.e2e.conftest import assert_no_exception, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_tour_from_home_through_every_stop(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_role("button", name="Start the guided tour").click()
    for index, stop in enumerate(STOPS, 1):
        page.get_by_text(f"Guided tour, stop {index} of {len(STOPS)}: {stop.title}.").wait_for(timeout=240_000)
        page.wait_for_url(re.compile(rf"tour={index}"), timeout=30_000)
        for key, value in stop.params.items():
            assert f"{key}={value.replace(',', '%2C')}" in page.url or f"{key}={value}" in page.url, (index, key)
        wait_for_app(page, timeout_ms=240_000)
        assert_no_exception(page)
        if index < len(STOPS):
            page.get_by_role("button", name="Next stop ▶").click()
    assert "qcbnn_generator" in page.url
    page.get_by_role("button", name="◀ Previous stop").click()
    page.get_by_text(f"stop {len(STOPS) - 1} of {len(STOPS)}").first.wait_for(timeout=60_000)
    assert "ntl_explorer" in page.url and "mode=number" in page.url
