"""The guided tour: a few stops, each a page plus a URL state, and what to look at there.

A stop is nothing but a shareable link (``page?params``) and a sentence, so every stop is a view a
student could also reach by hand. Pages call :func:`tour_banner` first thing: with ``?tour=k`` in
the URL it shows stop k and Previous/Next; any other ``tour`` value gets a warning and leaves the
URL. Moving to a stop forgets the target page's widget state (keys with its prefix), so the page
reads the stop's URL as it does on a first visit.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from pages._ui.registry import PAGES
from pages._ui.url_spec import UrlSpec, integer

TOUR_PARAM = "tour"
EXPLORER, GENERATOR = "pages/ntl_explorer.py", "pages/qcbnn_generator.py"


@dataclass(frozen=True)
class Stop:
    page: str
    params: dict[str, str]
    title: str
    look_at: str


STOPS: tuple[Stop, ...] = (
    Stop(EXPLORER, {"mode": "digit", "preset": "neighbour", "target": "2", "temp": "1"},
         "A near miss",
         "The model bets on 3 for a true 2. Look at the loss bars: CE is large, the NTL losses are small, because 3 "
         "is close to 2."),
    Stop(EXPLORER, {"mode": "digit", "preset": "far", "target": "2", "temp": "1"},
         "A far miss",
         "Now the bet is on 9. CE has not changed at all; every NTL loss has grown. Only NTL knows digits are numbers."),
    Stop(EXPLORER, {"mode": "digit", "preset": "bimodal", "target": "4", "temp": "1"},
         "Right on average, wrong every time",
         "Half the mass on 2, half on 6: the mean is exactly 4, so NTL-MSE is 0. CE and NTL-WAS still see the error: "
         "WAS compares the whole distribution, not just its mean."),
    Stop(EXPLORER, {"mode": "digit", "preset": "peaked", "target": "4", "temp": "5"},
         "Where is each loss lowest?",
         "Look at the sweep chart (third): at T = 5 a flat distribution drags the mean towards 4.5, so NTL-MSE is "
         "lowest with the peak on the wrong side; NTL-WAS is still lowest at the target."),
    Stop(EXPLORER, {"mode": "digit", "preset": "neighbour", "target": "7", "temp": "0.1"},
         "Why NTL is added to CE",
         "Confidently wrong: look at the gradient chart (last). CE still pushes hard; NTL's gradient has vanished. "
         "That is why the paper trains with CE + NTL, never NTL alone."),
    Stop(EXPLORER, {"mode": "number", "number": "472", "presets": "far,peaked,peaked", "temp": "1"},
         "Digits or numbers?",
         "A wrong hundreds digit. Digit-level losses treat it like a wrong units digit; the number-level loss "
         "weighs it by its place value. Compare the two bars of the gradient chart."),
    Stop(GENERATOR, {"step": "3", "mpl": "1", "weights": "0,1,2"},
         "Noise in, weights out",
         "The shaded block of the circuit is the step shown below it; press Next step to follow the draw. Then scroll "
         "to Many draws: each weight has its own lopsided histogram, unlike the symmetric prior."),
)


def stop_query(index: int) -> dict[str, str]:
    """The URL parameters of stop ``index`` (1-based), including the tour marker."""
    return {**STOPS[index - 1].params, TOUR_PARAM: str(index)}


def go_to(index: int) -> None:
    """Open stop ``index`` (1-based): forget the target page's widget state, then switch with its URL."""
    stop = STOPS[index - 1]
    prefix = next(info.key_prefix for info in PAGES if info.path == stop.page)
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        del st.session_state[key]
    st.switch_page(stop.page, query_params=stop_query(index))


TOUR_URL = UrlSpec(integer(TOUR_PARAM, TOUR_PARAM, 1, len(STOPS)))


def current_stop() -> int | None:
    """The stop number in the URL, or None when not touring; a bad value is warned about and removed."""
    values, warnings = TOUR_URL.parse(st.query_params.to_dict())
    for warning in warnings:
        st.warning(warning)
        st.query_params.pop(TOUR_PARAM, None)
    return values.get(TOUR_PARAM)


def tour_banner() -> None:
    """Stop k of N, its title and what to look at, with Previous / Next / End (only while touring)."""
    k = current_stop()
    if k is None:
        return
    stop = STOPS[k - 1]
    with st.container(border=True):
        st.markdown(f"**Guided tour, stop {k} of {len(STOPS)}: {stop.title}.** {stop.look_at}")
        c1, c2, c3 = st.columns(3)
        if c1.button("◀ Previous stop", key="tour_prev", disabled=k == 1, width="stretch"):
            go_to(k - 1)
        if c2.button("Next stop ▶", key="tour_next", type="primary", disabled=k == len(STOPS), width="stretch"):
            go_to(k + 1)
        if c3.button("End the tour", key="tour_end", width="stretch"):
            st.query_params.pop(TOUR_PARAM, None)
            st.rerun()
