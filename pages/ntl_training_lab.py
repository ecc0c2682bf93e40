"""Training lab: train small language models live on arithmetic, CE against CE + NTL, side by side."""
import streamlit as st

from pages._ui.common import sidebar
from pages._ui.ntl_lab_view import controls, init_state, live_panel, replay_tab, search_summary, settings

seed = sidebar()
st.title("Training lab: CE vs. CE + Number Token Loss")
st.markdown(
    "Train the same tiny language model on arithmetic once per loss and seed — runs with the same seed share the "
    "data order and the start — and watch the curves (mean over seeds with a 95 % band).  \nCross-entropy only "
    "checks whether each digit token is exactly right; adding NTL also rewards digits that are *close*. The paper "
    "finds that this makes models more accurate and more sample-efficient at multiplication. On a CPU budget the "
    "effect is small and not robust — see what our pre-registered search found before you read one run."
)
search_summary()
init_state()
live, replay = st.tabs(["Train live", "Replay a run directory"])
with live:
    with st.expander("Settings", expanded=True):
        settings()
    controls(seed)
    live_panel(seed)
with replay:
    replay_tab()
