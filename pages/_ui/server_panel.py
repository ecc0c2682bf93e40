"""The server's timing made visible: a line in the server log every minute, and the ``?debug=1`` panel.

The numbers come from :mod:`pages._ui.server_timing` (page runs and training ticks of this web process)
and from the training slots (runs training and queued).
"""
from __future__ import annotations

import threading
import time

import pandas as pd
import streamlit as st
from streamlit.logger import get_logger

from labkit.timing import TimingStore, percentile
from pages._ui.slots import TrainingSlots

LOG_EVERY_S = 60.0
PANEL_WINDOW_S = 300.0  # the debug panel summarises the last five minutes
_log = get_logger(__name__)  # Streamlit's handler: INFO lines reach the server's terminal


def active_sessions() -> int | None:
    """Browser sessions connected now; None outside a running server (AppTest) or if Streamlit changes."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return None
    manager = getattr(Runtime.instance(), "_session_mgr", None)  # no public count in Streamlit 1.5x-1.6x
    count = getattr(manager, "num_active_sessions", None)
    return count() if callable(count) else None


def log_timing(store: TimingStore, slots: TrainingSlots, window_s: float = LOG_EVERY_S) -> str:
    """Write (and return) the server log's timing line for the last ``window_s`` seconds."""
    line = "class server, " + store.summary_line(active_sessions(), slots.in_use(), slots.waiting(), window_s)
    _log.info(line)
    return line


def start_timing_log(store: TimingStore, slots: TrainingSlots, every_s: float = LOG_EVERY_S) -> threading.Thread:
    """A daemon thread that calls :func:`log_timing` every ``every_s`` seconds, for the server's lifetime."""
    def loop() -> None:
        while True:
            time.sleep(every_s)
            try:
                log_timing(store, slots, every_s)
            except Exception:  # noqa: BLE001 - the log line must never take the server down
                _log.exception("timing log line failed")

    thread = threading.Thread(target=loop, daemon=True, name="timing-log")
    thread.start()
    return thread


def draw_debug_panel(store: TimingStore, slots: TrainingSlots) -> None:
    """The ``?debug=1`` panel in the sidebar: the log line, page-run times per page and each run's speed."""
    with st.sidebar.expander("Server timing (debug)", expanded=True):
        st.caption(store.summary_line(active_sessions(), slots.in_use(), slots.waiting(), PANEL_WINDOW_S))
        pages = store.page_times(PANEL_WINDOW_S)
        if pages:
            st.dataframe(pd.DataFrame([{"page": page, "runs": len(t), "p50 s": round(percentile(t, 50), 3),
                                        "p95 s": round(percentile(t, 95), 3)} for page, t in pages.items()]),
                         hide_index=True, width="stretch")
        rates = store.run_rates(PANEL_WINDOW_S)
        if rates:
            st.dataframe(pd.DataFrame([{"run": run, "models": r.models, "steps/s per model": round(r.steps_per_s, 2),
                                        "CPU share": None if r.cpu_share is None else f"{r.cpu_share:.0%}",
                                        "ticks": r.ticks} for run, r in rates.items()]),
                         hide_index=True, width="stretch")
