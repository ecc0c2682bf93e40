"""The Dockerfile serves the app as `make serve` does, with the CPU torch the Makefile pins.

Building the image is tests/e2e/test_docker_image.py (where docker runs); these checks need no docker.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    rows = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(row.split(None, 1)[0].upper(), row.split(None, 1)[1] if " " in row else "") for row in rows]


def test_base_image_and_cpu_torch_pinned_like_the_makefile():
    instructions = _instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    make_spec = re.search(r"^TORCH_SPEC \?= (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert ("ARG", f"TORCH_SPEC={make_spec}") in instructions
    torch_install = [args for kind, args in instructions if kind == "RUN" and "TORCH_SPEC" in args]
    # The CPU index: without it pip would fetch PyPI's CUDA build (the local-disk wheel is not in the image).
    assert torch_install and "--index-url https://download.pytorch.org/whl/cpu" in torch_install[0]
    requirements = next(i for i, (kind, args) in enumerate(instructions) if "-r requirements.txt" in args)
    assert instructions.index(("RUN", torch_install[0])) < requirements  # torch first, as `make` does


def test_served_like_make_serve_with_a_health_check():
    kinds = dict(_instructions())
    cmd = json.loads(kinds["CMD"])  # the exec form: no shell between Docker and Streamlit
    assert cmd[:3] == ["streamlit", "run", "app.py"]
    flags = dict(zip(cmd[3::2], cmd[4::2]))
    assert flags == {"--server.address": "0.0.0.0", "--server.port": "8501", "--server.headless": "true"}
    assert kinds["EXPOSE"] == "8501" and "/_stcore/health" in kinds["HEALTHCHECK"]
    assert kinds["USER"] != "root"
    # The class settings (no tracebacks, no file watcher, upload cap) come from the repository's config.
    assert ".streamlit" not in (ROOT / ".dockerignore").read_text()


def test_the_image_leaves_out_what_the_server_does_not_need():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "tests", "runs"} <= ignored
    assert not {"gallery", "docs", "pages", "labkit", "ntl_core", "qcbnn_core"} & ignored  # the app reads these
