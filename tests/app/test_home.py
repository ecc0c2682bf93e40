from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def test_home_renders_links_and_seed():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert "Number Token Loss" in at.title[0].value
    seed = at.sidebar.number_input[0]
    assert seed.value == 0
    seed.set_value(7).run()
    assert not at.exception
    assert at.query_params["seed"] == ["7"] or at.query_params["seed"] == "7"
