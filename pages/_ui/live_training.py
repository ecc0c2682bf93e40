"""Start / Pause / Step / Reset for a live training run on a page, under the server-wide slots and queue.

The run is a :class:`~pages._ui.live_run.LiveRun` in ``st.session_state[key]``: its model lives in a
worker that is started only once a slot is granted. Training happens in the worker, in bounded ticks
inside fragment reruns (or one for the Step button) while this browser session holds a slot. No free slot:
the session waits in a fair queue, sees its position and an estimate, and starts by itself when its
turn comes. Pause, Reset, a finished run and any error give the slot back; one live run per session.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from labkit.cli_args import usable_cpus
from labkit.workers import WorkerError, backend_from_env
from pages._ui.common import session_id, track_worker, training_slots, worker_kind
from pages._ui.live_run import LiveRun, ModelFreed
from pages._ui.plain_text import plain
from pages._ui.redraw import Redraw
from pages._ui.server_timing import busy_note, server_timing
from pages._ui.slots import QueueFull, cpu_split_from_env

_log = logging.getLogger(__name__)
TICK_BUDGET_S = 1.0  # training time per tick: Pause waits at most this long; shorter ticks cost more round trips
TICK_INTERVAL_S = 0.5  # below the tick time, so the next tick is already queued when one ends (no idle gap)
REDRAW_EVERY_S = 5.0  # a fragment run that only ticks ends after this long, so its figures and widgets are redrawn
QUEUE_POLL_S = 2.0  # a waiting page asks for its turn this often (and so keeps its queue place)
OWNER_KEY = "_live_owner"  # which run (session-state key) of this browser session holds or waits for a slot
NOTE_WINDOW_S = 30.0  # the busy-machine note judges the last half minute: recent enough to follow the load


def pause(key: str) -> None:
    """Stop the run under ``st.session_state[key]`` (if any) and give this session's slot or queue place back."""
    live = st.session_state.get(key)
    if live is not None:
        live.running = False
    st.session_state.pop(f"{key}_queued", None)
    if st.session_state.get(OWNER_KEY) in (key, None):
        st.session_state.pop(OWNER_KEY, None)
        training_slots().release(session_id())


