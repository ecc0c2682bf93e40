"""Execute the tutorial notebooks and store their outputs in the committed ``.ipynb`` files.

The ``.py`` file (jupytext percent format) is the source you edit; this script turns it into the
paired ``.ipynb``, runs it top to bottom at the small default size (``NB_FAST=1``, seed 0) and
writes the notebook *with* its outputs, so a student reading it on GitHub sees every table and
chart. Charts are stored twice: the interactive plotly JSON (Jupyter) and a PNG (GitHub cannot run
JavaScript), rendered by kaleido with the system Chromium.

Usage (from the repository root)::

    python notebooks/store_outputs.py                 # every notebook
    python notebooks/store_outputs.py 01_number_token_loss

The test suite re-executes every stored notebook with nbmake (outputs are not rewritten there) and
``tests/unit/test_notebooks_stored.py`` checks that each ``.ipynb`` matches its ``.py`` and carries
outputs, so a stale or output-less notebook fails CI.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import jupytext
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHROMIUM = "/usr/bin/chromium"
# plotly reads its default renderer from this variable: JSON for Jupyter plus a PNG for GitHub.
RENDERER = "plotly_mimetype+png"


def store(name: str, timeout: int = 1200) -> Path:
    """Execute ``notebooks/<name>.py`` and write ``notebooks/<name>.ipynb`` with outputs; returns its path."""
    source = HERE / f"{name}.py"
    if not source.exists():
        raise FileNotFoundError(f"no notebook source {source}")
    nb = jupytext.read(source)
    env = {"PLOTLY_RENDERER": RENDERER, "NB_FAST": "1", "NB_SEED": "0", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"}
    if Path(CHROMIUM).exists():
        env.setdefault("BROWSER_PATH", CHROMIUM)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    target = HERE / f"{name}.ipynb"
    jupytext.write(nb, target)
    return target


def main(names: list[str]) -> None:
    for name in names or sorted(p.stem for p in HERE.glob("[0-9][0-9]_*.py")):
        start = time.perf_counter()
        path = store(name)
        print(f"{path.relative_to(ROOT)}: executed in {time.perf_counter() - start:.0f} s, "
              f"{path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main(sys.argv[1:])
