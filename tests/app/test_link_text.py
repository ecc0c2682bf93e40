"""Text from a link is shown as text on the real pages, and the global seed is read like every other parameter."""
from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from tests.app.page_text import shown

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = str(ROOT / "pages" / "qcbnn_generator.py")


def _load(**query: str) -> AppTest:
    at = AppTest.from_file(GENERATOR, default_timeout=120)
    at.query_params.update(query)
    return at.run()


@pytest.mark.parametrize("value", ["[Your account expired](https://evil.example/login)",
                                   "![pixel](https://evil.example/t.png)", "<https://evil.example>"])
def test_markdown_in_a_link_value_is_shown_as_plain_text(value):
    """Issue 22: ``?rot=[Your account expired](https://…)`` rendered as a clickable link in the warning."""
    at = _load(rot=value)
    assert not at.exception
    (warning,) = [w.value for w in at.warning if "rot=" in shown(w.value)]
    html = MarkdownIt("commonmark").render(warning)
    assert "<a" not in html and "<img" not in html and "evil.example" in html


@pytest.mark.parametrize("raw", ["²", "9" * 40, "-3", "abc"])
def test_a_bad_seed_is_warned_about_and_the_link_rewritten(raw):
    """Issue 22: bad ``seed`` values silently became 0 (a 40-digit one crashed the sidebar)."""
    at = _load(seed=raw)
    assert not at.exception
    assert any("seed=" in shown(w.value) and "2147483647" in shown(w.value) for w in at.warning)
    assert at.query_params["seed"] == ["0"] or at.query_params["seed"] == "0"
