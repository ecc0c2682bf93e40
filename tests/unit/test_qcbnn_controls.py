"""The controls: the classical implicit generator (shapes, gradients, same noise and map as the circuit),
the MLP-control model, and the deterministic CNN whose only uncertainty is the softmax entropy."""
import numpy as np
import pytest
import torch

from qcbnn_core.generator import ClassicalWeightGenerator, QuantumWeightGenerator
from qcbnn_core.metrics import evaluate
from qcbnn_core.models import ModelConfig, build_model
from qcbnn_core.objectives import Objective
from tests.unit.qcbnn_doubles import torch_one_thread  # noqa: F401


@pytest.mark.parametrize("mechanism", ["semi_implicit", "born", "bin_jitter"])
def test_classical_generator_shapes_and_gradients(mechanism):
    g = ClassicalWeightGenerator(n_noise=6, dim=64, n_weights=64, mechanism=mechanism, seed=1)
    p = g.probs(g.sample_noise(5))
    assert p.shape == (5, 64) and torch.allclose(p.sum(1), torch.ones(5))
    w = g.sample(7)
    assert w.shape == (7, 64) and w.dtype == torch.float32
    if mechanism == "bin_jitter":  # discrete draw: gradients flow through log_prob
        assert not w.requires_grad
        g.log_prob(w).sum().backward()
    else:
        w.pow(2).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in (g.w1, g.b1, g.w2, g.b2))


def test_classical_control_matches_the_circuit_in_noise_outcomes_and_map():
    q = QuantumWeightGenerator("constrained_crx", n_weights=64, seed=4)
    c = ClassicalWeightGenerator(q.n_noise, q.dim, 64, seed=4)
    assert (c.n_noise, c.dim, c.draws_per_vector) == (6, 64, 1) == (q.n_noise, q.dim, q.draws_per_vector)
    # identical mechanism parameters for one seed: only the simplex map differs
    for name in ("shift", "scale", "rho"):
        torch.testing.assert_close(getattr(c, name), getattr(q, name))
    # same map: m(z) = shift + scale (D p − 1) with the control's own p
    z = c.sample_mixing(3, torch.Generator().manual_seed(0))
    torch.testing.assert_close(c.mean_map(z), c.shift + c.scale * (64 * c.probs(z) - 1))


def test_mlp_model_trains_its_generator_through_the_semi_implicit_objective():
    model = build_model(ModelConfig(kind="mlp"), (1, 8, 8), seed=0)
    assert isinstance(model.source.generator, ClassicalWeightGenerator)
    objective = Objective(model, n_train=50, seed=0, sivi_draws=4)
    assert objective.mode == "semi_implicit"
    x, y = torch.randn(6, 1, 8, 8), torch.randint(0, 2, (6,))
    parts = objective.loss(x, y, 3, 1.0, torch.Generator().manual_seed(0))
    parts.loss.backward()
    gen = model.source.generator
    assert np.isfinite(parts.kl) and all(p.grad is not None for p in gen.parameters())
    assert model.fc.weight.grad is not None


def test_classical_generator_rejects_bad_sizes():
    with pytest.raises(ValueError, match="hidden"):
        ClassicalWeightGenerator(hidden=0)
    with pytest.raises(ValueError, match="init_sigma"):
        ClassicalWeightGenerator(init_sigma=0.0)
    with pytest.raises(ValueError, match="mlp_hidden"):
        ModelConfig(kind="mlp", mlp_hidden=0)


def test_cnn_gap_comes_from_softmax_entropy_alone():
    model = build_model(ModelConfig(kind="cnn"), (1, 8, 8), seed=0)
    x = torch.randn(40, 1, 8, 8)
    probs = model.predict_proba(x, n_samples=5)
    y = torch.randint(0, 2, (40,))
    ev = evaluate(probs, y, n_boot=20)
    p = probs[0].double().numpy()
    softmax_entropy = -(p * np.log(p)).sum(1)
    np.testing.assert_allclose(ev.per_sample["predictive_entropy"], softmax_entropy, rtol=1e-6)
    assert (ev.per_sample["mutual_information"] == 0).all() and ev.error_auroc["mutual_information"] == 0.5
