"""Widgets of the quantum-weight-generator page: ansatz controls, step-through, many draws.

The shareable state (ansatz, mechanism, step, draw) is mirrored in ``st.query_params``; junk in a
shared link is ignored. Pure computations are in :mod:`pages._ui.qcbnn_gen` and cached here with
``st.cache_data`` (the generator is fast, so every control redraws at once).
"""
from __future__ import annotations

import io
import math
from urllib.parse import urlencode

import matplotlib.pyplot as plt
import numpy as np
import streamlit as st

from qcbnn_core import ANSATZ_PRESETS, AnsatzConfig, draw_mpl, draw_text, plots
from qcbnn_core.ansatz import ENCODINGS, ENTANGLEMENTS, MAX_QUBITS, ROTATIONS
from qcbnn_core.generator import MECHANISM_LABELS as MECH_LABELS, MECHANISMS
from qcbnn_core.trainer import TrainConfig
from pages._ui import qcbnn_gen as gen
from pages._ui.url_spec import UrlSpec, choice, flag, floats, integer, number, text, whole
from pages._ui.plain_text import plain

MAX_LAYERS = 6  # tighter than the core's 20: a step-through of more layers no longer teaches anything
DRAW_COUNTS = (256, 1024, 4096)
SHOT_COUNTS = (100, 1000, 10000)
MAX_SHOWN = 6  # weights in one histogram
# Readable names for the core's config keys (students never see "crx_ring" or "h_rz_uniform").
PRESET_LABELS = {"ry_cnot": "RY + CNOT ring", "ry_crx": "RY + CRX ring",
                 "constrained_crx": "Constrained RY + CRX ring (the paper's best family)",
                 "rot_all_to_all": "Rot + all-to-all CRX", "ryrz_product": "RY·RZ, no entanglement (control)"}
PRESET_NOTICE = {
    "ry_cnot": "fixed CNOTs entangle the qubits but add no parameters: only the RY angles are trained.",
    "ry_crx": "the entangling CRX gates have their own trainable angles, so the circuit can learn correlations.",
    "constrained_crx": "every rotation angle stays inside ±r, which keeps the output distribution from collapsing "
                       "onto a few bitstrings.",
    "rot_all_to_all": "the most expressive design (three angles per qubit, CRX between every pair) and the slowest.",
    "ryrz_product": "no entangling gates: each qubit is independent, so the bitstring probabilities factorise.",
}
ROT_LABELS = {"ry": "RY", "ryrz": "RY then RZ", "rot": "Rot (RZ·RY·RZ)"}
ENT_LABELS = {"none": "none (independent qubits)", "cnot_ring": "CNOT ring (fixed)",
              "crx_ring": "CRX ring (learnable)", "all_to_all": "CRX all-to-all (learnable)"}
ENC_LABELS = {"ry_uniform": "RY(π·z)", "rxrz_uniform": "RX(π·z), RZ(π·z)", "h_rz_uniform": "H, RZ(π·z)"}

_DEFAULTS = {"gen_qubits": 6, "gen_layers": 3, "gen_rot": "ry", "gen_constrained": True,
             "gen_range": round(math.pi / 2, 2), "gen_ent": "crx_ring", "gen_enc": "ry_uniform", "gen_mech": "born",
             "gen_step": 0, "gen_draw": 0,
             "gen_mpl": True, "gen_follow": 0, "gen_ndraws": 1024, "gen_nshots": 1000, "gen_weights": [0, 1, 2]}


def _weight_list(raw: str) -> list[int]:
    values = [int(v) for v in floats(raw) if v.is_integer()] if raw else []
    if len(values) != len(raw.split(",")) or not 1 <= len(values) <= MAX_SHOWN \
            or not all(0 <= j < gen.N_WEIGHTS for j in values):
        raise ValueError(raw)
    return values


# The shareable state, and the bounds its widgets use.
URL = UrlSpec(
    integer("gen_qubits", "q", 2, MAX_QUBITS),
    integer("gen_layers", "layers", 1, MAX_LAYERS),
    choice("gen_rot", "rot", ROTATIONS),
    flag("gen_constrained", "constrained"),
    number("gen_range", "range", 0.1, round(math.pi, 2), decimals=2),  # π, to the slider's step
    choice("gen_ent", "ent", ENTANGLEMENTS),
    choice("gen_enc", "enc", ENCODINGS),
    choice("gen_mech", "mech", MECHANISMS),
    integer("gen_step", "step", 0, MAX_LAYERS + 4),
    integer("gen_draw", "draw", 0, 10**6 - 1),
    flag("gen_mpl", "mpl"),
    integer("gen_follow", "follow", 0, gen.N_WEIGHTS - 1),
    choice("gen_ndraws", "draws", DRAW_COUNTS, whole),
    choice("gen_nshots", "shots", SHOT_COUNTS, whole),
    text("gen_weights", "weights", _weight_list,
         f"1 to {MAX_SHOWN} comma-separated weight indices below {gen.N_WEIGHTS}",
         encode=lambda v: ",".join(map(str, v))),
)


