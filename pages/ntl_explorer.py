"""Loss explorer: shape a digit distribution and see how CE and the Number Token Losses score it."""
from __future__ import annotations

import numpy as np
import streamlit as st

from ntl_core import loss_registry, plots
from ntl_core.scoring import (
    LOGIT_LIMIT,
    LOSS_NAMES,
    MAX_NUMBER_DIGITS,
    PRESET_LABELS,
    check_number,
    number_preset_logits,
    presets_for,
    parse_distribution,
    preset_logits,
    score_digit,
    score_number,
    sweep_peak,
)
from pages._ui import explorer_text as notes
from pages._ui.common import sidebar
from pages._ui.tour import tour_banner
from pages._ui.plain_text import plain
from pages._ui.glossary import NTL_TERMS, glossary_expander
from pages._ui.instant_explorer import instant_panel
from pages._ui.explorer_state import (
    MODES,
    TEMP_MAX,
    TEMP_MIN,
    TEMP_STEP,
    ExplorerState,
    parse_query,
    rounded,
    to_query,
)

K = "ntlx_"  # widget-key prefix: keeps this page's session state apart from other pages'
MODE_LABELS = {"digit": "One digit", "number": "A whole number"}


def _load_url_once() -> None:
    """On the first run of a session, copy the URL's state into the widgets (and say what was rejected)."""
    if st.session_state.get(K + "loaded"):
        return
    state, warnings = parse_query(st.query_params.to_dict())
    st.session_state.update({
        K + "mode": state.mode, K + "preset": state.preset, K + "target": state.target,
        K + "temp": state.temperature, K + "probs": state.probs, K + "number": state.number,
        K + "url_logits": state.logits, K + "url_presets": state.position_presets,
        K + "url_warnings": warnings, K + "loaded": True,
    })


def _keep_widget_state() -> None:
    """Keep the hidden mode's widget values across a mode switch.

    Streamlit drops the state of widgets that were not drawn in a run; re-assigning a key marks it
    as user state, so a student who switches to the number mode and back finds their settings.
    """
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(K)]:
        st.session_state[key] = st.session_state[key]


def _chart_row(fig, notice: str, text: str, formula: str, key: str) -> None:
    """A full-width chart, its take-away, how to read it and its formula, stacked so that five panels
    and the longest formula fit a 1024 px projector."""
    st.plotly_chart(fig, width="stretch", key=key)
    st.markdown(notice)
    st.caption(text)
    st.latex(formula)


@st.cache_data(max_entries=512, show_spinner=False)
def _sweep(target: int, temperature: float):
    """The sweep chart and its notice depend only on (target, T): logit and preset moves reuse them."""
    sweep = sweep_peak(target, temperature)
    return plots.sweep_figure(sweep), notes.sweep_notice(sweep)


def _formulas(keys: tuple[str, ...]) -> str:
    """Aligned LaTeX of the registry's formulas for ``keys`` (one definition per loss, app-wide)."""
    rows = [rf"\text{{{loss_registry.get(k).label}}}&={loss_registry.get(k).formula}" for k in keys]
    return r"\begin{aligned}" + r"\\ ".join(rows) + r"\end{aligned}"


def _fit_preset(key: str, target: int) -> str | None:
    """Replace a preset that does not fit ``target`` (bimodal on 0 or 9) by ``peaked``; say why, or None."""
    if st.session_state.get(key, "peaked") in presets_for(target):
        return None
    st.session_state[key] = "peaked"
    return (f"*{PRESET_LABELS['bimodal']}* needs room on both sides of the true digit (1 to 8), so digit {target} "
            f"uses *{PRESET_LABELS['peaked']}* instead.")


def _sync_sliders(preset: str, target: int, temperature: float, seed: int) -> None:
    """Reset the logit sliders to the preset whenever preset/target/temperature/seed change."""
    signature = (preset, target, temperature, seed)
    url_logits = st.session_state.pop(K + "url_logits", None)
    if url_logits is not None:  # a shared link with hand-tuned logits wins on first load
        st.session_state.update({f"{K}logit_{d}": v for d, v in enumerate(url_logits)})
        st.session_state[K + "sig"] = signature
        return
    if st.session_state.get(K + "sig") == signature:
        return
    logits = preset_logits(preset, target, temperature, seed)  # _fit_preset made the preset fit the target
    st.session_state.update({f"{K}logit_{d}": v for d, v in enumerate(rounded(logits))})
    st.session_state[K + "sig"] = signature


