"""Models: the batched first layer equals an independent convolution, MC prediction, determinism."""
import pytest
import torch
import torch.nn.functional as F

from qcbnn_core.models import GaussianWeights, ModelConfig, build_model, first_layer_size
from tests.unit.qcbnn_doubles import ImplicitDouble, torch_one_thread  # noqa: F401


def double(n, seed):
    return ImplicitDouble(n, seed)


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 8, 8), (1, 9, 7)])
def test_first_layer_equals_conv2d_per_draw(shape):
    model = build_model(ModelConfig(kind="qcbnn"), shape, seed=0, generator_factory=double)
    x = torch.rand(5, *shape)
    w = model.source.sample(3)
    out = model.first_layer(x, w)  # (S, B, L, M)
    for s in range(3):
        ref = F.conv2d(x, w[s].reshape(16, 1, 2, 2), stride=2)  # (B, M, H', W')
        torch.testing.assert_close(out[s], ref.flatten(2).transpose(1, 2))


def test_dense_first_layer_for_tabular_inputs():
    model = build_model(ModelConfig(kind="cnn"), (30,), seed=0)
    assert model.source.n_weights == 16 * 30 == first_layer_size((30,))
    x = torch.randn(4, 30)
    w = torch.randn(2, 480)
    torch.testing.assert_close(model.first_layer(x, w)[:, :, 0], torch.stack([x @ w[s].reshape(16, 30).T for s in range(2)]))


def test_predict_proba_shape_chunking_and_shared_draws():
    model = build_model(ModelConfig(kind="qcbnn"), (1, 28, 28), seed=0, generator_factory=double)
    x = torch.rand(10, 1, 28, 28)
    p = model.predict_proba(x, 6, torch.Generator().manual_seed(0))
    assert p.shape == (6, 10, 2)
    torch.testing.assert_close(p.sum(-1), torch.ones(6, 10))
    chunked = model.predict_proba(x, 6, torch.Generator().manual_seed(0), max_elements=16 * 196 * 6 * 3)
    torch.testing.assert_close(p, chunked)
    assert p.std(0).mean() > 0  # draws differ


def test_cnn_draws_are_identical_and_bnn_draws_differ():
    x = torch.rand(7, 1, 28, 28)
    cnn = build_model(ModelConfig(kind="cnn"), (1, 28, 28), seed=0)
    p = cnn.predict_proba(x, 4)
    torch.testing.assert_close(p, p[:1].expand_as(p))
    bnn = build_model(ModelConfig(kind="bnn", init_sigma=0.3), (1, 28, 28), seed=0)
    assert bnn.predict_proba(x, 4).std(0).mean() > 1e-4


def test_local_reparameterisation_matches_weight_sampling_in_distribution():
    """Training-mode pre-activations ~ N(op(x, mu), op(x^2, sigma^2)) = the law of op(x, w) with w ~ q."""
    model = build_model(ModelConfig(kind="bnn", init_sigma=0.4), (1, 8, 8), seed=0)
    x = torch.rand(2, 1, 8, 8)
    g = torch.Generator().manual_seed(0)
    model.train()
    local = model.source.preactivation(x, model.first_layer, 4000, g)
    model.eval()
    explicit = model.source.preactivation(x, model.first_layer, 4000, g)
    torch.testing.assert_close(local.mean(0), explicit.mean(0), atol=0.06, rtol=0)  # ~6 MC standard errors
    torch.testing.assert_close(local.std(0), explicit.std(0), atol=0.03, rtol=0.05)
    src = model.source
    assert isinstance(src, GaussianWeights)
    torch.testing.assert_close(local.mean(0), model.first_layer(x, src.mu[None])[0], atol=0.06, rtol=0)


def test_build_is_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_model(ModelConfig(kind="bnn"), (1, 28, 28), seed=5)
    after = torch.rand(1)
    assert torch.equal(before, after)
    b = build_model(ModelConfig(kind="bnn"), (1, 28, 28), seed=5)
    c = build_model(ModelConfig(kind="bnn"), (1, 28, 28), seed=6)
    for (k, v), (_, v2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(v, v2), k
    assert not torch.equal(a.fc.weight, c.fc.weight)


def test_real_quantum_generator_feeds_the_conv_layer():
    model = build_model(ModelConfig(kind="qcbnn", ansatz_overrides={"n_layers": 1}), (1, 28, 28), seed=0)
    g = model.source.generator
    assert g.n_weights == 64 and g.mechanism == "semi_implicit"  # the default: the fair mechanism
    w = model.source.sample(3, torch.Generator().manual_seed(1))
    torch.testing.assert_close(w, g.sample(3, torch.Generator().manual_seed(1)).float())
    logits = model(torch.rand(2, 1, 28, 28), n_samples=3)
    logits.sum().backward()
    assert g.rot.grad is not None and g.rot.grad.abs().sum() > 0  # gradients reach the circuit


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "gp"}, "model kind"), ({"mechanism": "shots"}, "mechanism"),
    ({"weight_range": (1.0, -1.0)}, "low < high"), ({"stride": 0}, "stride"), ({"init_sigma": 0.0}, "init_sigma"),
])
def test_model_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**kwargs)


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="input_shape"):
        first_layer_size((3, 28, 28))
    with pytest.raises(ValueError, match="smaller than"):
        first_layer_size((1, 1, 5))


@pytest.mark.parametrize("kind", ["qcbnn", "mlp"])
def test_to_moves_every_tensor_and_keeps_the_results(kind):
    # No private torch hook: the generator is a submodule and the sample dtype follows a buffer. (The generators
    # draw their noise in float64 whatever their dtype, so float64 results match float32 ones to rounding.)
    model = build_model(ModelConfig(kind=kind, ansatz_overrides={"n_qubits": 4, "n_layers": 1}), (1, 8, 8), seed=0)
    x = torch.rand(3, 1, 8, 8)
    before = model.predict_proba(x, 4, torch.Generator().manual_seed(0))
    assert model.to("cpu").predict_proba(x, 4, torch.Generator().manual_seed(0)).equal(before)
    wide = model.double()
    assert all(t.dtype == torch.float64 for t in [*wide.parameters(), *wide.buffers()])
    after = wide.predict_proba(x.double(), 4, torch.Generator().manual_seed(0))
    assert after.dtype == torch.float64
    torch.testing.assert_close(after.float(), before, atol=1e-5, rtol=1e-4)
    assert "source.anchor" not in model.state_dict()  # model.pt files from before still load


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_to_cuda_moves_the_generator_too():
    model = build_model(ModelConfig(kind="qcbnn", ansatz_overrides={"n_qubits": 4, "n_layers": 1}), (1, 8, 8), seed=0)
    x = torch.rand(3, 1, 8, 8)
    before = model.predict_proba(x, 4, torch.Generator().manual_seed(0))
    model.to("cuda")
    assert all(t.device.type == "cuda" for t in [*model.parameters(), *model.buffers()])
    torch.testing.assert_close(model.predict_proba(x.cuda(), 4, torch.Generator().manual_seed(0)).cpu(), before,
                               atol=1e-5, rtol=1e-4)