def init_state() -> None:
    """First run of a session: defaults, then whatever a shared link says."""
    URL.init_session(_DEFAULTS)


def _config_fields() -> tuple:
    """The ansatz fields the widgets currently hold, as a preset would set them."""
    ss = st.session_state
    return (ss["gen_qubits"], ss["gen_layers"], ss["gen_rot"], ss["gen_ent"], ss["gen_enc"],
            round(float(ss["gen_range"]), 2) if ss["gen_constrained"] else None)


def _preset_fields(cfg: AnsatzConfig) -> tuple:
    return (cfg.n_qubits, cfg.n_layers, cfg.rotations, cfg.entanglement, cfg.encoding,
            round(cfg.angle_range, 2) if cfg.angle_range is not None else None)


def _forget_stale_preset() -> None:
    """Clear the preset box once any ansatz control has moved away from that preset (e.g. qubits changed)."""
    name = st.session_state.get("gen_preset")
    if name is not None and _preset_fields(ANSATZ_PRESETS[name]) != _config_fields():
        st.session_state["gen_preset"] = None


def _apply_preset() -> None:
    if st.session_state["gen_preset"] is None:
        return
    cfg = ANSATZ_PRESETS[st.session_state["gen_preset"]]
    st.session_state.update({
        "gen_qubits": cfg.n_qubits, "gen_layers": cfg.n_layers, "gen_rot": cfg.rotations,
        "gen_constrained": cfg.angle_range is not None, "gen_ent": cfg.entanglement, "gen_enc": cfg.encoding,
        "gen_range": round(cfg.angle_range, 2) if cfg.angle_range is not None else st.session_state["gen_range"],
    })


def controls() -> tuple[AnsatzConfig, str] | None:
    """Ansatz and mechanism widgets; the validated config, or None after showing an error."""
    _forget_stale_preset()
    chosen = st.selectbox("Load a preset", list(ANSATZ_PRESETS), key="gen_preset", index=None, on_change=_apply_preset,
                 placeholder="choose a named design…", format_func=PRESET_LABELS.get,
                 help="Learnable entanglement with constrained rotations is the family the paper reports as best; "
                      "the product circuit has no entanglement and serves as a control.")
    if chosen is not None:
        st.caption(f"What to notice in *{PRESET_LABELS[chosen]}*: {PRESET_NOTICE[chosen]}")
    c1, c2, c3 = st.columns(3)
    c1.slider("Qubits", *URL["gen_qubits"].bounds, key="gen_qubits",
              help="2^n basis states; 6 qubits give 64 = one per weight.")
    c1.slider("Layers", *URL["gen_layers"].bounds, key="gen_layers")
    c2.selectbox("Rotations", list(ROTATIONS), key="gen_rot", format_func=ROT_LABELS.get)
    c2.checkbox("Constrain angles", key="gen_constrained",
                help="angle = r·tanh(raw): every single-qubit rotation stays inside (−r, r).")
    c2.slider("Angle range r", *URL["gen_range"].bounds, step=0.01, key="gen_range",
              disabled=not st.session_state["gen_constrained"])
    c3.selectbox("Entanglement", ENTANGLEMENTS, key="gen_ent", format_func=ENT_LABELS.get)
    c3.selectbox("Noise encoding", ENCODINGS, key="gen_enc", format_func=ENC_LABELS.get)
    st.radio("Continuity mechanism", MECHANISMS, key="gen_mech", format_func=MECH_LABELS.get, horizontal=True)
    URL.write()
    try:
        cfg = AnsatzConfig(
            n_qubits=int(st.session_state["gen_qubits"]), n_layers=int(st.session_state["gen_layers"]),
            rotations=st.session_state["gen_rot"], entanglement=st.session_state["gen_ent"],
            encoding=st.session_state["gen_enc"],
            angle_range=float(st.session_state["gen_range"]) if st.session_state["gen_constrained"] else None,
        )
    except ValueError as err:
        st.error(f"This circuit is not valid: {plain(err)}")
        return None
    st.caption(cfg.describe())
    return cfg, st.session_state["gen_mech"]


@st.cache_data(max_entries=256, show_spinner=False)
def _one_draw(cfg: AnsatzConfig, mechanism: str, seed: int, draw: int, follow: int) -> gen.Draw:
    return gen.one_draw(cfg, mechanism, seed, draw, follow)


@st.cache_data(max_entries=64, show_spinner=False)
def _many_draws(cfg: AnsatzConfig, mechanism: str, seed: int, n_draws: int) -> tuple[np.ndarray, np.ndarray]:
    samples = gen.many_draws(cfg, mechanism, seed, n_draws)
    return samples, gen.correlation(samples)


