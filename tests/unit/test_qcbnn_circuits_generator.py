"""QuantumWeightGenerator: the weight distributions the two mechanisms promise."""
import math

import numpy as np
import pytest
import torch

from qcbnn_core import AnsatzConfig, QuantumWeightGenerator

SMALL = AnsatzConfig(n_qubits=3, n_layers=2, rotations="ryrz", entanglement="crx_ring")


def _gen(mechanism, config=SMALL, **kw):
    return QuantumWeightGenerator(config, mechanism=mechanism, dtype=torch.float64, **kw)


# --- Born machine -----------------------------------------------------------------------------
def test_born_weights_are_the_affine_map_of_circuit_probs():
    g = _gen("born", n_weights=8, weight_range=(-0.5, 0.5), seed=4)
    w = g.sample(6, generator=torch.Generator().manual_seed(1))
    z = g.sample_noise(6, generator=torch.Generator().manual_seed(1))
    p = g.qnode(z, g.rot, g.ent)  # independent: the PennyLane reference
    expected = g.shift + g.scale * (8 * p - 1)
    np.testing.assert_allclose(w.detach().numpy(), expected.detach().numpy(), atol=1e-10)
    assert ((g.shift >= -0.5) & (g.shift <= 0.5)).all() and torch.allclose(g.scale, torch.full((8,), 1 / 8.0,
                                                                                               dtype=torch.float64))


def test_born_is_continuous_and_differentiable():
    g = _gen("born", n_weights=8)
    w = g.sample(500)
    assert w.shape == (500, 8) and w.requires_grad
    assert len(torch.unique(w[:, 0].detach())) == 500  # a continuous law: no repeated values
    (w**2).mean().backward()
    for name in ("rot", "ent", "shift", "scale"):
        assert getattr(g, name).grad.abs().sum() > 0, name


def test_born_more_weights_than_outcomes_uses_independent_draws():
    g = _gen("born", n_weights=20, seed=2)  # D = 8 → 3 draws per sample, 24 values, first 20 kept
    w = g.sample(4, generator=torch.Generator().manual_seed(0))
    z = g.sample_noise(12, generator=torch.Generator().manual_seed(0))
    p = g.probs(z).reshape(4, 24)[:, :20]
    np.testing.assert_allclose(w.detach().numpy(), (g.shift + g.scale * (8 * p - 1)).detach().numpy(), atol=1e-12)


def test_born_has_no_log_prob():
    g = _gen("born")
    with pytest.raises(NotImplementedError, match="implicit"):
        g.log_prob(torch.zeros(2, 64))
    with pytest.raises(NotImplementedError):
        g.bin_probs()


def test_same_seed_same_samples_and_default_config():
    a = QuantumWeightGenerator(seed=5).sample(3)
    b = QuantumWeightGenerator(seed=5).sample(3)
    c = QuantumWeightGenerator(seed=6).sample(3)
    assert a.shape == (3, 64) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)


# --- bitstring + jitter -----------------------------------------------------------------------
def test_bin_jitter_log_prob_integrates_to_one_1d_and_2d():
    lo, hi = -0.8, 1.2
    g1 = _gen("bin_jitter", n_weights=1, weight_range=(lo, hi), seed=1)
    x = torch.linspace(lo - 0.3, hi + 0.3, 200_001, dtype=torch.float64)
    dens = g1.log_prob(x[:, None]).exp().detach()
    assert torch.trapezoid(dens, x).item() == pytest.approx(1.0, abs=2e-4)  # bin edges cost O(dx) only
    g2 = _gen("bin_jitter", n_weights=2, weight_range=(lo, hi), seed=2)
    m = 640  # midpoint rule on a grid aligned with the 8 bins: exact for a piecewise-constant density
    mid = lo + (torch.arange(m, dtype=torch.float64) + 0.5) * (hi - lo) / m
    xx, yy = torch.meshgrid(mid, mid, indexing="ij")
    dens2 = g2.log_prob(torch.stack([xx.ravel(), yy.ravel()], 1)).exp().detach()
    assert (dens2.sum() * ((hi - lo) / m) ** 2).item() == pytest.approx(1.0, abs=1e-10)


