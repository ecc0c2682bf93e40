"""The torch fast path equals the PennyLane reference QNode (probabilities and gradients),
configs validate, layer_states and drawing work."""
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from qcbnn_core import AnsatzConfig, ansatz_preset, circuit_probs, draw_mpl, draw_text, init_params, layer_states
from qcbnn_core.ansatz import ENCODINGS, ENTANGLEMENTS, PRESETS, ROTATIONS
from qcbnn_core.circuit import make_qnode
from qcbnn_core.simulator import circuit_unitary, is_real_circuit

pytest.importorskip("pennylane")

# every rotation × entanglement × encoding on 3 qubits, alternating constrained/unconstrained angles
SMALL = [AnsatzConfig(n_qubits=3, n_layers=2, rotations=r, entanglement=e, encoding=c,
                      angle_range=None if i % 2 else 0.9)
         for i, (r, e, c) in enumerate(itertools.product(ROTATIONS, ENTANGLEMENTS, ENCODINGS))]
FULL_SIZE = [PRESETS["constrained_crx"], PRESETS["rot_all_to_all"], PRESETS["ry_cnot"],
             PRESETS["ryrz_product"].replace(encoding="rxrz_uniform")]
EDGE = [AnsatzConfig(n_qubits=1, n_layers=2, rotations="rot", entanglement="none", encoding="h_rz_uniform"),
        AnsatzConfig(n_qubits=2, n_layers=3, rotations="ryrz", entanglement="crx_ring"),
        AnsatzConfig(n_qubits=2, n_layers=1, rotations="ry", entanglement="cnot_ring")]


def _params(config, seed=3):
    p = init_params(config, seed=seed)
    return p["rot"].requires_grad_(True), p["ent"].requires_grad_(True)


def _probs_and_grads(fn, config, z, seed=3):
    """Probabilities and d(Σ c·p)/d(rot, ent) for a fixed random readout c."""
    rot, ent = _params(config, seed)
    p = fn(z, rot, ent)
    c = torch.linspace(-1.0, 2.0, config.dim, dtype=torch.float64) ** 2
    (p * c).sum().backward()
    return p.detach(), rot.grad, (ent.grad if ent.grad is not None else torch.zeros_like(ent))


@pytest.mark.parametrize("config", SMALL + FULL_SIZE + EDGE, ids=lambda c: c.describe())
def test_fast_path_equals_qnode_probs_and_grads(config):
    z = torch.rand(5, config.n_qubits, dtype=torch.float64, generator=torch.Generator().manual_seed(7)) * 2 - 1
    qnode = make_qnode(config)
    ref = _probs_and_grads(qnode, config, z)
    fast = _probs_and_grads(lambda *a: circuit_probs(config, *a), config, z)
    assert ref[0].shape == fast[0].shape == (5, config.dim)
    for r, f in zip(ref, fast):
        np.testing.assert_allclose(f.numpy(), r.numpy(), atol=1e-6, rtol=0)
    assert fast[1].abs().sum() > 1e-3  # the comparison is not vacuous


def test_lightning_qnode_agrees():
    pytest.importorskip("pennylane_lightning")
    config = SMALL[-1]
    z = torch.tensor([0.3, -0.7, 0.1], dtype=torch.float64)
    rot, ent = _params(config)
    ref = make_qnode(config, device="lightning.qubit")(z, rot, ent)
    fast = circuit_probs(config, z, rot, ent)
    np.testing.assert_allclose(fast.detach().numpy(), ref.detach().numpy(), atol=1e-8)
    c = torch.arange(config.dim, dtype=torch.float64)
    ref_grad = torch.autograd.grad((ref * c).sum(), (rot, ent))
    fast_grad = torch.autograd.grad((fast * c).sum(), (rot, ent))
    for r, f in zip(ref_grad, fast_grad):
        np.testing.assert_allclose(f.numpy(), r.numpy(), atol=1e-6)


