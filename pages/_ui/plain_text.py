"""Text from a URL or a file inside Streamlit's Markdown, shown as exactly that text.

Every alert, caption and ``st.markdown`` renders GitHub-flavoured Markdown, so a URL parameter such as
``[Your account expired](https://…)`` echoed in a warning became a clickable link, and ``![](https://…)``
a remote image (phishing, tracking). :func:`plain` escapes every ASCII punctuation character, which
CommonMark then shows literally: no link, image, autolink, emphasis, HTML, heading, Streamlit colour
directive or ``$`` formula can form, and the reader sees the original characters.
"""
from __future__ import annotations

import re

PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # ASCII punctuation: CommonMark lets a backslash escape each
NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")


def plain(text: object, max_chars: int | None = None) -> str:
    """``text`` as Markdown that renders as that text, its lines joined into one (cut to ``max_chars`` with "…")."""
    line = " ".join(str(text).splitlines()).replace("\t", " ").strip()  # leading blanks would make a code block
    if max_chars is not None and len(line) > max_chars:
        line = line[:max_chars] + "…"
    return PUNCTUATION.sub(r"\\\1", line)


def safe_name(name: str, max_chars: int = 40) -> str:
    """A file or folder name from an upload, reduced to letters, digits and ``_.+-`` (it labels charts,
    whose text plotly reads as HTML, and select boxes)."""
    return NAME_UNSAFE.sub("_", name)[:max_chars] or "_"
