"""Every config of both cores is frozen, validated, round-trips through JSON and copies with .replace()."""
import dataclasses
import json

import pytest

from ntl_core.train_config import TrainConfig as NTLTrainConfig
from qcbnn_core.ansatz import AnsatzConfig
from qcbnn_core.models import ModelConfig
from qcbnn_core.trainer import TrainConfig as QCBNNTrainConfig

# (a config with a non-default value, one valid change, one invalid change)
CASES = [
    (NTLTrainConfig(loss="mse", digits=3), {"seed": 4}, {"lr": 0}),
    (QCBNNTrainConfig(epochs=3, lr_generator=0.5), {"batch_size": 8}, {"epochs": 0}),
    (ModelConfig(kind="qcbnn", ansatz_overrides={"n_layers": 2}, weight_range=(-2, 2)), {"kind": "bnn"},
     {"mechanism": "magic"}),
    (AnsatzConfig(n_qubits=4, angle_range=1.0), {"n_layers": 5}, {"n_qubits": 99}),
]


@pytest.mark.parametrize("cfg, good, bad", CASES, ids=lambda c: type(c).__name__ if dataclasses.is_dataclass(c) else "")
def test_frozen_validated_round_trip_and_replace(cfg, good, bad):
    cls = type(cfg)
    field = next(iter(good))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(cfg, field, good[field])
    assert cls.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    changed = cfg.replace(**good)
    assert getattr(changed, field) == good[field] and changed != cfg and cfg.replace() == cfg
    with pytest.raises(ValueError):
        cfg.replace(**bad)
    with pytest.raises(ValueError, match="unknown"):
        cls.from_dict({**cfg.to_dict(), "no_such_field": 1})
    with pytest.raises(ValueError):
        cls.from_dict([1, 2])


def test_model_config_keeps_its_own_copy_of_the_overrides():
    overrides = {"n_layers": 2}
    cfg = ModelConfig(ansatz_overrides=overrides)
    overrides["n_layers"] = 7
    assert cfg.ansatz_overrides == {"n_layers": 2} and cfg.weight_range == (-1.0, 1.0)