def test_single_noise_vector_and_float32():
    config = PRESETS["rot_all_to_all"]
    z = torch.rand(4, 6, dtype=torch.float64) * 2 - 1
    rot, ent = _params(config)
    p64 = circuit_probs(config, z, rot, ent)
    p32 = circuit_probs(config, z.float(), rot.float(), ent.float())
    assert p32.dtype == torch.float32
    np.testing.assert_allclose(p32.detach().numpy(), p64.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(circuit_probs(config, z[1], rot, ent).detach().numpy(), p64[1].detach().numpy())
    np.testing.assert_allclose(p64.sum(1).detach().numpy(), 1.0, atol=1e-12)


@pytest.mark.parametrize("config", [SMALL[0], SMALL[-1], PRESETS["ry_cnot"]], ids=lambda c: c.describe())
def test_unitary_is_unitary_and_real_flag(config):
    rot, ent = _params(config)
    u = circuit_unitary(config, rot, ent).detach()
    assert u.is_complex() != is_real_circuit(config)
    eye = torch.eye(config.dim, dtype=u.dtype)
    torch.testing.assert_close(u.conj().T @ u, eye, atol=1e-12, rtol=0)


def test_angle_range_constrains_angles():
    config = AnsatzConfig(n_qubits=2, n_layers=1, angle_range=0.5, entanglement="none")
    big = torch.full(config.param_shapes["rot"], 50.0, dtype=torch.float64)
    np.testing.assert_allclose(config.angles(big).numpy(), 0.5 * math.tanh(50.0))
    # RY(≈0.5) on |0⟩ twice-composed with encoding z=0: p(1) per qubit = sin²(0.25)
    p = circuit_probs(config, torch.zeros(2, dtype=torch.float64), big, torch.zeros(1, 0, dtype=torch.float64))
    p1 = math.sin(0.25) ** 2
    np.testing.assert_allclose(p.numpy(), [(1 - p1) ** 2, (1 - p1) * p1, p1 * (1 - p1), p1**2], atol=1e-12)


@pytest.mark.parametrize("config", [PRESETS["constrained_crx"].replace(n_qubits=4), SMALL[5]],
                         ids=lambda c: c.describe())
def test_layer_states_match_truncated_qnodes(config):
    params = init_params(config, seed=11)
    z = np.array([0.4, -0.2, 0.9, -0.6][: config.n_qubits])
    states = layer_states(config, params, z)
    assert len(states) == config.n_layers + 2
    np.testing.assert_allclose(states[0][1], np.eye(config.dim)[0])
    for layers, (label, probs) in enumerate(states[1:]):
        ref = make_qnode(config, n_layers=layers)(torch.as_tensor(z), params["rot"], params["ent"])
        np.testing.assert_allclose(probs, ref.numpy(), atol=1e-10, err_msg=label)
    assert "measurement" in states[-1][0]


def test_layer_states_validates_shapes():
    config = AnsatzConfig(n_qubits=3, n_layers=2)
    params = init_params(config)
    with pytest.raises(ValueError, match="z must have shape"):
        layer_states(config, params, [0.1, 0.2])
    with pytest.raises(ValueError, match="params must have shapes"):
        layer_states(config, {"rot": np.zeros((1, 3, 1)), "ent": params["ent"]}, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("kwargs, message", [
    ({"n_qubits": 0}, "n_qubits"), ({"n_qubits": 9}, "n_qubits"), ({"n_qubits": 2.0}, "n_qubits"),
    ({"n_layers": 0}, "n_layers"), ({"n_layers": 21}, "n_layers"), ({"n_layers": True}, "n_layers"),
    ({"rotations": "rx"}, "rotations"), ({"angle_range": -1.0}, "angle_range"), ({"angle_range": "1"}, "angle_range"),
    ({"angle_range": float("inf")}, "angle_range"), ({"entanglement": "cz"}, "entanglement"),
    ({"encoding": "gauss"}, "encoding"), ({"n_qubits": 1, "entanglement": "cnot_ring"}, "at least 2 qubits"),
])
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AnsatzConfig(**kwargs)


def test_numpy_numbers_are_accepted_and_normalised():
    c = AnsatzConfig(n_qubits=np.int64(3), n_layers=np.int32(2), angle_range=np.float32(0.5))
    assert c == AnsatzConfig(n_qubits=3, n_layers=2, angle_range=0.5) and type(c.n_qubits) is int


def test_presets_and_param_counts():
    assert ansatz_preset("ry_crx", n_qubits=4).n_qubits == 4
    with pytest.raises(ValueError, match="unknown ansatz preset"):
        ansatz_preset("nope")
    c = PRESETS["rot_all_to_all"]  # 3 layers × (6 qubits × 3 angles + 15 pairs)
    assert c.param_shapes == {"rot": (3, 6, 3), "ent": (3, 15)} and c.n_params == 99
    assert len(PRESETS["ry_crx"].entangler_pairs) == 6 and PRESETS["ry_cnot"].param_shapes["ent"] == (3, 0)


def test_bad_inputs_to_fast_path_and_qnode():
    config = SMALL[0]
    rot, ent = _params(config)
    with pytest.raises(ValueError, match="z must have shape"):
        circuit_probs(config, torch.zeros(2, 4, dtype=torch.float64), rot, ent)
    with pytest.raises(ValueError, match="device"):
        make_qnode(config, device="qiskit.aer")
    with pytest.raises(ValueError, match="shots"):
        make_qnode(config, shots=0)


def test_drawing():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = PRESETS["constrained_crx"].replace(n_qubits=3, n_layers=2)
    text = draw_text(config)
    lines = text.splitlines()
    assert len(lines) == 3 and all(line.startswith(f"{q}:") for q, line in enumerate(lines))
    assert text.count("RY") == 3 * 3 and text.count("RX") == 2 * 3
    fig = draw_mpl(config)
    assert isinstance(fig, matplotlib.figure.Figure) and fig.axes
    plt.close(fig)
    with pytest.raises(ValueError, match="z must have shape"):
        draw_text(config, z=[0.0])

configs = st.builds(AnsatzConfig, n_qubits=st.integers(2, 4), n_layers=st.integers(1, 3),
                    rotations=st.sampled_from(sorted(ROTATIONS)), entanglement=st.sampled_from(ENTANGLEMENTS),
                    encoding=st.sampled_from(ENCODINGS), angle_range=st.one_of(st.none(), st.floats(0.1, 4.0)))


@settings(max_examples=40, deadline=None)
@given(config=configs, seed=st.integers(0, 10**6))
def test_laws_probabilities_normalised_and_unentangled_circuits_factorise(config, seed):
    """Σ_b p(b) = 1 for every circuit; without entanglement the qubits stay independent, so the
    joint distribution is the product of its one-qubit marginals."""
    gen = torch.Generator().manual_seed(seed)
    rot = torch.randn(config.param_shapes["rot"], generator=gen, dtype=torch.float64) * 2
    ent = torch.randn(config.param_shapes["ent"], generator=gen, dtype=torch.float64) * 2
    z = torch.rand(3, config.n_qubits, generator=gen, dtype=torch.float64) * 2 - 1
    p = circuit_probs(config, z, rot, ent)
    assert (p >= -1e-15).all()
    np.testing.assert_allclose(p.sum(1).numpy(), 1.0, atol=1e-12)
    if config.entanglement == "none":
        joint = p.reshape(3, *[2] * config.n_qubits)
        product = torch.ones_like(joint)
        for q in range(config.n_qubits):
            others = tuple(d + 1 for d in range(config.n_qubits) if d != q)
            shape = [3] + [2 if d == q else 1 for d in range(config.n_qubits)]
            product = product * joint.sum(dim=others).reshape(shape)
        np.testing.assert_allclose(joint.numpy(), product.numpy(), atol=1e-12)