def test_bin_jitter_log_prob_matches_hand_computation_and_support():
    g = _gen("bin_jitter", n_weights=3, weight_range=(-1.0, 1.0), seed=3)
    q = g.qnode(g.cond, g.rot, g.ent).detach().numpy()  # (3, 8) bin probabilities from PennyLane
    w = torch.tensor([[-0.99, 0.0, 0.74], [0.5, -0.26, 0.999]], dtype=torch.float64)
    bins = np.floor((w.numpy() + 1) / 0.25).astype(int)
    expected = [sum(math.log(q[j, b[j]] / 0.25) for j in range(3)) for b in bins]
    np.testing.assert_allclose(g.log_prob(w).detach().numpy(), expected, atol=1e-10)
    out = g.log_prob(torch.tensor([[1.0, 0.0, 0.0], [0.0, -1.01, 0.0]], dtype=torch.float64))
    assert torch.isinf(out).all() and (out < 0).all()  # [lo, hi) is the support


def test_bin_jitter_samples_follow_bin_probs_and_are_uniform_within_bins():
    g = _gen("bin_jitter", n_weights=4, weight_range=(-1.0, 1.0), seed=7)
    n = 40_000
    w = g.sample(n, generator=torch.Generator().manual_seed(0))
    assert w.shape == (n, 4) and not w.requires_grad and ((w >= -1) & (w < 1)).all()
    pos = (w.numpy() + 1) / g.bin_width
    bins, frac = np.floor(pos).astype(int), pos - np.floor(pos)
    q = g.bin_probs().detach().numpy()
    for j in range(4):
        freq = np.bincount(bins[:, j], minlength=8) / n
        sigma = np.sqrt(q[j] * (1 - q[j]) / n)
        assert np.all(np.abs(freq - q[j]) <= 5 * sigma + 1e-12), (j, freq, q[j])
    # jitter: the fractional position is U[0, 1): mean 1/2, variance 1/12
    assert abs(frac.mean() - 0.5) < 5 * math.sqrt(1 / 12 / frac.size)
    assert abs(frac.var() - 1 / 12) < 0.003


def test_bin_jitter_log_prob_gradient_matches_qnode():
    g = _gen("bin_jitter", n_weights=3, seed=8)
    w = g.sample(5)
    g.log_prob(w).sum().backward()
    fast = [g.rot.grad.clone(), g.ent.grad.clone(), g.cond.grad.clone()]
    g.zero_grad()
    bins = ((w + 1) / g.bin_width).floor().long()
    log_q = torch.log(g.qnode(g.cond, g.rot, g.ent)).T
    (torch.gather(log_q, 0, bins).sum()).backward()
    for f, r in zip(fast, [g.rot.grad, g.ent.grad, g.cond.grad]):
        np.testing.assert_allclose(f.numpy(), r.numpy(), atol=1e-6)
    assert fast[0].abs().sum() > 1e-3


# --- shots -------------------------------------------------------------------------------------
def test_shots_counts_match_probs_and_the_pennylane_shot_device():
    g = _gen("born", seed=9)
    z = torch.tensor([0.3, -0.5, 0.8], dtype=torch.float64)
    p = g.probs(z).detach().numpy()
    n = 20_000
    counts = g.shots(z, n, generator=torch.Generator().manual_seed(0)).numpy()
    assert counts.shape == (8,) and counts.sum() == n
    sigma = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(counts / n - p) <= 5 * sigma + 1e-12)
    from qcbnn_core.circuit import make_qnode

    ref_counts = make_qnode(SMALL, shots=n)(z, g.rot.detach(), g.ent.detach())
    ref = np.array([int(ref_counts.get(format(b, "03b"), 0)) for b in range(8)])
    assert ref.sum() == n and np.all(np.abs(ref / n - p) <= 5 * sigma + 1e-12)


