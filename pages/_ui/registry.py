"""The app's pages, in navigation order (= the suggested order for students). Add one entry per page script;
home links them all with their suggested time.

Session-state keys follow one rule: every key a page creates (widget keys, stored objects) starts with
its ``key_prefix`` below, or is that prefix without its ``_`` (the page's main object, e.g. the lab
session under ``"lab"``); the parts of ``pages/_ui`` that several pages share use ``SHARED_PREFIXES``
(``global_`` for the sidebar, ``tour_`` for the guided tour, ``_`` for internal bookkeeping), so two pages
never read each other's state by accident. ``tests/app/test_key_prefixes.py`` checks it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str
    icon: str
    section: str
    blurb: str
    minutes: int = 0  # suggested time for a student, shown on the home page (0: not a lesson page)
    key_prefix: str = ""  # of every session-state key the page creates (module docstring)


SHARED_PREFIXES = ("global_", "tour_", "_")


HOME = PageInfo("pages/home.py", "Home", ":material/home:", "Start", "What this app teaches.", key_prefix="home_")

# Each page's helper appends its entry here when the page script exists, e.g.
# PageInfo("pages/ntl_explorer.py", "Loss explorer", ":material/functions:", "Number Token Loss", "…").
PAGES: list[PageInfo] = [
    PageInfo("pages/ntl_explorer.py", "Loss explorer", ":material/functions:", "Number Token Loss",
             "Shape a digit distribution and see how cross-entropy, NTL-MSE and NTL-WAS score it.", 15, "ntlx_"),
    PageInfo("pages/ntl_training_lab.py", "Training lab", ":material/model_training:", "Number Token Loss",
             "Train tiny language models on arithmetic live, CE against CE + NTL side by side, or replay a CLI run.", 20,
             "lab_"),
]
PAGES += [
    PageInfo("pages/qcbnn_generator.py", "Quantum weight generator", ":material/memory:", "Quantum-Classical BNN",
             "Step through a quantum circuit that turns noise into continuous CNN weights; many draws vs. the prior.", 15,
             "gen_"),
    PageInfo("pages/qcbnn_training.py", "Training & uncertainty", ":material/monitoring:", "Quantum-Classical BNN",
             "Train a QCBNN and a classical Bayesian CNN side by side; compare their uncertainty gaps and ansätze.", 20,
             "qt_"),
]