def in_fragment_run() -> bool:
    """True in a fragment-only rerun (its timer, a widget inside it), False in a full-page run (a button, a
    setting, every AppTest run)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def machine_note(live: LiveRun) -> str | None:
    """The plain message when other programs on this machine slow ``live`` down (measured), else None.

    The worker's measured CPU share is compared with what the class alone would leave it: its threads, or
    the training cores shared by the runs training now. Not on Ray or a GPU (other cores, other limits).
    """
    if backend_from_env()[0] == "ray" or worker_kind() == "gpu":
        return None
    rate = server_timing().run_rates(NOTE_WINDOW_S, live.id).get(live.id)
    if rate is None:
        return None
    split = cpu_split_from_env()
    cores = len(split.training) if split is not None else usable_cpus()
    expected = min(float(live.spec.threads), cores / max(1, training_slots().in_use()))
    steps_left = live.progress.get("steps_planned", 0) - live.progress.get("steps_done", 0)
    return busy_note(rate, expected, steps_left, NOTE_WINDOW_S)


def show_machine_note(live: LiveRun) -> None:
    note = machine_note(live) if live.running else None
    if note:
        st.warning(note, icon=":material/speed:")


def _minutes(seconds: float) -> str:
    return "under a minute" if seconds < 60 else f"about {round(seconds / 60)} min"


@dataclass(frozen=True)
class LiveControls:
    """Buttons and the ticking fragment for the run stored under ``st.session_state[key]``.

    Args:
        key: session-state key of the run; also the prefix of the button keys (``{key}_start`` …).
        build: makes a new :class:`LiveRun` (a spec, no model) from the current settings; a ``ValueError``
            becomes the page's message.
        busy_hint: what a student can do while waiting for a slot.
        done_text: the success message of a finished run.
        noun: what one run is called in messages ("run", "comparison").
        views_method: the run's method whose answer the result panels draw; fetched on Pause and at
            the end, while the slot is still held (so evaluation never runs outside a slot).
    """

    key: str
    build: Callable[[], LiveRun]
    busy_hint: str
    done_text: Callable[[LiveRun], str]
    noun: str = "run"
    views_method: str | None = None

    @property
    def session(self) -> LiveRun | None:
        return st.session_state.get(self.key)

    @property
    def queued(self) -> bool:
        return bool(st.session_state.get(f"{self.key}_queued"))

    def _say(self, kind: str, text: str) -> None:
        """Queue a message for the next draw (button callbacks run before the page is drawn)."""
        st.session_state[f"{self.key}_msg"] = (kind, text)

    # ---------------------------------------------------------------- slots
    def _other_run_busy(self) -> bool:
        owner = st.session_state.get(OWNER_KEY)
        if owner in (None, self.key):
            return False
        other = st.session_state.get(owner)
        return bool(st.session_state.get(f"{owner}_queued") or (other is not None and other.running))

    def _release(self) -> None:
        st.session_state.pop(f"{self.key}_queued", None)
        if st.session_state.get(OWNER_KEY) == self.key:
            st.session_state.pop(OWNER_KEY, None)
            training_slots().release(session_id())

    def _request(self) -> int | None:
        """0: this session holds a slot; n > 0: n-th in the queue; None: refused (message queued)."""
        if self._other_run_busy():
            self._say("warning", "You already have a run training or waiting on another tab or page: pause it "
                                 "first (one live run per student).")
            return None
        slots = training_slots()
        try:
            position = slots.request(session_id())
        except QueueFull:
            self._say("warning", f"All {slots.max_runs} training slots are busy and {slots.max_queued} students are "
                                 f"already waiting. Try again in a few minutes, or {self.busy_hint}.")
            return None
        st.session_state[OWNER_KEY] = self.key
        return position

    def _queue_text(self, position: int) -> str:
        slots = training_slots()
        estimate = slots.wait_estimate_s(position)
        wait = f"Estimated wait: {_minutes(estimate)}." if estimate is not None else \
            "No run has finished yet, so there is no estimate."
        return (f"All {slots.max_runs} training slots are busy. You are **number {position}** in the queue; "
                f"your {self.noun} starts by itself when a slot frees (keep this tab open). {wait} "
                f"Meanwhile, {self.busy_hint}.")

    # ---------------------------------------------------------------- starting
    def _begin(self) -> bool:
        """This session holds a slot: build the run's spec if needed and start its worker."""
        st.session_state.pop(f"{self.key}_queued", None)
        live = self.session
        try:
            if live is None:
                live = self.build()
                st.session_state[self.key] = live
            if not live.has_model:
                live.open()
                track_worker(live)
        except ModelFreed:
            self._release()
            self._say("warning", f"This {self.noun}'s model was freed (paused too long, or its worker stopped). "
                                 "The curves stay; press Reset to train again.")
            return False
        except ValueError as err:
            st.session_state.pop(self.key, None)
            self._release()
            self._say("error", f"Cannot start: {plain(err)}")
            return False
        return True

    def _on_start(self) -> None:
        if self.session is not None and self.session.finished:
            self._say("info", f"This {self.noun} is finished. Press Reset to train again.")
            return
        position = self._request()
        if position == 0:
            if self._begin():
                self.session.running = True
        elif position is not None:
            st.session_state[f"{self.key}_queued"] = True
            self._say("info", self._queue_text(position))

    def _on_pause(self) -> None:
        live = self.session
        if live is not None and live.running:
            live.running = False
            self._settle(live)
        self._release()

    def _on_step(self) -> None:
        if (self.session is not None and self.session.finished) or self.queued:
            return
        if self._other_run_busy():
            self._request()  # says why
            return
        if not training_slots().acquire(session_id()):  # Step does not queue: it is a one-off
            self._say("warning", f"All {training_slots().max_runs} training slots are busy. Press Start to "
                                 f"queue, or {self.busy_hint}.")
            return
        st.session_state[OWNER_KEY] = self.key
        if self._begin():
            live = self.session
            live.running = False
            if self._tick(live):
                self._finish_or_settle(live)
        self._release()

    def _on_reset(self) -> None:
        live = self.session
        if live is not None:
            live.free()
        st.session_state.pop(self.key, None)
        self._release()

    # ---------------------------------------------------------------- training
    def _fail(self, live: LiveRun, kind: str, text: str) -> None:
        live.running = False
        self._release()
        self._say(kind, text)

    def _tick(self, live: LiveRun) -> bool:
        """One bounded chunk in the worker. Any error pauses the run, frees the slot and becomes a
        message: a ``ValueError`` (bad settings, a diverging run) with its text, anything else as a
        generic message (the traceback goes to the server log, never to the student). True if it trained."""
        try:
            live.tick(TICK_BUDGET_S)
            return True
        except ModelFreed:
            self._fail(live, "warning", f"This {self.noun}'s model was freed (paused too long, or the server "
                                        "restarted its worker). The curves stay; press Reset to train again.")
        except ValueError as err:
            if not live.started:  # the worker could not even build it: as if Start had been refused
                live.free()
                st.session_state.pop(self.key, None)
                self._fail(live, "error", f"Cannot start: {plain(err)}")
            else:
                self._fail(live, "error", f"Training stopped: {plain(err)}")
        except Exception as err:  # noqa: BLE001 - a tick must never leak its slot or show a traceback
            _log.exception("training tick failed")
            live.free()
            what = err.kind if isinstance(err, WorkerError) else type(err).__name__
            self._fail(live, "error", f"Training stopped by an internal error ({what}). Press Reset to start a "
                                      f"new {self.noun}; if it happens again, tell your teacher.")
        return False

    def _settle(self, live: LiveRun) -> None:
        """Fetch the result views while the slot is held; a slow or failing evaluation becomes a message."""
        try:
            live.settle(self.views_method)
        except (ValueError, WorkerError, ModelFreed) as err:
            _log.warning("views of a run failed: %s", err)
            self._say("warning", f"The results could not be computed ({plain(err)}).")

    def _finish_or_settle(self, live: LiveRun) -> None:
        """After a Step: at the end, fetch the views and free the worker; else just fetch the views."""
        self._settle(live)
        if live.finished:
            live.free()
            self._say("success", self.done_text(live))

    def train_tick(self, live: LiveRun) -> None:
        """One tick inside the fragment, holding the slot; on losing it, an error or the end, pause the run and
        rerun the whole page (which draws the message and switches the fragment's timer off)."""
        position = self._request()
        if position != 0:  # the slot expired (e.g. the laptop slept): wait in the queue again
            live.running = False
            if position:
                st.session_state[f"{self.key}_queued"] = True
                self._say("info", self._queue_text(position))
            st.rerun()
        if self._tick(live) and live.finished:
            live.running = False
            self._settle(live)
            live.free()  # the model's memory goes back now, not when the tab closes
            self._release()
            self._say("success", self.done_text(live))
        if not live.running:
            st.rerun()

    # ---------------------------------------------------------------- drawing
    def buttons(self, started: bool, settings_changed: bool) -> None:
        """Start (Resume once ``started``) / Pause / Step / Reset, and the message the last action left."""
        running = bool(self.session is not None and self.session.running)
        busy = running or self.queued
        cols = st.columns(4)
        cols[0].button("Resume" if started else "Start", key=f"{self.key}_start", type="primary",
                       on_click=self._on_start, disabled=busy, width="stretch")
        cols[1].button("Leave queue" if self.queued else "Pause", key=f"{self.key}_pause", on_click=self._on_pause,
                       disabled=not busy, width="stretch")
        cols[2].button("Step", key=f"{self.key}_step", on_click=self._on_step, width="stretch", disabled=busy,
                       help=f"Train about {TICK_BUDGET_S:g} s worth of steps, then stop.")
        cols[3].button("Reset", key=f"{self.key}_reset", on_click=self._on_reset, width="stretch")
        if settings_changed:
            st.caption(f"Settings changed: press **Reset** to apply them to a new {self.noun}.")
        msg = st.session_state.pop(f"{self.key}_msg", None)
        if msg:
            getattr(st, msg[0])(msg[1])

    def fragment(self, progress: Callable[[LiveRun], None], body: Callable[[LiveRun], None], idle_text: str) -> None:
        """Draw ``progress(run)`` above ``body(run)`` (the figures); while running, as a fragment that trains
        (see :meth:`_live_body`); while queued, one that asks for its turn every ``QUEUE_POLL_S``."""
        st.fragment(run_every=self.run_every)(self._live_body)(progress, body, idle_text)

    @property
    def run_every(self) -> float | None:
        live = self.session
        if live is not None and live.running:
            return TICK_INTERVAL_S
        return QUEUE_POLL_S if self.queued else None

    def poll_queue(self) -> bool:
        """While queued: ask for a slot; on getting one, start and rerun the page. True while still waiting."""
        if not self.queued:
            return False
        position = self._request()
        if position == 0:
            if self._begin():
                self.session.running = True
            st.rerun()
        if position is None:  # refused meanwhile (queue cap): stop waiting
            st.session_state.pop(f"{self.key}_queued", None)
            st.rerun()
        st.info(self._queue_text(position))
        return True

    def _live_body(self, progress: Callable[[LiveRun], None], body: Callable[[LiveRun], None],
                   idle_text: str) -> None:
        """One fragment run: progress and figures as the last tick left them, then ticks that redraw only
        the progress, until new history rows arrive or ``REDRAW_EVERY_S`` pass (see :class:`Redraw`).

        The run then ends and the timer's next run draws the figures anew: ``body`` holds keyed widgets,
        which Streamlit draws once per run, so they cannot be redrawn in place as the NTL lab's curves are.
        A click (Pause, Reset, a setting) reruns the page, which preempts this run at its next ``st`` call,
        i.e. after the current tick; a widget inside the fragment waits for the run's end (at most
        ``REDRAW_EVERY_S`` and a tick). A full-page run ticks once only: looping there would hold back the
        rest of the page (the other tabs).
        """
        if self.poll_queue():
            return
        live = self.session
        if live is None:
            st.info(idle_text)
            return
        box = st.empty()
        with box.container():
            progress(live)
        body(live)
        redraw = Redraw(REDRAW_EVERY_S, drawn=live.n_rows)
        while live.running:
            self.train_tick(live)
            with box.container():
                progress(live)
            if not in_fragment_run() or redraw.due(live.n_rows, live.running):
                return
