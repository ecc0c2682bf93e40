import pytest

from tests.e2e.conftest import assert_no_exception, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_home_loads_and_shows_device(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_text("Number Token Loss", exact=False).first.wait_for()
    page.get_by_text("Compute device", exact=False).first.wait_for()
    assert_no_exception(page)
