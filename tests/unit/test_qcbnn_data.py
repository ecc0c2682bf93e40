"""Datasets: phantom properties, BreastMNIST validation (clear ValueErrors), sklearn loaders."""
import hashlib
import io

import numpy as np
import pytest
import torch

import qcbnn_core.data as data_module
from qcbnn_core.data import (
    BREASTMNIST_MD5, BREASTMNIST_SPLITS, BUNDLED_BREASTMNIST, load_breast_cancer_tabular, load_breastmnist, load_dataset, load_digits_pair, make_phantom,
)
from tests.unit.qcbnn_doubles import torch_one_thread  # noqa: F401  (autouse fixture)



@pytest.fixture(scope="module")
def phantom():
    return make_phantom(seed=0)


def test_phantom_matches_breastmnist_sizes_and_balance(phantom):
    assert (len(phantom.train), len(phantom.val), len(phantom.test)) == BREASTMNIST_SPLITS
    assert [int(s.y.sum()) for s in (phantom.train, phantom.val, phantom.test)] == [147, 21, 42]
    assert phantom.train.x.shape == (546, 1, 28, 28) and phantom.train.x.dtype == torch.float32
    assert 0.0 <= float(phantom.train.x.min()) and float(phantom.train.x.max()) <= 1.0
    assert phantom.synthetic and all("synthetic" in n for n in phantom.class_names)


def test_phantom_is_deterministic_by_seed(phantom):
    again = make_phantom(seed=0)
    assert torch.equal(again.train.x, phantom.train.x) and torch.equal(again.test.y, phantom.test.y)
    other = make_phantom(seed=1)
    assert not torch.equal(other.train.x, phantom.train.x)


def test_phantom_is_learnable_but_not_trivial(phantom):
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    def feats(x):  # 14×14 average-pooled pixels keep the fit fast
        return torch.nn.functional.avg_pool2d(x, 2).flatten(1).numpy()

    with threadpool_limits(1):  # BLAS threads only slow this tiny fit down on a shared CPU
        clf = LogisticRegression(C=0.1, max_iter=3000).fit(feats(phantom.train.x), phantom.train.y.numpy())
    acc = clf.score(feats(phantom.test.x), phantom.test.y.numpy())
    assert 0.78 < acc < 0.995  # clearly above the 73% majority rate, yet with mistakes to be uncertain about


def test_phantom_malignant_lesions_cast_shadows(phantom):
    """Posterior acoustic shadowing: the column below the image centre is darker for malignant lesions."""
    x, y = phantom.train.x[:, 0], phantom.train.y
    below = x[:, 20:28, 10:18].mean(dim=(1, 2))
    assert below[y == 1].mean() < below[y == 0].mean() - 0.02


def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _valid_arrays(n=(12, 4, 6), shape=(28, 28)):
    rng = np.random.default_rng(0)
    out = {}
    for split, k in zip(("train", "val", "test"), n):
        out[f"{split}_images"] = rng.integers(0, 256, size=(k, *shape), dtype=np.uint8)
        out[f"{split}_labels"] = (np.arange(k) % 2).astype(np.uint8)[:, None]
    return out


def test_breastmnist_loads_from_path_bytes_and_fileobj(tmp_path):
    arrays = _valid_arrays()
    raw = _npz_bytes(**arrays)
    path = tmp_path / "breastmnist.npz"
    path.write_bytes(raw)
    for source in (path, str(path), raw, io.BytesIO(raw)):
        d = load_breastmnist(source)
        assert d.train.x.shape == (12, 1, 28, 28) and not d.synthetic
        np.testing.assert_allclose(d.train.x[:, 0].numpy(), arrays["train_images"] / 255.0, atol=1e-7)
        # MedMNIST: 0 = malignant; qcbnn_core: 1 = malignant
        assert torch.equal(d.test.y, torch.from_numpy(1 - arrays["test_labels"][:, 0].astype(np.int64)))


