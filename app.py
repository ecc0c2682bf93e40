"""Entry point: `streamlit run app.py`. Navigation shell only; each page is a script in pages/."""
import time

import streamlit as st

from pages._ui.registry import HOME, PAGES
from pages._ui.server_timing import server_timing

# "auto" folds the sidebar away on narrow screens (phones, split projector windows), keeps it open on laptops.
st.set_page_config(page_title="NTL & QCBNN lab", page_icon=":material/school:", layout="wide",
                   initial_sidebar_state="auto")

sections: dict[str, list] = {HOME.section: [st.Page(HOME.path, title=HOME.title, icon=HOME.icon, default=True)]}
for info in PAGES:
    sections.setdefault(info.section, []).append(st.Page(info.path, title=info.title, icon=info.icon))

page = st.navigation(sections)
started = time.perf_counter()
try:
    page.run()
finally:  # also when the run ends early (st.rerun, st.stop, an error): the server's time was spent either way
    server_timing().page_run(page.url_path or "home", time.perf_counter() - started)