# --- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    ({"mechanism": "gan"}, "mechanism"), ({"n_weights": 0}, "n_weights"), ({"n_weights": 2.5}, "n_weights"),
    ({"weight_range": (1.0, -1.0)}, "weight_range"), ({"weight_range": (0.0, math.nan)}, "weight_range"),
    ({"config": "nope"}, "unknown ansatz preset"), ({"config": 3}, "AnsatzConfig"),
    ({"dtype": torch.float16}, "dtype"), ({"qnode_device": "qiskit.aer"}, "qnode_device"),
])
def test_generator_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        QuantumWeightGenerator(**kwargs)


def test_sample_and_log_prob_argument_errors():
    g = _gen("bin_jitter", n_weights=3)
    with pytest.raises(ValueError, match="n_samples"):
        g.sample(0)
    with pytest.raises(ValueError, match="n_shots"):
        g.shots(torch.zeros(3), -1)
    with pytest.raises(ValueError, match="shape"):
        g.log_prob(torch.zeros(4, 2))


def test_float32_samples_at_the_top_edge_stay_scoreable(monkeypatch):
    """A jitter of 1 - 1e-12 in the last bin rounds to hi in float32; the sample must still be
    scored in the bin it was drawn from (finite log_prob), not as outside the support."""
    g = QuantumWeightGenerator(SMALL, n_weights=3, mechanism="bin_jitter", seed=1)  # float32
    real_rand = torch.rand
    monkeypatch.setattr(torch, "rand", lambda *a, **k: torch.full_like(real_rand(*a, **k), 1 - 1e-12))
    w = g.sample(4)
    monkeypatch.undo()
    assert w.dtype == torch.float32 and (w < 1.0).all()
    bins = ((w.double() + 1) / g.bin_width).floor().long()
    q = g.bin_probs().detach().double()
    expected = sum(torch.log(q[j, bins[:, j]] / g.bin_width) for j in range(3))
    np.testing.assert_allclose(g.log_prob(w).detach().double().numpy(), expected.numpy(), rtol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("mechanism", ["born", "bin_jitter"])
def test_cuda_generator_matches_cpu(mechanism):
    config = AnsatzConfig(n_qubits=6, n_layers=3, rotations="rot", entanglement="all_to_all", encoding="rxrz_uniform")
    cpu, gpu = (QuantumWeightGenerator(config, mechanism=mechanism, seed=3, dtype=torch.float64, device=d)
                for d in ("cpu", "cuda"))
    z = cpu.sample_noise(64)
    c = torch.linspace(0, 1, 64, dtype=torch.float64)
    (cpu.probs(z) @ c).sum().backward()
    (gpu.probs(z.cuda()) @ c.cuda()).sum().backward()
    for name in ("rot", "ent"):
        torch.testing.assert_close(getattr(gpu, name).grad.cpu(), getattr(cpu, name).grad, atol=1e-10, rtol=0)
    w_cpu = cpu.sample(16, generator=torch.Generator().manual_seed(0))
    w_gpu = gpu.sample(16, generator=torch.Generator().manual_seed(0))
    assert w_gpu.device.type == "cuda"
    torch.testing.assert_close(w_gpu.detach().cpu(), w_cpu.detach(), atol=1e-10, rtol=0)
    if mechanism == "bin_jitter":
        torch.testing.assert_close(gpu.log_prob(w_gpu).detach().cpu(), cpu.log_prob(w_cpu).detach())


def test_pickle_round_trip_after_qnode_use():
    import pickle

    g = _gen("bin_jitter", n_weights=3, seed=4)
    g.qnode  # builds the (unpicklable) QNode
    h = pickle.loads(pickle.dumps(g))
    torch.testing.assert_close(h.sample(5), g.sample(5))  # parameters and noise stream travel
    z = g.sample_noise(2)
    torch.testing.assert_close(h.qnode(z, h.rot, h.ent), g.probs(z))
