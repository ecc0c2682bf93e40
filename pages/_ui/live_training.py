"""Start / Pause / Step / Reset for a live training session on a page, under the server-wide slot cap.

Any session object with ``running``, ``finished`` and ``tick(budget_s)`` works. Training happens only in
a fragment tick or the Step button, each holding a training slot (``training_slots()``) while it runs;
Pause, Reset, a finished run and an error give the slot back. The fragment reruns every
``TICK_INTERVAL_S`` only while the session is running, so a paused page costs nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import streamlit as st

from pages._ui.common import session_id, training_slots

_log = logging.getLogger(__name__)
TICK_BUDGET_S = 1.0  # training time per tick: Pause waits at most this long; shorter ticks cost more redraws
TICK_INTERVAL_S = 0.5  # below the tick time, so the next tick is already queued when one ends (no idle gap)


def pause(key: str) -> None:
    """Stop the session under ``st.session_state[key]`` (if any) and give this browser session's slot back."""
    live = st.session_state.get(key)
    if live is not None:
        live.running = False
    training_slots().release(session_id())


class LiveSession(Protocol):
    running: bool

    @property
    def finished(self) -> bool: ...

    def tick(self, budget_s: float) -> object: ...


@dataclass(frozen=True)
class LiveControls:
    """Buttons and the ticking fragment for the session stored under ``st.session_state[key]``.

    Args:
        key: session-state key of the session; also the prefix of the button keys (``{key}_start`` …).
        build: makes a new session from the current settings; a ``ValueError`` becomes the page's message.
        busy_hint: what a student can do instead when every slot is taken.
        done_text: the success message of a finished session.
        noun: what one session is called in messages ("run", "comparison").
    """

    key: str
    build: Callable[[], LiveSession]
    busy_hint: str
    done_text: Callable[[LiveSession], str]
    noun: str = "run"

    @property
    def session(self) -> LiveSession | None:
        return st.session_state.get(self.key)

    def _say(self, kind: str, text: str) -> None:
        """Queue a message for the next draw (button callbacks run before the page is drawn)."""
        st.session_state[f"{self.key}_msg"] = (kind, text)

    def _slot_or_say(self) -> bool:
        slots = training_slots()
        if slots.acquire(session_id()):
            return True
        self._say("warning", f"All {slots.max_runs} training slots on this server are busy (other students are "
                             f"training). Wait a minute and press Start again, or {self.busy_hint}.")
        return False

    def _session_or_build(self) -> LiveSession | None:
        if self.session is not None:
            return self.session
        try:
            st.session_state[self.key] = self.build()
        except ValueError as err:
            self._say("error", f"Cannot start: {err}")
            return None
        return self.session

    def _tick(self, live: LiveSession) -> None:
        """One bounded chunk. Any error pauses the session, frees its slot and becomes a message: a
        ``ValueError`` (e.g. a diverging run) with its text, anything else as a generic message (the
        traceback goes to the server log, not to the student)."""
        try:
            live.tick(TICK_BUDGET_S)
        except Exception as err:  # noqa: BLE001 - a tick must never leak its slot or show a traceback
            live.running = False
            training_slots().release(session_id())
            if isinstance(err, ValueError):
                self._say("error", f"Training stopped: {err}")
            else:
                _log.exception("training tick failed")
                self._say("error", f"Training stopped by an internal error ({type(err).__name__}). "
                                   f"Press Reset to start a new {self.noun}; if it happens again, tell your teacher.")

    def _on_start(self) -> None:
        if self.session is not None and self.session.finished:
            self._say("info", f"This {self.noun} is finished. Press Reset to train again.")
            return
        if not self._slot_or_say():  # models are built only once a slot is granted
            return
        live = self._session_or_build()
        if live is None:
            training_slots().release(session_id())
        else:
            live.running = True

    def _on_pause(self) -> None:
        pause(self.key)

    def _on_step(self) -> None:
        if (self.session is not None and self.session.finished) or not self._slot_or_say():
            return
        live = self._session_or_build()
        if live is not None:
            live.running = False
            self._tick(live)
        training_slots().release(session_id())

    def _on_reset(self) -> None:
        self._on_pause()
        st.session_state.pop(self.key, None)

    def buttons(self, started: bool, settings_changed: bool) -> None:
        """Start (Resume once ``started``) / Pause / Step / Reset, and the message the last action left."""
        running = bool(self.session is not None and self.session.running)
        cols = st.columns(4)
        cols[0].button("Resume" if started else "Start", key=f"{self.key}_start", type="primary",
                       on_click=self._on_start, disabled=running, width="stretch")
        cols[1].button("Pause", key=f"{self.key}_pause", on_click=self._on_pause, disabled=not running,
                       width="stretch")
        cols[2].button("Step", key=f"{self.key}_step", on_click=self._on_step, width="stretch",
                       help=f"Train about {TICK_BUDGET_S:g} s worth of steps, then stop.")
        cols[3].button("Reset", key=f"{self.key}_reset", on_click=self._on_reset, width="stretch")
        if settings_changed:
            st.caption(f"Settings changed: press **Reset** to apply them to a new {self.noun}.")
        msg = st.session_state.pop(f"{self.key}_msg", None)
        if msg:
            getattr(st, msg[0])(msg[1])

    def fragment(self, body: Callable[[LiveSession], None], idle_text: str) -> None:
        """Draw ``body(session)``; while running, as a fragment that trains one tick per rerun."""
        live = self.session
        run_every = TICK_INTERVAL_S if live is not None and live.running else None
        st.fragment(run_every=run_every)(self._live_body)(body, idle_text)

    def _live_body(self, body: Callable[[LiveSession], None], idle_text: str) -> None:
        live = self.session
        if live is None:
            st.info(idle_text)
            return
        if live.running:
            self.train_tick(live)
        body(live)

    def train_tick(self, live: LiveSession) -> None:
        """One tick inside the fragment, under a slot; on refusal, error or finish, pause the session and
        rerun the whole page (which draws the message and switches the fragment's timer off)."""
        if not self._slot_or_say():
            live.running = False
            st.rerun()
        self._tick(live)
        if live.finished and live.running:
            live.running = False
            training_slots().release(session_id())
            self._say("success", self.done_text(live))
        if not live.running:
            st.rerun()