@st.cache_data(max_entries=64, show_spinner=False)
def _shots(cfg: AnsatzConfig, mechanism: str, seed: int, z: tuple[float, ...], n_shots: int):
    return gen.shots(cfg, mechanism, seed, np.asarray(z), n_shots)


@st.cache_data(max_entries=64, show_spinner="Drawing the circuit with PennyLane…")
def _diagram(cfg: AnsatzConfig, mechanism: str, seed: int, z: tuple[float, ...]) -> str:
    params = gen.build_generator(cfg, mechanism, seed).circuit_params()
    return draw_text(cfg, params=params, z=np.asarray(z))


@st.cache_data(max_entries=64, show_spinner="Drawing the circuit with PennyLane…")
def _diagram_png(cfg: AnsatzConfig, mechanism: str, seed: int, z: tuple[float, ...], block: int | None) -> bytes:
    params = gen.build_generator(cfg, mechanism, seed).circuit_params()
    fig = draw_mpl(cfg, params=params, z=np.asarray(z), highlight=block)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def diagram(cfg: AnsatzConfig, mechanism: str, seed: int, draw: gen.Draw) -> None:
    """The circuit for the current choice, with this draw's input and the generator's angles.

    The matplotlib drawing (default) fits the page width and shades the block of the current step;
    the text drawing scrolls sideways for wide circuits.
    """
    z = tuple(float(v) for v in draw.z)
    step = draw.steps[min(st.session_state["gen_step"], len(draw.steps) - 1)]
    if st.toggle("Matplotlib drawing (shades the current step)", key="gen_mpl"):
        st.image(_diagram_png(cfg, mechanism, seed, z, step.block), width="stretch")
    else:
        st.code(_diagram(cfg, mechanism, seed, z), language=None, wrap_lines=False)
    st.caption("Left: the encoding of the input z; then each layer's rotations and entangling gates; "
               "right: measurement of all wires (wire 0 is the leftmost bit of a bitstring). "
               "What to notice: only the rotation angles are trained; the noise z changes from draw to draw.")


def _move(delta: int, n_steps: int) -> None:
    st.session_state["gen_step"] = min(max(st.session_state["gen_step"] + delta, 0), n_steps - 1)


def _new_draw() -> None:
    st.session_state["gen_draw"] += 1
    st.session_state["gen_step"] = 0


def current_draw(cfg: AnsatzConfig, mechanism: str, seed: int) -> gen.Draw:
    """The draw the step-through shows (cached)."""
    follow = int(st.session_state.get("gen_follow", 0)) if mechanism == "bin_jitter" else 0
    return _one_draw(cfg, mechanism, seed, int(st.session_state["gen_draw"]), follow)


def step_through(draw: gen.Draw) -> None:
    """Previous / Next through one draw, one chart and one sentence per step."""
    n_steps = len(draw.steps)
    if st.session_state["gen_step"] > n_steps - 1:  # a link's step, or a step of a longer circuit
        st.info(f"This circuit has {n_steps} steps, so step {st.session_state['gen_step'] + 1} does not exist; "
                "showing the last one.")
        st.session_state["gen_step"] = n_steps - 1
    # Buttons as wide as their labels (equal columns truncated "Next step" at 1024 px).
    c1, c2, c3, c4 = st.columns([1.4, 1.4, 1.2, 2], vertical_alignment="bottom")
    c1.button("◀ Previous", key="gen_prev", on_click=_move, args=(-1, n_steps), width="stretch",
              disabled=st.session_state["gen_step"] == 0)
    c2.button("Next step ▶", key="gen_next", on_click=_move, args=(1, n_steps), type="primary", width="stretch",
              disabled=st.session_state["gen_step"] == n_steps - 1)
    c3.button("New draw", key="gen_new", on_click=_new_draw, width="stretch", help="Fresh randomness, back to step 1.")
    if st.session_state["gen_mech"] == "bin_jitter":
        c4.number_input("Follow weight j", 0, gen.N_WEIGHTS - 1, key="gen_follow",
                        help="bin+jitter runs the circuit once per weight; pick which run to step through.")
    i = st.session_state["gen_step"]
    step = draw.steps[i]
    draw_no = st.session_state["gen_draw"]
    st.progress((i + 1) / n_steps, text=f"Step {i + 1} of {n_steps}: {step.title} (draw #{draw_no})")
    st.markdown(f"**{step.title}.** {step.explanation}")
    if step.kind == "noise":
        fig = plots.noise_figure(step.data, title=step.title)
    elif step.kind == "probs":
        fig = plots.state_figure(step.data, step.title, highlight=step.highlight)
    elif step.kind == "weights":
        fig = plots.weights_figure(step.data, highlight=step.highlight)
    else:
        fig = plots.kernels_figure(step.data)
    st.plotly_chart(fig, width="stretch", key="gen_step_chart")
    URL.write()


