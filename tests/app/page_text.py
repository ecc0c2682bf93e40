"""What a reader sees of the pages' Markdown: user text there is backslash-escaped (pages/_ui/plain_text.py)."""
import re


def shown(markdown: str) -> str:
    """``markdown`` without its backslash escapes."""
    return re.sub(r"\\(.)", r"\1", markdown)
