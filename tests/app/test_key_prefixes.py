"""Session-state keys follow the registry's rule (pages/_ui/registry.py): a page's keys carry its prefix.

Read with ``ast``: the literal keys (``key="…"``, ``st.session_state["…"]``, ``.get/.pop("…")``) and the
key-building constants (``K``, ``*_KEY``) of each page script and of the ``pages/_ui`` modules only that
page imports; modules several pages import must use the shared prefixes.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pages._ui.registry import HOME, PAGES, SHARED_PREFIXES

ROOT = Path(__file__).resolve().parents[2]


def _ui_imports(path: Path) -> set[Path]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pages._ui"):
            names = [f"{node.module}.{a.name}" for a in node.names] if node.module == "pages._ui" else [node.module]
            found |= {ROOT / (n.replace(".", "/") + ".py") for n in names}
    return {p for p in found if p.is_file()}


def _reachable(script: Path) -> set[Path]:
    seen, todo = set(), list(_ui_imports(script))
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += _ui_imports(path)
    return seen


def _keys(path: Path) -> set[str]:
    keys = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.keyword) and node.arg == "key" and isinstance(node.value, ast.Constant):
            keys.add(node.value.value)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "session_state" and isinstance(node.slice, ast.Constant):
            keys.add(node.slice.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("get", "pop", "setdefault") and isinstance(node.func.value, ast.Attribute) \
                and node.func.value.attr == "session_state" and node.args and isinstance(node.args[0], ast.Constant):
            keys.add(node.args[0].value)
        elif isinstance(node, ast.Assign):  # K = "ntlx_"; LAB_KEY, STUDY_KEY = "qt_lab", "qt_study"
            targets = [t for target in node.targets
                       for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            for target, value in zip(targets, values):
                if isinstance(target, ast.Name) and (target.id == "K" or target.id.endswith("_KEY")) \
                        and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    keys.add(value.value)
    return {k for k in keys if isinstance(k, str)}


SCRIPTS = {info.key_prefix: ROOT / info.path for info in [HOME, *PAGES]}
USERS: dict[Path, set[str]] = {}
for _prefix, _script in SCRIPTS.items():
    for _module in _reachable(_script):
        USERS.setdefault(_module, set()).add(_prefix)


def _follows(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key.startswith(p) or key == p.rstrip("_") for p in prefixes)


def test_every_page_has_its_own_prefix():
    prefixes = list(SCRIPTS)
    assert all(p.endswith("_") and len(p) > 1 for p in prefixes) and len(set(prefixes)) == len(prefixes)
    assert not set(prefixes) & set(SHARED_PREFIXES)


@pytest.mark.parametrize("prefix", list(SCRIPTS))
def test_a_pages_keys_carry_its_prefix(prefix):
    owned = [SCRIPTS[prefix], *(m for m, users in USERS.items() if users == {prefix})]
    bad = {str(p.relative_to(ROOT)): sorted(k for k in _keys(p) if not _follows(k, (prefix, *SHARED_PREFIXES)))
           for p in owned}
    assert not {k: v for k, v in bad.items() if v}


def test_shared_modules_use_shared_prefixes():
    shared = [m for m, users in USERS.items() if len(users) > 1]
    assert shared, "the sidebar module is shared by every page"
    bad = {str(p.relative_to(ROOT)): sorted(k for k in _keys(p) if not _follows(k, SHARED_PREFIXES)) for p in shared}
    assert not {k: v for k, v in bad.items() if v}


def test_the_checker_sees_a_foreign_key(tmp_path):
    page = tmp_path / "page.py"
    page.write_text('import streamlit as st\nst.slider("x", key="gen_q")\nK = "lab_"\nst.session_state.get("qt_a")\n')
    assert _keys(page) == {"gen_q", "lab_", "qt_a"}
    assert not _follows("gen_q", ("lab_", *SHARED_PREFIXES)) and _follows("lab", ("lab_",))
