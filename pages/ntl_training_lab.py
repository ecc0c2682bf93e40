"""Training lab: train small language models live on arithmetic, CE against CE + NTL, side by side."""
import streamlit as st

from pages._ui.common import sidebar
from pages._ui.ntl_lab_view import controls, init_state, live_panel, replay_tab, settings

seed = sidebar()
st.title("Training lab: CE vs. CE + Number Token Loss")
st.markdown(
    "Train the same tiny language model on arithmetic once per loss — same seed, same data order, same start — "
    "and watch the curves.  \nCross-entropy only checks whether each digit token is exactly right; adding NTL also "
    "rewards digits that are *close*, which the paper finds makes models learn arithmetic faster."
)
init_state()
live, replay = st.tabs(["Train live", "Replay a run directory"])
with live:
    with st.expander("Settings", expanded=True):
        settings()
    controls(seed)
    live_panel(seed)
with replay:
    replay_tab()
