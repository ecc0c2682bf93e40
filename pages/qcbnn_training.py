"""QCBNN training: train a quantum-classical Bayesian CNN beside the BNN and controls, then compare uncertainty."""
import streamlit as st

from pages._ui.common import sidebar
from pages._ui.glossary import TRAINING_TERMS, glossary_expander
from pages._ui.live_training import pause
from pages._ui.qcbnn_train_view import (LAB_KEY, STUDY_KEY, build_compare, build_study, compare_body, compare_key,
                                        data_section, explainer, init_state, multiseed_tab, run_panel,
                                        runs_tab, settings, study_body, study_key, study_settings)

seed = sidebar()
st.title("Training and uncertainty: QCBNN vs. Bayesian CNN")
explainer()
glossary_expander(TRAINING_TERMS)
init_state()
data = data_section(seed)
if data is None:  # unusable data (e.g. a bad upload): a run in progress stops and frees its slot
    for key in (LAB_KEY, STUDY_KEY):
        if st.session_state.get(key) is not None and st.session_state[key].running:
            pause(key)
compare, study, verdict, runs = st.tabs(["Train side by side (one seed)", "Architecture study", "Multi-seed verdict",
                                         "Open a run directory"])
with compare:
    with st.expander("Settings", expanded=True):
        settings()
    if data is not None:
        run_panel(LAB_KEY, build_compare, compare_key, seed, compare_body,
                  "Press **Start** to train the QCBNN and the BNN side by side on the same data.")
with study:
    st.markdown("The paper's second point: circuits with **learnable entanglement and constrained rotations** "
                "do best. Train several ansätze briefly with the same seed and compare — one seed is an anecdote; "
                "the *Multi-seed verdict* tab has the five-seed study of all five families and the controls.")
    study_settings()
    if data is not None:
        run_panel(STUDY_KEY, build_study, study_key, seed, study_body,
                  "Press **Start** to train one QCBNN per chosen ansatz.")
with verdict:
    multiseed_tab()
with runs:
    runs_tab()
