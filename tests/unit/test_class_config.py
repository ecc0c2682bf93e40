"""The class settings in .streamlit/config.toml that the docs and the hardening rely on (docs/running_a_class.md)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

CONFIG = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())


def test_students_see_no_tracebacks_and_uploads_are_small():
    assert CONFIG["client"]["showErrorDetails"] == "none"
    assert CONFIG["server"]["maxUploadSize"] <= 10
    assert CONFIG["server"]["enableXsrfProtection"] is True
    assert CONFIG["ui"]["hideTopBar"] is True


def test_no_full_garbage_collection_after_every_script_run():
    # 72 % of the web server's CPU with 10 students (py-spy); the worker reaper collects every 10 s instead.
    assert CONFIG["runner"]["postScriptGC"] is False


ROOT = Path(__file__).resolve().parents[2]


def test_streamlit_started_from_the_repository_has_no_file_watcher():
    # What Streamlit itself reads from .streamlit/config.toml (as `make run`, `make serve` and the Dockerfile
    # start it): a watcher over the tree, .venv included, overflowed inotify's queue thousands of times a run.
    code = ("from streamlit import config; config.get_config_options(force_reparse=True); "
            "print(config.get_option('server.fileWatcherType'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "none", out.stderr[-1000:]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("target", ["run", "serve"])
def test_make_targets_do_not_turn_the_watcher_back_on(target):
    dry = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    launch = [line for line in dry.stdout.splitlines() if "streamlit run app.py" in line]
    assert launch and not any("fileWatcherType" in line and "fileWatcherType none" not in line for line in launch)