def _metrics(values: dict[str, float], extra: dict[str, float]) -> None:
    """Three metrics per row: six in one row truncate their values ("2.4…") at 1024 px."""
    items = [*values.items(), *extra.items()]
    for start in range(0, len(items), 3):
        for col, (name, value) in zip(st.columns(3), items[start:start + 3]):
            col.metric(name, f"{value:.4f}")


def digit_mode(seed: int) -> ExplorerState:
    c1, c2, c3 = st.columns([2, 3, 2])
    target = c1.slider("True digit y", 0, 9, key=K + "target")
    refit = _fit_preset(K + "preset", target)
    preset = c2.selectbox("Preset distribution", presets_for(target), format_func=PRESET_LABELS.get,
                          key=K + "preset")
    temperature = c3.slider("Temperature T (low = sharp, high = flat)", TEMP_MIN, TEMP_MAX, step=TEMP_STEP,
                            key=K + "temp")
    if refit:
        st.info(refit)
    st.markdown(f"**What to notice:** {notes.PRESET_NOTICE[preset]}")
    _sync_sliders(preset, target, temperature, seed)
    with st.expander("Fine-tune the logits z (one slider per digit; a new preset, digit or temperature resets them)"):
        rows = [st.columns(5), st.columns(5)]
        logits = np.array([
            rows[d // 5][d % 5].slider(f"z{d}", -LOGIT_LIMIT, LOGIT_LIMIT, step=0.01, key=f"{K}logit_{d}")
            for d in range(10)
        ])
        typed = st.text_input("…or type ten probabilities / weights for the digits 0-9 (overrides the sliders)",
                              key=K + "probs", placeholder="e.g. 0 0 .5 0 0 0 .5 0 0 0")
    state = ExplorerState(mode="digit", preset=preset, target=target, temperature=temperature, probs=typed.strip())
    # Only hand-tuned logits go into the URL; the preset's own are rebuilt from preset/target/T/seed.
    preset_now = st.session_state.get(K + "sig") == (preset, target, temperature, seed)
    if not preset_now or logits.tolist() != rounded(preset_logits(preset, target, temperature, seed)):
        state.logits = logits.tolist()

    score = None
    if state.probs:
        try:
            score = score_digit(target, probs=parse_distribution(state.probs))
            st.info("Scoring your typed distribution; clear the text box to use the sliders again.")
        except ValueError as err:
            st.error(f"Your distribution cannot be scored: {plain(err)}. Showing the sliders' distribution instead.")
    if score is None:
        score = score_digit(target, logits=logits)

    _metrics(score.losses, {"expected value ŷ": score.expected})
    best = int(np.argmax(score.probs))
    st.caption(f"Most likely digit **{best}** (p = {score.probs[best]:.3f}); true digit **{target}**; "
               f"expected value **{score.expected:.3f}**.")
    if best != target and score.losses["NTL-MSE"] < 1e-3:
        st.warning("NTL-MSE is about 0 although the most likely digit is wrong: the mean of the distribution hits "
                   "the target while its mass sits elsewhere. NTL-WAS and CE still see the error.")

    with st.expander("⚡ Instant sandbox: drag the logits and see the losses and gradients at once "
                     "(computed in your browser; starts from this distribution)"):
        instant_panel(score.logits, target)
    _chart_row(plots.distribution_figure(score), notes.distribution_notice(score),
               "The bars are the model's probabilities for the next digit; green is the true digit. "
               "The dashed line is the expected value: the number the distribution means on average.",
               r"\begin{aligned}p&=\mathrm{softmax}(z)\\ \hat y&=\textstyle\sum_{k=0}^{9} k\,p_k\end{aligned}",
               K + "fig_dist")
    _chart_row(plots.losses_figure(score), notes.losses_notice(score),
               "CE only reads the probability of the true digit, so a near miss and a far miss cost the same. "
               "NTL compares numbers: MSE/MAE/Huber the expected value, WAS the whole distribution's distance.",
               _formulas(("ce", "mse", "was")), K + "fig_losses")
    sweep_fig, sweep_text = _sweep(target, temperature)
    _chart_row(sweep_fig, sweep_text,
               "A sharp peak (the other digits share the rest equally) slides over every digit. CE is flat for "
               "every wrong peak; NTL grows with the distance.",
               r"z_k = \tfrac{5}{T}\,[k=c]", K + "fig_sweep")
    _chart_row(plots.gradients_figure(score), notes.gradients_notice(score),
               "What training does: a negative bar raises that digit's logit. All panels share one scale. CE pushes "
               "each wrong digit down in proportion to its probability wherever it is; NTL-WAS pushes far digits "
               "harder than near ones.",
               r"\begin{aligned}\tfrac{\partial \mathrm{CE}}{\partial z_j}&=p_j-[j=y]\\"
               r"\tfrac{\partial \mathrm{WAS}}{\partial z_j}&=p_j\,(|j-y|-\mathrm{WAS})\end{aligned}", K + "fig_grad")
    st.markdown(notes.WHY_NTL_VANISHES)
    return state


def number_mode(seed: int) -> ExplorerState:
    c1, c2 = st.columns([1, 2])
    text = c1.text_input(f"True number (up to {MAX_NUMBER_DIGITS} digits)", key=K + "number")
    temperature = c2.slider("Temperature T (low = sharp, high = flat)", TEMP_MIN, TEMP_MAX, step=TEMP_STEP,
                            key=K + "temp")
    state = ExplorerState(mode="number", number=text, temperature=temperature)
    try:
        number = check_number(text)
    except ValueError as err:
        st.error(f"{plain(err)}.")
        return state
    url_presets = st.session_state.pop(K + "url_presets", None)
    cols = st.columns(len(number))
    presets, refits = [], []
    for i, (col, ch) in enumerate(zip(cols, number)):
        key = f"{K}pos_{i}"
        if key not in st.session_state:
            st.session_state[key] = url_presets[i] if url_presets and i < len(url_presets) else "peaked"
        if refit := _fit_preset(key, int(ch)):
            refits.append(refit)
        label = f"{plots.PLACE_NAMES[len(number) - 1 - i]} (true {ch})"
        presets.append(col.selectbox(label, presets_for(int(ch)), format_func=PRESET_LABELS.get, key=key))
    for refit in dict.fromkeys(refits):
        st.info(refit)
    state.number, state.position_presets = number, presets
    score = score_number(number, number_preset_logits(number, presets, temperature, seed))

    _metrics({f"mean {n}": score.digit_mean[n] for n in ("CE", "NTL-MSE", "NTL-WAS")},
             {"number sMAPE": score.number_loss})
    st.caption(f"Digit-level losses are means over the {len(number)} positions; the number-level sMAPE compares "
               f"the expected number **{score.expected_number:.2f}** with the true **{score.true_number}**.")
    _chart_row(plots.number_distributions_figure(score), notes.number_distribution_notice(score),
               "One digit distribution per position, most significant first. The cross is the true digit, "
               "the diamond the expected digit of that position.",
               r"\hat y_i = \sum_{k} k\,p_{i,k}", K + "fig_num_dist")
    _chart_row(plots.number_losses_figure(score), notes.number_losses_notice(score),
               "Digit-level NTL scores each position on its own: a wrong hundreds digit costs what a wrong units "
               "digit costs. The number-level loss builds the whole number first, so place value counts.",
               r"\begin{aligned}\hat N&=\textstyle\sum_i \hat y_i\,10^{L-1-i}\\"
               r"\mathrm{sMAPE}&=\frac{|\hat N-N|}{|\hat N|+|N|}\end{aligned}",
               K + "fig_num_loss")
    _chart_row(plots.number_gradients_figure(score), notes.number_gradients_notice(score),
               "How hard training pushes each position. Digit-level gradients ignore place value; the "
               "number-level gradient is scaled by it, so the leading digits usually get most of it.",
               r"\begin{aligned}\frac{\partial\,\mathrm{sMAPE}}{\partial z_{i,k}}&="
               r"\frac{\partial\,\mathrm{sMAPE}}{\partial \hat N}\\&\quad\cdot 10^{L-1-i}\,p_{i,k}(k-\hat y_i)"
               r"\end{aligned}", K + "fig_num_grad")
    return state


seed = sidebar()
_load_url_once()
_keep_widget_state()
st.title("Loss explorer: cross-entropy vs Number Token Loss")
tour_banner()
st.markdown("**How to use:** pick a preset and the true digit, then move the temperature or the logit sliders and "
            "watch the four charts; switch to *A whole number* to compare digit-level and number-level loss. "
            "The address bar always holds the current view, so you can share it.")
glossary_expander(NTL_TERMS)
for message in st.session_state.pop(K + "url_warnings", []):
    st.warning(message)
mode = st.radio("Mode", MODES, format_func=MODE_LABELS.get, horizontal=True, key=K + "mode")
view = digit_mode(seed) if mode == "digit" else number_mode(seed)
# One write (from_dict sends a single URL update): popping and re-adding key by key showed the browser
# half-written addresses in between (a shared link could miss its mode).
VIEW_KEYS = ("mode", "preset", "target", "temp", "logits", "probs", "number", "presets")
query = {k: v for k, v in st.query_params.to_dict().items() if k not in VIEW_KEYS} | to_query(view)
if query != st.query_params.to_dict():
    st.query_params.from_dict(query)
