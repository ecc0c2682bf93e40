"""The real server records each page run (APP_TIMING_FILE) and shows its timing panel at ?debug=1."""
from __future__ import annotations

import json
import time

import pytest

from tests.e2e.conftest import running_app

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
CHART = "[data-testid='stPlotlyChart'] .main-svg"


def test_page_runs_are_timed_on_the_server_and_shown_at_debug(browser, tmp_path):
    timing = tmp_path / "timing.jsonl"
    with running_app(APP_TIMING_FILE=str(timing)) as url:
        page = browser.new_page()
        try:
            page.goto(f"{url}/ntl_explorer?debug=1", timeout=120_000)
            page.locator(CHART).first.wait_for(timeout=120_000)
            panel = page.get_by_text("Server timing (debug)")
            panel.wait_for(timeout=60_000)
            assert page.get_by_text("runs training", exact=False).count() >= 1
            assert not page.locator("[data-testid='stException']").count()
        finally:
            page.close()
        deadline = time.monotonic() + 30
        rows = []
        while time.monotonic() < deadline and not any(r.get("page") == "ntl_explorer" for r in rows):
            rows = [json.loads(line) for line in timing.read_text().splitlines()] if timing.exists() else []
            time.sleep(0.5)
    explorer = [r for r in rows if r["kind"] == "page" and r["page"] == "ntl_explorer"]
    assert explorer and all(0 < r["seconds"] < 120 for r in explorer)
