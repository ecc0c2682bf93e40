"""Home: what the two ideas are, the suggested path with times, both papers, and the guided tour."""
import streamlit as st

from pages._ui.common import sidebar
from pages._ui.findings import ntl_finding, qcbnn_finding
from pages._ui.registry import PAGES
from pages._ui.tour import STOPS, go_to

NTL_PAPER = "https://arxiv.org/abs/2411.02083"
QCBNN_PAPER = "https://arxiv.org/abs/2406.06307"

sidebar()

st.title("Number Token Loss & Quantum-Classical Bayesian Networks")
st.markdown(
    f"""
**Number Token Loss (NTL)**: [*Regress, Don't Guess: A Regression-like Loss on Number Tokens for Language
Models*]({NTL_PAPER}) (Zausinger et al., ICML 2025).
Cross-entropy treats the digit tokens `0`–`9` as unrelated classes: guessing 5 or 9 for a true 4
costs the same. NTL adds a regression-like term on the digit distribution (the squared error of its
expected value, or the Wasserstein distance to the true digit), so that near misses cost less.

**Quantum-Classical Bayesian Neural Networks (QCBNN)**: [*Building Continuous Quantum-Classical Bayesian
Neural Networks for a Classical Clinical Dataset*]({QCBNN_PAPER}) (Sakhnenko, Sikora & Lorenz, 2024).
A small CNN for breast-ultrasound images whose convolution weights are *random*, drawn from a
parametrised quantum circuit fed with classical noise. Trained as a Bayesian model, it should be
more uncertain on the images it gets wrong than on those it gets right: the *uncertainty gap*.
"""
)
findings = [text for text in (qcbnn_finding(), ntl_finding()) if text]
if findings:
    st.subheader("What we measured")
    st.markdown("Pre-registered studies on the papers' own data, re-run on seeds the selection never saw — "
                "computed here from the committed runs:\n\n" + "\n".join(f"* {t}" for t in findings))
    c1, c2 = st.columns(2)
    c1.page_link("pages/qcbnn_training.py", label="The QCBNN study: *Multi-seed verdict* tab", icon="🩻")
    c2.page_link("pages/ntl_training_lab.py", label="Train CE against CE + NTL yourself", icon="🧮")
with st.container(border=True):
    st.markdown(f"**New here? Take the guided tour** ({len(STOPS)} stops, about 10 minutes): each stop opens a "
                "page in the right state and says what to look at.")
    if st.button("Start the guided tour", key="tour_start", type="primary"):
        go_to(1)

total = sum(info.minutes for info in PAGES)
st.subheader(f"Suggested order (about {total} minutes)")
for number, info in enumerate(PAGES, 1):
    st.page_link(info.path, label=f"{number}. **{info.title}** ({info.section}, about {info.minutes} min)",
                 icon=info.icon)
    st.caption(info.blurb)
st.info("The seed in the sidebar fixes data, initialisation and sampling on every page, and is kept in the URL.")
