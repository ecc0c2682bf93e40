"""User text inside Markdown renders as exactly that text (checked against an independent CommonMark renderer)."""
import html

from hypothesis import given, settings, strategies as st
from markdown_it import MarkdownIt

from pages._ui.plain_text import plain, safe_name

MD = MarkdownIt("commonmark")
HOSTILE = ["[Your account expired](https://evil.example)", "![t](https://evil.example/t.png)", "<https://evil.example>",
           "**bold** _em_ `code`", "# heading", "1. list", "> quote", ":red[alert] :smile:", "$x^2$", "a\\\nb", "<b>hi</b>",
           "www.evil.example", "| a | b |", "\t0", "    code"]


def _renders_as(markdown: str) -> str:
    return MD.render(markdown)


@given(st.one_of(st.sampled_from(HOSTILE), st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
                                                      max_size=60)))
@settings(max_examples=300, deadline=None)
def test_plain_renders_as_the_text_itself(text):
    line = " ".join(text.splitlines()).replace("\t", " ").strip()
    rendered = _renders_as(plain(text))
    inner = rendered.removeprefix("<p>").removesuffix("</p>\n")
    assert not any(tag in rendered for tag in ("<a", "<img", "<em", "<strong", "<code", "<h1", "<ol", "<blockquote"))
    if line.strip():
        assert html.unescape(inner).replace("\n", " ") == line


def test_no_bare_link_can_form_and_long_values_are_cut():
    assert "://" not in plain("https://evil.example") and "www." not in plain("www.evil.example")
    assert plain("x" * 100, max_chars=10) == "x" * 10 + "…"


def test_names_from_an_upload_keep_only_safe_characters():
    assert safe_name("[Your account expired](https:evil.com)") == "_Your_account_expired__https_evil.com_"
    assert safe_name("<a href=x>") == "_a_href_x_" and safe_name("") == "_" and len(safe_name("a" * 99)) == 40
