import pytest


@pytest.fixture(autouse=True)
def runs_in_process(monkeypatch):
    """Page tests train in this process (AppTest's runs are synchronous); tests/unit/test_workers.py and the
    browser tests cover the worker processes."""
    monkeypatch.setenv("APP_WORKER_BACKEND", "inprocess")
    monkeypatch.delenv("APP_RAY_ADDRESS", raising=False)
