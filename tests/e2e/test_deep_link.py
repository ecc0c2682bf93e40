import pytest

from tests.e2e.conftest import assert_no_exception, running_app, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_shared_link_opens_in_the_app_shell_on_a_fresh_server(page):
    # A fresh server: the first visitor arrives by a teacher's link, not via Home.
    with running_app() as url:
        page.goto(f"{url}/ntl_explorer?target=7")
        wait_for_app(page)
        page.get_by_text("Quantum-Classical BNN", exact=True).first.wait_for(timeout=60_000)  # nav sections
        assert page.get_by_text("ntl explorer", exact=True).count() == 0  # no file-name page list
        assert "target=7" in page.url
        assert_no_exception(page)
