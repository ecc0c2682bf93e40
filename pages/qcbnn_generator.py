"""Quantum weight generator: watch a parametrised circuit turn noise into continuous CNN weights."""
import streamlit as st

from pages._ui.common import sidebar
from pages._ui.tour import tour_banner
from pages._ui.glossary import GENERATOR_TERMS, glossary_expander
from pages._ui.qcbnn_gen_view import (controls, current_draw, diagram, explainer, init_state, many, step_through,
                                      weights_link)

seed = sidebar()
st.title("Quantum weight generator")
tour_banner()
explainer()
glossary_expander(GENERATOR_TERMS)
init_state()
choice = controls()
if choice is not None:
    cfg, mechanism = choice
    draw = current_draw(cfg, mechanism, seed)
    with st.expander("Circuit diagram", expanded=True):
        diagram(cfg, mechanism, seed, draw)
    st.subheader("Step through one draw")
    step_through(draw)
    st.subheader("Many draws")
    many(cfg, mechanism, seed, draw)
    weights_link()
