"""Browser tests: the QCBNN generator steps through a draw; the training page trains a tiny run live."""
import re

import pytest

from tests.e2e.conftest import assert_no_exception, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

TINY = "ntrain=24&epochs=2&bs=16&strain=2&seval=8&study_epochs=1&study=ry_cnot"


def _progress_text(page) -> str:
    return page.locator("[data-testid='stProgress']").first.inner_text()


def test_generator_steps_through_a_draw(page, app_url):
    page.goto(f"{app_url}/qcbnn_generator")
    wait_for_app(page, timeout_ms=120_000)
    page.get_by_text("Step 1 of 8: Noise z").wait_for(timeout=240_000)  # cold start: PennyLane import
    page.locator("[data-testid='stImage'] img").first.wait_for(timeout=60_000)  # circuit drawn (matplotlib)
    for expected in ("Step 2 of 8: Encoding", "Step 3 of 8: After layer 1"):
        page.get_by_role("button", name="Next step ▶").click()
        page.get_by_text(expected).wait_for(timeout=60_000)
    assert "step=2" in page.url  # the step is in the URL
    page.locator(".js-plotly-plot").nth(3).wait_for(timeout=60_000)  # step chart, shots, histogram, correlations
    assert_no_exception(page)


def _steps_done(page) -> int:
    text = page.locator("[data-testid='stMetric']").filter(has_text="Optimiser steps").first.inner_text()
    return int(re.search(r"(\d+) / \d+", text).group(1))


def test_training_page_runs_live_ticks(page, app_url):
    page.goto(f"{app_url}/qcbnn_training?{TINY}")
    wait_for_app(page, timeout_ms=120_000)
    # BreastMNIST (the paper's data) is the default: its source, its base rate and real images, no "synthetic" tag.
    page.get_by_text("BreastMNIST (MedMNIST v2)").first.wait_for(timeout=240_000)
    page.get_by_text(re.compile(r"scores accuracy 0\.731 \(the base rate\)")).first.wait_for(timeout=60_000)
    page.locator("[data-testid='stImage'] img").first.wait_for(timeout=60_000)
    assert page.get_by_text("SYNTHETIC images").count() == 0
    page.get_by_role("button", name="Start").first.click()
    page.locator("[data-testid='stMetric']").filter(has_text="Optimiser steps").first.wait_for(timeout=120_000)
    # The fragment keeps ticking by itself (run_every) until the tiny run is finished: 16 of 16 steps (QCBNN, BNN
    # and the MLP and CNN controls), results drawn.
    page.get_by_text("Finished: 2 epochs.").wait_for(timeout=240_000)
    assert _steps_done(page) == 16
    page.get_by_text("Does the model know when it is wrong?").wait_for(timeout=120_000)
    page.get_by_text(re.compile(r"QCBNN: gap [+-]\d\.\d{3}")).first.wait_for(timeout=60_000)  # one seed, neutral
    # Neutral, not green: the one-seed box's colour differs from the success box's ("Finished: …").
    colour = lambda text: page.locator("[data-testid='stAlertContainer']").filter(has_text=text).first.evaluate(  # noqa: E731
        "e => getComputedStyle(e).backgroundColor")
    assert colour("One seed") != colour("Finished: 2 epochs.")
    page.locator(".js-plotly-plot").nth(3).wait_for(timeout=60_000)  # curves, weights, uncertainty, reliability
    assert_no_exception(page)
