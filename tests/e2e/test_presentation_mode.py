"""Presentation for a class: no Deploy button or toolbar, and the sidebar folds away on narrow screens."""
import pytest

from tests.e2e.conftest import assert_no_exception, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _sidebar_expanded(pg) -> bool:
    sidebar = pg.locator("[data-testid='stSidebar']")
    sidebar.wait_for(state="attached")
    box = sidebar.bounding_box()
    return sidebar.get_attribute("data-collapsed") == "false" and box is not None and box["x"] + box["width"] > 0


@pytest.mark.parametrize(("width", "expanded"), [(1400, True), (1024, True), (600, False)])
def test_sidebar_folds_only_on_narrow_screens_and_no_deploy_button(browser, app_url, width, expanded):
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        pg = context.new_page()
        pg.goto(app_url, timeout=120_000)  # a loaded CI box can take longer than the 30 s default
        wait_for_app(pg)
        pg.get_by_text("Number Token Loss", exact=False).first.wait_for()
        assert _sidebar_expanded(pg) is expanded
        assert pg.get_by_role("button", name="Deploy").count() == 0
        if expanded:  # on a narrow screen the top bar carries only the button that opens the sidebar
            assert pg.locator("[data-testid='stToolbar']").filter(visible=True).count() == 0
        assert_no_exception(pg)
    finally:
        context.close()
