"""Entry point: `streamlit run app.py`. Navigation shell only; each page is a script in pages/."""
import streamlit as st

from pages._ui.registry import HOME, PAGES

# "auto" folds the sidebar away on narrow screens (phones, split projector windows), keeps it open on laptops.
st.set_page_config(page_title="NTL & QCBNN lab", page_icon=":material/school:", layout="wide",
                   initial_sidebar_state="auto")

sections: dict[str, list] = {HOME.section: [st.Page(HOME.path, title=HOME.title, icon=HOME.icon, default=True)]}
for info in PAGES:
    sections.setdefault(info.section, []).append(st.Page(info.path, title=info.title, icon=info.icon))

st.navigation(sections).run()
