"""The import graph of the project, read with ``ast`` (nothing is imported), obeys the layering rules.

- ``ntl_core`` and ``qcbnn_core`` import neither each other nor Streamlit nor ``pages``; what they share
  lives in ``labkit``.
- ``labkit`` imports neither core, nor ``pages``, nor Streamlit.
- No import cycles among the project's modules; imports inside functions count too, because a lazy
  import only hides a cycle, it does not remove it.
- Nothing in ``notebooks/`` or ``benchmarks/`` imports ``pages`` (they are callers of the cores).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("labkit", "ntl_core", "qcbnn_core", "pages")
CORES = ("ntl_core", "qcbnn_core")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``tree`` imports anywhere (relative imports resolved).

    ``from pkg import name`` imports the module ``pkg.name`` when there is one, else ``pkg`` itself.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in known else base)
    return (found & known) - {module}


def build_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Project module -> the project modules it imports (module level and inside functions alike)."""
    files = {module_name(p, root): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    return {module: imported_modules(ast.parse(path.read_text(), str(path)), module, path.name == "__init__.py",
                                     set(files))
            for module, path in files.items()}


def external_imports(path: Path) -> set[str]:
    """Top-level package names imported anywhere in ``path`` (absolute imports only)."""
    tree = ast.parse(path.read_text(), str(path))
    tops: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            tops.add(node.module.split(".")[0])
    return tops


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def _files(*packages: str) -> list[Path]:
    return [p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py"))]


@pytest.mark.parametrize("core", CORES)
def test_cores_import_only_themselves_labkit_and_third_party(core):
    forbidden = {"streamlit", "pages", *CORES} - {core}
    bad = {str(p.relative_to(ROOT)): sorted(external_imports(p) & forbidden) for p in _files(core)}
    assert not {k: v for k, v in bad.items() if v}


def test_labkit_imports_no_core_no_pages_no_streamlit():
    bad = {str(p.relative_to(ROOT)): sorted(external_imports(p) & {"streamlit", "pages", *CORES})
           for p in _files("labkit")}
    assert not {k: v for k, v in bad.items() if v}


def test_no_import_cycles_in_the_project():
    assert find_cycles(build_graph(ROOT)) == []


def test_notebooks_and_benchmarks_do_not_import_pages():
    files = sorted((ROOT / "notebooks").glob("*.py")) + sorted((ROOT / "benchmarks").glob("*.py"))
    assert files, "expected notebook and benchmark sources"
    assert [str(p.relative_to(ROOT)) for p in files if "pages" in external_imports(p)] == []


def test_no_file_edits_sys_path():
    sources = [ROOT / "app.py", *_files(*PACKAGES, "tests", "benchmarks", "notebooks"),
               *sorted(ROOT.glob("notebooks/*.ipynb"))]
    assert [str(p.relative_to(ROOT)) for p in sources if "sys.path" in p.read_text()
            and p != Path(__file__).resolve()] == []


def test_the_checker_sees_cycles_lazy_imports_and_relative_imports(tmp_path):
    # A checker that cannot fail proves nothing: a two-module cycle through a function-level relative import.
    pkg = tmp_path / "demo"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from demo.b import g\n")
    (pkg / "b.py").write_text("def g():\n    from .a import f\n")
    (pkg / "c.py").write_text("from demo import a\nimport streamlit as st\n")
    graph = build_graph(tmp_path, ("demo",))
    assert graph["demo.c"] == {"demo.a"}
    assert find_cycles(graph) == [["demo.a", "demo.b"]]
    assert "streamlit" in external_imports(pkg / "c.py")
