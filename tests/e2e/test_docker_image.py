"""Build the Docker image and check that the container serves the app (only where docker runs).

Slow (the first build downloads CPU torch and the requirements). Skipped, with the reason, where the
``docker`` command is missing or its daemon cannot be reached.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "ntl-qcbnn-lab:smoke-test"
pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def _docker_or_skip() -> None:
    if shutil.which("docker") is None:
        pytest.skip("docker is not installed here: the image build is not checked")
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        pytest.skip(f"docker is installed but its daemon cannot be reached: {info.stderr.strip()[:200]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_image_builds_and_serves_the_app():
    _docker_or_skip()
    build = subprocess.run(["docker", "build", "-t", IMAGE, str(ROOT)], capture_output=True, text=True, timeout=3600)
    assert build.returncode == 0, build.stderr[-3000:]
    version = subprocess.run(["docker", "run", "--rm", IMAGE, "python", "-c", "import torch; print(torch.__version__)"],
                             capture_output=True, text=True, timeout=300)
    assert version.stdout.strip().endswith("+cpu"), version.stdout + version.stderr  # the CPU wheel, not CUDA
    port = _free_port()
    container = subprocess.run(["docker", "run", "-d", "-p", f"127.0.0.1:{port}:8501", IMAGE],
                               capture_output=True, text=True, timeout=120).stdout.strip()
    try:
        deadline, health = time.monotonic() + 180, None
        while time.monotonic() < deadline and health != b"ok":
            try:
                health = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=3).read()
            except OSError:
                time.sleep(2)
        assert health == b"ok", subprocess.run(["docker", "logs", container], capture_output=True, text=True).stderr
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).status == 200
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, timeout=120)
