"""The explorer's instant panel in a real browser: a slider move updates its numbers with no server run."""
import pytest

from ntl_core.scoring import preset_logits, score_digit
from pages._ui.explorer_state import rounded
from tests.e2e.conftest import assert_no_exception, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_instant_panel_matches_scoring_after_a_drag(page, app_url):
    page.goto(f"{app_url}/ntl_explorer?preset=peaked&target=3&temp=1")
    wait_for_app(page)
    page.get_by_text("Instant sandbox", exact=False).first.click()
    frame = page.frame_locator("iframe[title='st.iframe'], iframe").first
    frame.locator("body[data-ready='1']").wait_for(timeout=30_000)
    logits = rounded(preset_logits("peaked", 3))
    slider = frame.get_by_label("instant logit z8")
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")  # +0.05 on z8
    frame.locator("body[data-updates='5']").wait_for(timeout=10_000)
    logits[8] = round(logits[8] + 0.05, 2)
    expected = score_digit(3, logits=logits)
    for name in ("CE", "NTL-MSE", "NTL-WAS"):
        assert frame.locator(f"[id='m-{name}']").inner_text() == f"{expected.losses[name]:.4f}", name
    frame.get_by_label("instant true digit").focus()
    frame.get_by_label("instant true digit").press("ArrowRight")  # true digit 4, no server involved
    assert frame.locator("[id='m-CE']").inner_text() == f"{score_digit(4, logits=logits).losses['CE']:.4f}"
    assert "target=3" in page.url  # the server-side view did not move
    assert_no_exception(page)
