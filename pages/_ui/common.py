"""Page furniture shared by every page: sidebar (device, global seed) and the training-slot cap."""
from __future__ import annotations

import streamlit as st

from ntl_core.device import describe_device, pick_device
from pages._ui.slots import TrainingSlots, max_runs_from_env

SEED_KEY = "global_seed"


@st.cache_resource
def device_label() -> str:
    return describe_device(pick_device())


@st.cache_resource
def training_slots() -> TrainingSlots:
    """One registry for the whole server (cache_resource is shared across sessions)."""
    return TrainingSlots(max_runs_from_env())


def session_id() -> str:
    """A stable id for this browser session (used as the slot holder)."""
    if "_session_id" not in st.session_state:
        import uuid

        st.session_state["_session_id"] = uuid.uuid4().hex
    return st.session_state["_session_id"]


def _seed_from_url() -> int:
    raw = st.query_params.get("seed")
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0


def sidebar() -> int:
    """Draw the sidebar (device, global seed) and return the global seed.

    Every page calls this first thing (not app.py): widgets drawn by the navigation
    entrypoint are lost on reruns under AppTest, so page tests could not drive them.
    """
    if SEED_KEY not in st.session_state:
        st.session_state[SEED_KEY] = _seed_from_url()
    with st.sidebar:
        st.caption(f"Compute device: **{device_label()}**")
        seed = st.number_input(
            "Global seed", min_value=0, max_value=2**31 - 1, step=1, key=SEED_KEY,
            help="One seed fixes data, initialisation and sampling everywhere in the app.",
        )
    st.query_params["seed"] = str(int(seed))
    return int(seed)
