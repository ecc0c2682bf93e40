"""The loss registry: one identity per loss, read by scoring, plots, objectives and the lab.

The key test: ``ntl_core.scoring`` (closed forms on the ten digits) gives the same numbers as the
``ntl_core.losses`` modules built by each entry's factory, on the same distributions.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ntl_core import loss_registry, plots
from ntl_core.objectives import LOSS_LABELS, LOSSES
from ntl_core.scoring import LOSS_NAMES, preset_logits, score_digit, score_number
from tests.unit.ntl_vocab import make_tokenizer, token_ids

DIGITS = [str(d) for d in range(10)]
FACTORY_SPECS = [s for s in loss_registry.DIGIT_LOSSES if s.factory is not None]


def _batch(tokenizer, logits: np.ndarray, targets: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 1, V) logits with the ten digits' logits at their ids and the text tokens far below."""
    ids = token_ids(tokenizer, DIGITS)
    full = torch.full((len(targets), 1, len(tokenizer)), -1e4, dtype=torch.float64)
    full[:, 0, ids] = torch.tensor(logits, dtype=torch.float64)
    labels = ids[torch.tensor(targets)][:, None]
    return full, labels


def _distributions() -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(7)
    rows, targets = [], []
    for target in (1, 4, 8):
        for name in ("peaked", "neighbour", "far", "bimodal", "uniform", "random"):
            rows.append(preset_logits(name, target, temperature=0.7, seed=target))
            targets.append(target)
    rows.extend(3.0 * rng.standard_normal((6, 10)))
    targets.extend(rng.integers(0, 10, 6).tolist())
    return np.stack(rows), targets


@pytest.mark.parametrize("spec", FACTORY_SPECS, ids=lambda s: s.key)
def test_scoring_equals_the_registered_loss_module(spec):
    tokenizer = make_tokenizer("digits", seed=3)
    logits, targets = _distributions()
    batch, labels = _batch(tokenizer, logits, targets)
    module = spec.factory(tokenizer)
    expected = module(batch, labels, reduction="none").reshape(-1).numpy()
    scored = np.array([score_digit(t, logits=z).losses[spec.label] for z, t in zip(logits, targets)])
    # atol: scoring counts |ŷ - y| < KINK_TOL as a hit (see loss_registry._error).
    np.testing.assert_allclose(scored, expected, rtol=1e-10, atol=loss_registry.KINK_TOL)


def test_scoring_ce_equals_torch_cross_entropy_on_the_same_rows():
    logits, targets = _distributions()
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(targets), reduction="none")
    scored = [score_digit(t, logits=z).losses["CE"] for z, t in zip(logits, targets)]
    np.testing.assert_allclose(scored, expected.numpy(), rtol=1e-12)


def test_number_level_score_equals_the_registered_number_loss():
    tokenizer = make_tokenizer("digits", seed=5)
    logits = np.stack([preset_logits(n, d, 0.8) for n, d in (("neighbour", 4), ("far", 7), ("peaked", 2))])
    ids = token_ids(tokenizer, DIGITS)
    batch = torch.full((1, 3, len(tokenizer)), -1e4, dtype=torch.float64)
    batch[0, :, ids] = torch.tensor(logits)
    labels = ids[torch.tensor([4, 7, 2])][None, :]
    module = loss_registry.get("number").factory(tokenizer)
    assert score_number("472", logits).number_loss == pytest.approx(float(module(batch, labels)), rel=1e-9)


def test_an_expected_value_on_the_target_gives_no_mae_gradient():
    """The bimodal preset has ŷ = y up to ~1e-11: no ±1-sized MAE bars of arbitrary direction."""
    score = score_digit(4, logits=preset_logits("bimodal", 4))
    assert abs(score.expected - 4) < loss_registry.KINK_TOL
    for label in ("NTL-MSE", "NTL-MAE", "NTL-Huber"):
        assert np.abs(score.gradients[label]).max() == 0.0, label
    off = score_digit(4, logits=preset_logits("bimodal", 4) + np.eye(10)[6] * 0.01)
    assert off.gradients["NTL-MAE"][6] > 0.5  # a real miss keeps MAE's full-size gradient


def test_every_reader_uses_the_registry_identity():
    assert LOSS_NAMES == tuple(s.label for s in loss_registry.DIGIT_LOSSES)
    assert set(LOSSES) == {s.key for s in loss_registry.LOSSES if s.trainable}
    for key in LOSSES:
        spec = loss_registry.get(key)
        assert LOSS_LABELS[key] == spec.training_label
        assert LOSS_LABELS[key].startswith("CE + ") == spec.is_ntl
    for label in LOSS_NAMES:
        assert plots.LOSS_COLORS[label] == loss_registry.by_label(label).colour


def test_lab_colours_and_labels_match_the_explorer():
    from ntl_core.lab_plots import COLORS
    from ntl_core.objectives import loss_label
    from ntl_core.loss_registry import NTL_TRAINABLE as NTL_LOSSES

    for key in ("mse", "was"):
        spec = loss_registry.get(key)
        assert COLORS[key] == plots.LOSS_COLORS[spec.label]
        assert loss_label(key) == f"CE + {spec.label}"
    assert set(NTL_LOSSES) == {"mse", "was"}


def test_identities_are_unique():
    specs = loss_registry.LOSSES
    for attribute in ("key", "label", "colour"):
        values = [getattr(s, attribute) for s in specs]
        assert len(values) == len(set(values)), attribute


def test_unknown_names_are_clear_errors():
    with pytest.raises(ValueError, match="unknown loss 'xyz'.*ce"):
        loss_registry.get("xyz")
    with pytest.raises(ValueError, match="unknown loss label"):
        loss_registry.by_label("NTL-XYZ")
    with pytest.raises(ValueError, match="unknown loss"):
        loss_registry.colour("nope")
    assert loss_registry.colour("was") == loss_registry.colour("NTL-WAS")
