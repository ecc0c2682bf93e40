"""Home: what the two ideas are, and a link to every page."""
import streamlit as st

from pages._ui.common import sidebar
from pages._ui.registry import PAGES

sidebar()

st.title("Number Token Loss & Quantum-Classical Bayesian Networks")
st.markdown(
    """
**Number Token Loss (NTL)** — *Regress, Don't Guess* (Zausinger et al., ICML 2025).
Cross-entropy treats the digit tokens `0`–`9` as unrelated classes: guessing 5 or 9 for a true 4
costs the same. NTL adds a regression-like term on the digit distribution (the squared error of its
expected value, or the Wasserstein distance to the true digit), so that near misses cost less.

**Quantum-Classical Bayesian Neural Networks (QCBNN)** — Sakhnenko, Sikora & Lorenz (2024).
A small CNN for breast-ultrasound images whose convolution weights are *random*, drawn from a
parametrised quantum circuit fed with classical noise. Trained as a Bayesian model, it should be
more uncertain on the images it gets wrong than on those it gets right: the *uncertainty gap*.
"""
)
st.subheader("Pages")
for info in PAGES:
    st.page_link(info.path, label=f"**{info.title}** ({info.section})", icon=info.icon)
    st.caption(info.blurb)
st.info("The seed in the sidebar fixes data, initialisation and sampling on every page, and is kept in the URL.")