def many(cfg: AnsatzConfig, mechanism: str, seed: int, draw: gen.Draw) -> None:
    """Shots histogram, weight distributions against the prior, correlations."""
    c1, c2, c3 = st.columns(3)
    n_draws = c1.select_slider("Weight draws", DRAW_COUNTS, key="gen_ndraws")
    n_shots = c2.select_slider("Shots", SHOT_COUNTS, key="gen_nshots")
    default_prior = TrainConfig().prior_sigma
    prior = c3.slider("Prior σ", 0.1, 2.0, float(default_prior), 0.1, key="gen_prior",
                      help=f"The Gaussian prior N(0, σ²) of the Bayesian objective (the trainer's default is "
                           f"σ = {default_prior:g}).")
    samples, corr = _many_draws(cfg, mechanism, seed, int(n_draws))
    counts, exact = _shots(cfg, mechanism, seed, tuple(float(v) for v in draw.z), int(n_shots))
    left, right = st.columns(2)
    with left:
        follow = st.session_state.get("gen_follow", 0)
        what = "this draw's noise z" if mechanism != "bin_jitter" else f"weight {follow}'s input"
        st.plotly_chart(plots.shots_figure(counts, exact, title=f"{n_shots} shots on {what}"), width="stretch",
                        key="gen_shots")
    with right:
        chosen = st.multiselect("Weights to show", list(range(gen.N_WEIGHTS)), key="gen_weights",
                                max_selections=MAX_SHOWN)
        hist = {f"w_{j}": samples[:, j] for j in chosen}
        st.plotly_chart(plots.weight_hist_figure(hist, prior_sigma=prior, title=f"{n_draws} draws vs. the prior"),
                        width="stretch", key="gen_hist")
    URL.write()
    st.caption("What to notice: the shot counts scatter around the exact probabilities (more shots, less scatter); "
               "each weight has its own, usually lopsided, histogram. The KL term of training pulls each one "
               "towards the prior.")
    if chosen:
        st.markdown(gen.per_weight_summary(samples, chosen, prior))
    left, right = st.columns(2)
    off = corr[~np.eye(len(corr), dtype=bool)]
    with left:
        st.plotly_chart(plots.correlation_figure(corr, title="Correlation over draws"), width="stretch", key="gen_corr")
        st.caption(f"Mean |correlation| between different weights: {np.abs(off).mean():.3f} "
                   f"(largest {np.abs(off).max():.3f}). "
                   + ("Born-machine weights share one probability vector that sums to 1, so they move together."
                      if mechanism != "bin_jitter" else "bin+jitter weights are drawn independently: correlations are "
                      "sampling noise around 0."))
    with right:
        i = st.number_input("Weight i", 0, gen.N_WEIGHTS - 1, 0, key="gen_pair_i")
        j = st.number_input("Weight j", 0, gen.N_WEIGHTS - 1, 1, key="gen_pair_j")
        st.plotly_chart(plots.pair_figure(samples[:, i], samples[:, j], int(i), int(j)), width="stretch",
                        key="gen_pair")
        st.caption("What to notice: a cloud along a line means the two weights move together; a round or "
                   "square cloud means they are independent.")


def explainer() -> None:
    """The two-line explanation with formulas, for students."""
    st.markdown(
        "A parametrised quantum circuit U(θ) turns a noise vector z into a probability vector "
        r"$p(z) = |U(\theta)\,E(z)|0\rangle|^2$ over the $2^n$ bitstrings; because p moves smoothly with z, "
        r"an affine map $w_j = s_j + a_j(2^n p_j(z) - 1)$ gives **continuous random weights** (Born machine). "
        r"Alternatively measure a bitstring b and add jitter, $w = \mathrm{lo} + (b + u)\Delta$, "
        "which has an exact density."
    )
    st.caption("What to do: pick an ansatz, press **Next step** to follow one draw from noise to the 16 kernels, "
               "then scroll down to see thousands of draws against the prior.")


def weights_link() -> None:
    """Where these weights go next: the training page on BreastMNIST, with the chosen preset when there is one.

    A plain link to the page's URL (not ``st.page_link``, which needs the page registered by the app's
    navigation and so fails when this page runs on its own, as in tests and notebooks' previews).
    """
    params = {"data": "breastmnist"}
    if st.session_state.get("gen_preset") in ANSATZ_PRESETS:
        params["ansatz"] = st.session_state["gen_preset"]
    st.markdown(f"➡️ [What these weights do: train a CNN whose convolution weights come from this kind of circuit, "
                f"on BreastMNIST (real breast-ultrasound images), beside a classical Bayesian CNN]"
                f"(qcbnn_training?{urlencode(params)})")
