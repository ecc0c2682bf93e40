"""The class settings in .streamlit/config.toml that the docs and the hardening rely on (docs/running_a_class.md)."""
from __future__ import annotations

import tomllib
from pathlib import Path

CONFIG = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())


def test_students_see_no_tracebacks_and_uploads_are_small():
    assert CONFIG["client"]["showErrorDetails"] == "none"
    assert CONFIG["server"]["maxUploadSize"] <= 10
    assert CONFIG["server"]["enableXsrfProtection"] is True
    assert CONFIG["ui"]["hideTopBar"] is True


def test_no_full_garbage_collection_after_every_script_run():
    # 72 % of the web server's CPU with 10 students (py-spy); the worker reaper collects every 10 s instead.
    assert CONFIG["runner"]["postScriptGC"] is False
