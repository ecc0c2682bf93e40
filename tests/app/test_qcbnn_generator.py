"""The quantum-weight-generator page: its pure helpers against independent computations, then AppTest.

AppTest cannot read plotly data, so the numbers are checked on the helpers the page draws from, and the
page tests check the labels, the step counter, the URL and the circuit text.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from pages._ui import qcbnn_gen as gen
from qcbnn_core import ansatz_preset, draw_mpl
from qcbnn_core import plots as qplots
from qcbnn_core.drawing import block_columns

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "qcbnn_generator.py")
CFG = ansatz_preset("constrained_crx")


def test_born_draw_matches_generator_formula_and_qnode():
    draw = gen.one_draw(CFG, "born", seed=3, draw=5)
    g = gen.build_generator(CFG, "born", seed=3)
    # The measurement step's probabilities are the PennyLane QNode's for the displayed z (independent path).
    p_qnode = g.qnode(torch.as_tensor(draw.z), g.rot.detach().double(), g.ent.detach().double())
    measured = next(s for s in draw.steps if s.title == "Measurement").data
    np.testing.assert_allclose(measured, np.asarray(p_qnode), atol=1e-6)
    # And the weights are the affine map of those probabilities (the documented Born-machine formula).
    expected = g.shift.detach().double().numpy() + g.scale.detach().double().numpy() * (64 * measured - 1)
    np.testing.assert_allclose(draw.weights, expected, atol=1e-5)
    kernels = draw.steps[-1].data
    assert kernels.shape == (16, 2, 2) and kernels[3, 1, 0] == draw.weights[3 * 4 + 2]
    titles = [s.title for s in draw.steps]
    assert titles == ["Noise z", "Encoding", "After layer 1", "After layer 2", "After layer 3", "Measurement",
                      "Continuous weights", "2×2 kernels"]
    for s in draw.steps[1:6]:
        assert s.data.shape == (64,) and math.isclose(s.data.sum(), 1.0, abs_tol=1e-9)
    # Another draw number gives other noise and other weights; the same one gives the same.
    assert not np.allclose(gen.one_draw(CFG, "born", 3, 6).weights, draw.weights)
    np.testing.assert_array_equal(gen.one_draw(CFG, "born", 3, 5).weights, draw.weights)


def test_born_with_fewer_states_than_weights_uses_several_noise_draws():
    cfg = CFG.replace(n_qubits=4)  # 16 basis states for 64 weights: 4 noise draws per weight vector
    draw = gen.one_draw(cfg, "born", seed=0, draw=2)
    g = gen.build_generator(cfg, "born", seed=0)
    z_all = g.sample_noise(4, gen.draw_stream(0, 2)).double()
    p_all = g.qnode(z_all[0], g.rot.detach().double(), g.ent.detach().double())
    np.testing.assert_allclose(draw.z, z_all[0].numpy())
    shift, scale = g.shift.detach().double().numpy()[:16], g.scale.detach().double().numpy()[:16]
    expected = shift + scale * (16 * np.asarray(p_all) - 1)
    np.testing.assert_allclose(draw.weights[:16], expected, atol=1e-5)
    assert "3 more noise draws" in next(s for s in draw.steps if s.title == "Continuous weights").explanation


def test_bin_jitter_draw_marks_the_bin_of_the_followed_weight():
    cfg = CFG.replace(n_qubits=4)
    draw = gen.one_draw(cfg, "bin_jitter", seed=1, draw=0, follow=7)
    g = gen.build_generator(cfg, "bin_jitter", seed=1)
    meas = next(s for s in draw.steps if s.title == "Measurement")
    np.testing.assert_allclose(meas.data, g.bin_probs().detach().double().numpy()[7], atol=1e-6)
    lo, width = -1.0, 2.0 / 16
    assert lo + meas.highlight * width <= draw.weights[7] < lo + (meas.highlight + 1) * width
    assert format(meas.highlight, "04b") in meas.explanation
    np.testing.assert_allclose(draw.z, g.cond.detach().double().numpy()[7])
    with pytest.raises(ValueError, match="follow"):
        gen.one_draw(cfg, "bin_jitter", 1, 0, follow=64)


def test_many_draws_shots_and_correlation():
    samples = gen.many_draws(CFG, "bin_jitter", seed=0, n_draws=300)
    assert samples.shape == (300, 64) and samples.min() >= -1 and samples.max() < 1
    np.testing.assert_allclose(gen.correlation(samples), np.corrcoef(samples.T), atol=1e-9)
    constant = np.ones((10, 3))
    assert np.all(gen.correlation(constant) == 0)
    z = np.zeros(6)
    counts, exact = gen.shots(CFG, "born", 0, z, 5000)
    assert counts.sum() == 5000 and math.isclose(exact.sum(), 1.0, rel_tol=1e-5)
    # Shot frequencies estimate the exact probabilities (5000 shots: total-variation distance well below 0.2).
    assert 0.5 * np.abs(counts / 5000 - exact).sum() < 0.2


# ----------------------------------------------------------------------------- AppTest
def _app(**params: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.query_params.update(params)
    return at.run()


def _progress_text(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


def _step_sentence(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**"))


def test_step_through_one_draw_and_url_state():
    at = _app(mpl="0")
    assert not at.exception and not at.error
    assert _progress_text(at).startswith("Step 1 of 8: Noise z")
    diagram = at.code[0].value
    assert diagram.count("\n") == 5 and "RY" in diagram and "RX" in diagram  # 6 wires, CRX ring drawn
    first = _step_sentence(at)
    at.button(key="gen_next").click().run()
    assert _progress_text(at).startswith("Step 2 of 8: Encoding") and _step_sentence(at) != first
    assert at.query_params["step"] == "1"
    for _ in range(6):
        at.button(key="gen_next").click().run()
    assert _progress_text(at).startswith("Step 8 of 8: 2×2 kernels")
    assert at.button(key="gen_next").disabled and not at.exception
    at.button(key="gen_prev").click().run()
    assert _progress_text(at).startswith("Step 7 of 8: Continuous weights")
    at.button(key="gen_new").click().run()
    assert _progress_text(at).startswith("Step 1 of 8") and at.query_params["draw"] == "1"


def test_changing_the_ansatz_redraws_and_a_link_restores_it():
    at = _app(mpl="0")
    before = at.code[0].value
    at.slider(key="gen_layers").set_value(2).run()
    assert not at.exception
    assert _progress_text(at).startswith("Step 1 of 7")
    assert at.code[0].value != before and at.query_params["layers"] == "2"
    at.selectbox(key="gen_ent").set_value("none").run()
    assert "●" not in at.code[0].value  # no control dots: no entangling gates
    assert "entanglement none" in " ".join(c.value for c in at.caption)

    shared = _app(layers="1", step="3", mech="bin_jitter", q="3", range="junk")
    assert not shared.exception
    assert _progress_text(shared).startswith("Step 4 of 6: Measurement")
    assert re.search(r"gave b = [01]{3}", _step_sentence(shared))
    assert shared.session_state["gen_range"] == 1.57  # junk in the link is ignored


def test_matplotlib_drawing_is_the_default_and_the_text_one_is_a_toggle():
    at = _app()
    assert not at.exception and not at.code and at.get("image")  # the drawing that fits the page
    at.toggle(key="gen_mpl").set_value(False).run()
    assert not at.exception and at.code and at.query_params["mpl"] == "0"


def test_unconstraining_the_angles_changes_the_circuit():
    at = _app(mpl="0")
    assert "angles in ±1.57" in " ".join(c.value for c in at.caption)
    before = at.code[0].value
    at.checkbox(key="gen_constrained").uncheck().run()
    assert not at.exception and "unconstrained" in " ".join(c.value for c in at.caption)
    assert at.code[0].value != before and at.query_params["constrained"] == "0"


def test_step_through_highlights_the_current_block_of_the_drawing():
    draw = gen.one_draw(CFG, "born", seed=0, draw=0)
    blocks = [s.block for s in draw.steps]
    assert blocks == [0, 0, 1, 2, 3, 4, None, None]  # noise/encoding, layers 1-3, measurement, after
    spans = block_columns(CFG)
    assert spans[0][0] == 0 and spans[-1][0] == spans[-1][1] > spans[-2][1]
    assert all(a[0] <= b[0] for a, b in zip(spans, spans[1:]))
    fig = draw_mpl(CFG, highlight=2)
    shaded = [p for p in fig.axes[0].patches if type(p).__name__ == "Rectangle" and p.get_alpha() == 0.45]
    assert len(shaded) == 1
    x0 = shaded[0].get_x()
    assert x0 == pytest.approx(spans[2][0] - 0.45) and x0 + shaded[0].get_width() == pytest.approx(spans[2][1] + 0.45)
    assert "layer 2" in [t.get_text() for t in fig.axes[0].texts]
    with pytest.raises(ValueError, match="highlight"):
        draw_mpl(CFG, highlight=5)

    at = _app()
    first = at.get("image")[0].proto
    at.button(key="gen_next").click().run()
    at.button(key="gen_next").click().run()  # step 3: after layer 1 -> another shaded block, another image
    assert not at.exception and at.get("image")[0].proto != first


def test_histogram_range_ignores_rare_outliers_and_says_so():
    rng = np.random.default_rng(0)
    sample = np.concatenate([rng.normal(0.0, 0.3, 2000), [17.0]])
    fig = qplots.weight_hist_figure({"w_0": sample}, prior_sigma=1.0)
    low, high = fig.layout.xaxis.range
    assert high < 4 and low > -4  # the mass fills the chart; 17 would have made it a sliver
    assert "1 draws beyond the shown range (largest |w| = 17.00)" in fig.layout.title.text
    bars = fig.data[0]
    width = np.diff(np.linspace(low, high, 61))[0]
    assert float(np.sum(bars.y) * width) == pytest.approx(2000 / 2001)  # density keeps the outlier in the total


def test_per_weight_summary_reports_each_weights_skew():
    samples = gen.many_draws(CFG, "born", seed=0, n_draws=512)
    skew = gen.skewness(samples)
    scipy_stats = pytest.importorskip("scipy.stats")
    np.testing.assert_allclose(skew, scipy_stats.skew(samples, axis=0), rtol=1e-9)
    text = gen.per_weight_summary(samples, [0, 5], prior_sigma=1.0)
    assert f"w_5: mean {samples[:, 5].mean():+.2f}, std {samples[:, 5].std():.2f}, skew {skew[5]:+.2f}" in text
    lopsided = int((np.abs(skew) > gen.SKEWED).sum())
    assert (f"{lopsided} of 64 weights are skewed" in text) == (lopsided > 0)
    symmetric = gen.per_weight_summary(rng_normal := np.random.default_rng(1).normal(size=(4000, 64)), [0], 1.0)
    assert "No weight is visibly skewed" in symmetric and rng_normal.shape == (4000, 64)


def test_followed_weight_draws_shots_and_weights_are_in_the_url():
    at = _app(mech="bin_jitter", follow="9", draws="256", shots="100", weights="4,7")
    assert not at.exception
    assert at.number_input(key="gen_follow").value == 9
    assert at.select_slider(key="gen_ndraws").value == 256 and at.select_slider(key="gen_nshots").value == 100
    assert at.multiselect(key="gen_weights").value == [4, 7]
    assert "w_7: mean" in " ".join(m.value for m in at.markdown)
    at.number_input(key="gen_follow").set_value(11).run()
    at.select_slider(key="gen_nshots").set_value(10000).run()
    for key, value in {"follow": "11", "draws": "256", "shots": "10000", "weights": "4,7"}.items():
        assert at.query_params[key] == value, key
    bad = _app(weights="4,99", draws="7")
    assert bad.multiselect(key="gen_weights").value == [0, 1, 2] and bad.select_slider(key="gen_ndraws").value == 1024


def test_preset_box_clears_when_the_ansatz_leaves_the_preset():
    at = _app()
    at.selectbox(key="gen_preset").set_value("ry_cnot").run()
    assert at.selectbox(key="gen_preset").value == "ry_cnot" and at.slider(key="gen_qubits").value == 6
    at.slider(key="gen_qubits").set_value(4).run()
    assert not at.exception and at.selectbox(key="gen_preset").value is None
    labels = at.selectbox(key="gen_preset").options
    assert "RY·RZ, no entanglement (control)" in labels and "ryrz_product" not in labels
    at.selectbox(key="gen_preset").set_value("ryrz_product").run()
    assert any("bitstring probabilities factorise" in c.value for c in at.caption)
    assert any("Born rule" in e.proto.label or "Glossary" in e.proto.label for e in at.expander)
    assert "**bin + jitter**" in " ".join(m.value for m in at.markdown)


def test_what_these_weights_do_links_to_training_on_breastmnist():
    at = _app()
    link = next(m.value for m in at.markdown if "What these weights do" in m.value)
    assert link.endswith("(qcbnn_training?data=breastmnist)")  # no preset chosen: the page's own default circuit
    at.selectbox(key="gen_preset").set_value("ry_crx").run()
    assert not at.exception
    link = next(m.value for m in at.markdown if "What these weights do" in m.value)
    assert "BreastMNIST" in link and "(qcbnn_training?data=breastmnist&ansatz=ry_crx)" in link