def test_bundled_breastmnist_is_the_genuine_medmnist_file():
    raw = BUNDLED_BREASTMNIST.read_bytes()
    assert hashlib.md5(raw).hexdigest() == BREASTMNIST_MD5 == "750601b1f35ba3300ea97c75c52ff8f6"
    d = load_breastmnist()
    assert (len(d.train), len(d.val), len(d.test)) == BREASTMNIST_SPLITS == (546, 78, 156)
    assert d.input_shape == (1, 28, 28) and not d.synthetic and d.notice == ""
    # Label flip: MedMNIST's 0 = malignant becomes 1; 147/21/42 malignant images per split.
    assert [int(s.y.sum()) for s in (d.train, d.val, d.test)] == [147, 21, 42]
    assert abs(1 - d.test.y.float().mean().item() - 114 / 156) < 1e-6  # base rate 0.731 on test
    assert load_dataset("breastmnist").name == "breastmnist"


def test_a_changed_byte_in_the_bundled_copy_is_refused(tmp_path, monkeypatch):
    raw = bytearray(BUNDLED_BREASTMNIST.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    damaged = tmp_path / "breastmnist.npz"
    damaged.write_bytes(bytes(raw))
    monkeypatch.setattr(data_module, "BUNDLED_BREASTMNIST", damaged)
    with pytest.raises(ValueError, match="MD5 is [0-9a-f]{32}, the original's is 750601b1f35ba3300ea97c75c52ff8f6"):
        load_breastmnist()
    with pytest.raises(ValueError, match="not MedMNIST's BreastMNIST"):
        load_breastmnist(bytes(raw), require_genuine=True)


def test_a_users_different_file_loads_with_a_notice_not_silently():
    d = load_breastmnist(_npz_bytes(**_valid_arrays()))
    assert "not MedMNIST's original" in d.notice and "not comparable" in d.notice
    assert d.summary()["notice"] == d.notice
    assert load_breastmnist(BUNDLED_BREASTMNIST).notice == ""  # the original, passed as a path


@pytest.mark.parametrize("mutate, message", [
    (lambda a: a.pop("val_labels"), "missing keys"),
    (lambda a: a.update(train_images=np.zeros((12, 64, 64), np.uint8)), "28, 28"),
    (lambda a: a.update(train_labels=np.full((12, 1), 0.5)), "integers"),
    (lambda a: a.update(test_labels=np.full((6, 1), 2, np.uint8)), "found \\[2\\]"),
    (lambda a: a.update(val_labels=np.zeros((3, 1), np.uint8)), "N=4"),
    (lambda a: a.update(train_images=np.full((12, 28, 28), 3.0, np.float32)), "in \\[0, 1\\]"),
    (lambda a: a.update(train_images=np.zeros((12, 28, 28), np.int32)), "uint8"),
    (lambda a: a.update(train_labels=np.zeros((12, 1), np.uint8)), "both classes"),
])
def test_breastmnist_rejects_malformed_files_clearly(mutate, message):
    arrays = _valid_arrays()
    mutate(arrays)
    with pytest.raises(ValueError, match=message):
        load_breastmnist(_npz_bytes(**arrays))


def test_breastmnist_rejects_non_npz_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_breastmnist(b"this is not a zip file")
    with pytest.raises(ValueError, match="not found"):
        load_breastmnist(tmp_path / "nope.npz")
    with pytest.raises(ValueError, match="source must be"):
        load_breastmnist(12345)


def test_digits_pair():
    d = load_digits_pair((1, 7), seed=3)
    assert d.input_shape == (1, 8, 8) and d.class_names == ("digit 1", "digit 7")
    n = len(d.train) + len(d.val) + len(d.test)
    from sklearn.datasets import load_digits

    target = load_digits().target
    assert n == int(np.isin(target, (1, 7)).sum())
    assert int(d.train.y.sum() + d.val.y.sum() + d.test.y.sum()) == int((target == 7).sum())
    assert float(d.train.x.max()) <= 1.0
    with pytest.raises(ValueError, match="two different digits"):
        load_digits_pair((3, 3))


def test_breast_cancer_tabular_standardised_with_train_stats():
    d = load_breast_cancer_tabular(seed=0)
    assert d.kind == "tabular" and d.input_shape == (30,)
    np.testing.assert_allclose(d.train.x.mean(0).numpy(), 0.0, atol=1e-5)
    total_malignant = int(d.train.y.sum() + d.val.y.sum() + d.test.y.sum())
    assert total_malignant == 212  # sklearn: 212 malignant (stored as 0 there), 357 benign
    assert abs(len(d.train) / 569 - 0.7) < 0.01


def test_load_dataset_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown data"):
        load_dataset("mnist")
