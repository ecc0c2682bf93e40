"""Charts fit a projector: at 1024 px and 1400 px no chart's titles overlap or leave the chart.

The defect this catches: at 1024 px the five panel titles of the sweep and gradient charts ran
together and the chart title and the WAS formula were cut off. Titles are compared by their
bounding boxes in the real browser; a screenshot per width and page is kept under
``test-artifacts/screens/`` (git-ignored) for a human to review.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, assert_no_exception, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
SCREENS = ROOT / "test-artifacts" / "screens"

# Per chart: its box, and the box of every title text (chart title + panel titles) and formula.
_BOXES_JS = """
() => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const charts = [...document.querySelectorAll("[data-testid='stPlotlyChart']")].map(c => {
    const svg = c.querySelector('.main-svg');
    const texts = [...c.querySelectorAll('.gtitle, .annotation-text')]
      .filter(t => t.textContent.trim()).map(t => ({text: t.textContent, box: box(t)}));
    return {box: box(svg), texts};
  });
  const formulas = [...document.querySelectorAll('.katex-display')].map(k => ({
    text: k.textContent.slice(0, 40), overflow: k.scrollWidth - k.clientWidth,
    right: box(k.querySelector('.katex'))[2], parentRight: box(k.parentElement)[2]}));
  // Labels Streamlit cuts with an ellipsis when they do not fit: buttons, widget labels, metric values.
  const clipped = [...document.querySelectorAll(
      "button p, [data-testid='stWidgetLabel'] p, [data-testid='stMetricValue'] div")]
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent);
  return {charts, formulas, clipped, width: window.innerWidth};
}
"""


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1


def _check_layout(page, name: str, width: int) -> int:
    info = page.evaluate(_BOXES_JS)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 5000})  # Streamlit scrolls inside the page: grow it
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENS / f"{name}_{width}.png"))
    for chart in info["charts"]:
        left, _, right, _ = chart["box"]
        texts = chart["texts"]
        for i, a in enumerate(texts):
            assert a["box"][0] >= left - 1 and a["box"][2] <= right + 1, f"{a['text']!r} leaves its chart at {width}px"
            for b in texts[i + 1:]:
                assert not _overlap(a["box"], b["box"]), f"{a['text']!r} overlaps {b['text']!r} at {width}px"
    assert not info["clipped"], f"labels cut off at {width}px: {info['clipped']}"
    for formula in info["formulas"]:
        # KaTeX blocks scroll instead of wrapping: a few px of overflow is sub-pixel rounding, more is cut off.
        assert formula["overflow"] <= 4 and formula["right"] <= formula["parentRight"] + 4, \
            f"formula {formula['text']!r} is cut off at {width}px"
    return len(info["charts"])


@pytest.fixture(params=[1024, 1400], ids=lambda w: f"{w}px")
def sized_page(browser, request):
    """A page at a projector width (1024 px) and a laptop width (1400 px)."""
    context = browser.new_context(viewport={"width": request.param, "height": 900})
    yield context.new_page(), request.param
    context.close()


def test_explorer_chart_titles_do_not_overlap(sized_page, app_url):
    page, width = sized_page
    page.goto(f"{app_url}/ntl_explorer?preset=neighbour&target=4&temp=5")
    wait_for_app(page)
    page.locator("[data-testid='stPlotlyChart'] .main-svg").nth(3).wait_for(timeout=60_000)
    page.wait_for_timeout(1000)  # plotly lays titles out after the first paint
    assert_no_exception(page)
    assert _check_layout(page, "explorer", width) == 4


def test_generator_charts_fit(sized_page, app_url):
    page, width = sized_page
    page.goto(f"{app_url}/qcbnn_generator?q=8&step=3")
    wait_for_app(page, timeout_ms=240_000)
    page.locator(".js-plotly-plot").nth(4).wait_for(timeout=240_000)
    page.wait_for_timeout(1000)
    assert_no_exception(page)
    image = page.locator("[data-testid='stImage'] img").first
    img_box, main_box = image.bounding_box(), page.locator("[data-testid='stMain']").bounding_box()
    assert img_box["x"] + img_box["width"] <= main_box["x"] + main_box["width"] + 1  # circuit not cut off
    assert _check_layout(page, "generator", width) >= 5
