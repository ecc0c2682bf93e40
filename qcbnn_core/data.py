"""Datasets for the QCBNN flow, all offline: BreastMNIST (the paper's data, shipped with the package and
verified by its MD5), a synthetic ultrasound phantom, and two scikit-learn bundled sets (digits, Wisconsin breast cancer).

Convention everywhere: class 1 is the "positive" class (malignant; the second chosen digit), so
``p(malignant) = probs[..., 1]``. BreastMNIST and sklearn's breast-cancer set both store malignant
as 0; the loaders flip them so that the convention holds.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import torch

from .safe_npz import read_npz

# BreastMNIST's official split sizes (train/val/test) and its share of malignant images (147+21+42 of 780).
BREASTMNIST_SPLITS = (546, 78, 156)
BREASTMNIST_MALIGNANT_FRACTION = 210 / 780
# The genuine MedMNIST v2 file ships with the package (CC BY 4.0; licence and citation in bundled/README.md);
# the MD5 is the one MedMNIST's own info.py gives for breastmnist.npz at 28 pixels.
BUNDLED_BREASTMNIST = Path(__file__).parent / "bundled" / "breastmnist.npz"
BREASTMNIST_MD5 = "750601b1f35ba3300ea97c75c52ff8f6"
BREASTMNIST_CITATION = ("BreastMNIST: Yang et al., MedMNIST v2, Scientific Data 10, 41 (2023); source images: "
                        "Al-Dhabyani et al., Data in Brief 28, 104863 (2020). Licence CC BY 4.0.")
DATA_CHOICES = ("breastmnist", "phantom", "digits", "breast_cancer")
DEFAULT_DATA = "breastmnist"
# Untrusted files: caps checked before anything is decompressed (see safe_npz). Splits may be a little
# larger than BreastMNIST's; a member is at most 700 float64 28×28 images (4.4 MB).
BREASTMNIST_MEMBERS = tuple(f"{s}_{k}" for s in ("train", "val", "test") for k in ("images", "labels"))
MAX_SPLIT_ROWS = {"train": 700, "val": 100, "test": 200}
MAX_NPZ_MEMBER_BYTES = 700 * 28 * 28 * 8
MAX_NPZ_BYTES = 20_000_000


@dataclass(frozen=True)
class Split:
    """One split of a dataset.

    Attributes:
        x: inputs, ``(N, 1, H, W)`` float32 images in [0, 1] or ``(N, F)`` standardised features.
        y: labels ``(N,)`` int64 in ``{0, 1}``.
    """

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class QCBNNDataset:
    """Train/val/test splits plus what a page needs to label them honestly.

    Attributes:
        name: short id (``"phantom"``, ``"digits"``, ``"breast_cancer"``, ``"breastmnist"``).
        kind: ``"image"`` (conv model) or ``"tabular"`` (dense first layer).
        class_names: names of class 0 and class 1 (class 1 = positive / malignant).
        synthetic: True for generated data; pages must say "synthetic" wherever it is shown.
        description: one sentence on the source.
        feature_names: the columns of tabular inputs (empty for images).
        notice: what a reader must know before trusting results on this data (e.g. a user's BreastMNIST file
            that is not the MedMNIST original); empty when there is nothing to say.
    """

    name: str
    kind: Literal["image", "tabular"]
    train: Split
    val: Split
    test: Split
    class_names: tuple[str, str]
    synthetic: bool
    description: str
    feature_names: tuple[str, ...] = ()
    notice: str = ""

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input: ``(1, H, W)`` for images, ``(F,)`` for tabular data."""
        return tuple(self.train.x.shape[1:])

    def split(self, name: str) -> Split:
        """Return ``"train"``, ``"val"`` or ``"test"``."""
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {name!r}")
        return getattr(self, name)

    def class_examples(self, split: str = "train", per_class: int = 8) -> dict[int, torch.Tensor]:
        """First ``per_class`` inputs of each class (for a data gallery): ``{c: (k, *input_shape)}``."""
        s = self.split(split)
        return {c: s.x[s.y == c][:per_class] for c in (0, 1)}

    def summary(self) -> dict[str, object]:
        """Sizes and class balance per split, JSON-friendly."""
        out: dict[str, object] = {"name": self.name, "synthetic": self.synthetic, "input_shape": list(self.input_shape)}
        if self.notice:
            out["notice"] = self.notice
        for n in ("train", "val", "test"):
            s = self.split(n)
            out[n] = {"n": len(s), "n_positive": int(s.y.sum())}
        return out


# ----------------------------------------------------------------------------- phantom
def _phantom_image(rng: np.random.Generator, malignant: bool, size: int) -> np.ndarray:
    """One 28×28-style B-mode phantom, float in [0, 1]. Depth runs down the rows (transducer on top).

    Benign: round/oval, smooth soft margin, wider than tall, often faint posterior enhancement.
    Malignant: irregular lobulated outline with spicules, sharp margin, often taller than wide, posterior
    acoustic shadowing. The parameter ranges overlap on purpose (mildly irregular benign lesions, weakly
    shadowed smooth-ish cancers) so that a classifier makes some mistakes and uncertainty has something to show.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    # Tissue: depth attenuation + horizontal layers (fat / glandular tissue) of random phase.
    depth = yy / (size - 1)
    tissue = 0.62 - 0.22 * depth
    tissue += 0.08 * np.sin(2 * np.pi * (yy / size) * rng.uniform(1.5, 3.5) + rng.uniform(0, 2 * np.pi))
    tissue += 0.04 * np.sin(2 * np.pi * (xx / size) * rng.uniform(0.3, 1.0) + rng.uniform(0, 2 * np.pi))

    s = size / 28.0
    cx = rng.uniform(10, 18) * s
    cy = rng.uniform(9, 16) * s
    r0 = rng.uniform(3.8, 6.0) * s
    dx, dy = xx - cx, yy - cy
    if malignant:
        aspect = rng.uniform(0.85, 1.3)  # >1: taller than wide ("non-parallel")
        irregular = rng.uniform(0.06, 0.32)
        n_spicules = int(rng.integers(0, 7)) if rng.random() < 0.75 else 0
        softness = rng.uniform(0.35, 0.8)
        shadow = rng.uniform(0.0, 0.75)
        enhancement = 0.0
        darkness = rng.uniform(0.72, 0.9)
    else:
        aspect = rng.uniform(0.55, 0.95)  # wider than tall ("parallel")
        irregular = rng.uniform(0.0, 0.12) if rng.random() < 0.3 else 0.0
        n_spicules = 0
        softness = rng.uniform(0.6, 1.3)
        shadow = rng.uniform(0.0, 0.3) if rng.random() < 0.15 else 0.0
        enhancement = rng.uniform(0.0, 0.25)
        darkness = rng.uniform(0.6, 0.88)
    rot = rng.uniform(-0.35, 0.35)
    u = dx * np.cos(rot) + dy * np.sin(rot)
    v = -dx * np.sin(rot) + dy * np.cos(rot)
    v = v / aspect
    rho = np.hypot(u, v)
    theta = np.arctan2(v, u)
    # Radius as a function of angle: low-order lobulation, then narrow spikes for spicules.
    radius = np.ones_like(theta)
    for k in range(2, 6):
        radius += irregular * rng.uniform(0.3, 1.0) / (k - 1) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    for _ in range(n_spicules):
        ang = rng.uniform(-np.pi, np.pi)
        d = np.angle(np.exp(1j * (theta - ang)))
        radius += rng.uniform(0.35, 0.8) * np.exp(-((d / 0.13) ** 2))
    inside = 1.0 / (1.0 + np.exp((rho - r0 * radius) / softness))  # soft indicator of the lesion

    img = tissue * (1.0 - darkness * inside)
    # Posterior effects: a column below the lesion, fading with distance, as wide as the lesion.
    below = np.clip((yy - cy) / (r0 + 1e-9), 0.0, None)
    column = np.exp(-((dx / (r0 * 0.9)) ** 2)) * (1.0 - np.exp(-below)) * (1.0 - inside)
    img = img * (1.0 - shadow * column) * (1.0 + enhancement * column)
    # Speckle: multiplicative Rayleigh noise (unit mean), lightly correlated by a 2×2 box blur.
    speckle = rng.rayleigh(scale=np.sqrt(2 / np.pi), size=(size + 1, size + 1))
    speckle = 0.25 * (speckle[:-1, :-1] + speckle[1:, :-1] + speckle[:-1, 1:] + speckle[1:, 1:])
    img = img * (0.45 + 0.55 * speckle) + rng.normal(0.0, 0.02, size=img.shape)
    return np.clip(img / 0.9, 0.0, 1.0)


def make_phantom(
    seed: int = 0,
    splits: tuple[int, int, int] = BREASTMNIST_SPLITS,
    malignant_fraction: float = BREASTMNIST_MALIGNANT_FRACTION,
    size: int = 28,
) -> QCBNNDataset:
    """Synthetic breast-ultrasound phantom with BreastMNIST's split sizes and class balance.

    Every split holds exactly ``round(n * malignant_fraction)`` malignant images, in shuffled order.
    Deterministic by ``seed`` (numpy ``default_rng``); split i uses the stream ``(seed, i)`` so the
    test set does not change when the training size does.

    Args:
        seed: random seed.
        splits: ``(n_train, n_val, n_test)``.
        malignant_fraction: share of class 1, in (0, 1).
        size: image side in pixels (the model assumes 28; other sizes are for experiments).

    Returns:
        A :class:`QCBNNDataset` with ``x: (N, 1, size, size)`` float32 in [0, 1], ``synthetic=True``.
    """
    if len(splits) != 3 or any(int(n) < 2 for n in splits):
        raise ValueError(f"splits must be three sizes >= 2 (train, val, test), got {splits}")
    if not 0.0 < malignant_fraction < 1.0:
        raise ValueError(f"malignant_fraction must be in (0, 1), got {malignant_fraction}")
    if size < 8:
        raise ValueError(f"size must be >= 8 pixels, got {size}")
    parts = []
    for i, n in enumerate(splits):
        rng = np.random.default_rng([seed, i])
        n_pos = min(max(round(n * malignant_fraction), 1), n - 1)
        labels = np.zeros(n, dtype=np.int64)
        labels[:n_pos] = 1
        rng.shuffle(labels)
        images = np.stack([_phantom_image(rng, bool(lab), size) for lab in labels])[:, None]
        parts.append(Split(torch.from_numpy(images.astype(np.float32)), torch.from_numpy(labels)))
    return QCBNNDataset(
        name="phantom", kind="image", train=parts[0], val=parts[1], test=parts[2],
        class_names=("benign (synthetic)", "malignant (synthetic)"), synthetic=True,
        description="Synthetic ultrasound phantom (speckle, smooth benign vs. spiculated shadowing malignant "
        "lesions) with BreastMNIST's split sizes and ~27% malignant. Not patient data.",
    )


# ----------------------------------------------------------------------------- BreastMNIST
def _source_bytes(source: str | os.PathLike | bytes | BinaryIO) -> bytes:
    """The raw bytes of a path, bytes or binary file object, refused above ``MAX_NPZ_BYTES`` before reading."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise ValueError(
                f"BreastMNIST file not found: {path.name}. Pass the path of MedMNIST's breastmnist.npz, upload it, "
                "or use the copy that ships with the app (--data breastmnist)."
            )
        if path.stat().st_size > MAX_NPZ_BYTES:
            raise ValueError(f"{path.name} has {path.stat().st_size:,} bytes; BreastMNIST (28×28) is far smaller "
                             f"(limit {MAX_NPZ_BYTES:,})")
        raw = path.read_bytes()
    elif isinstance(source, (bytes, bytearray)):
        raw = bytes(source)
    elif hasattr(source, "getvalue"):  # e.g. Streamlit's UploadedFile / BytesIO
        raw = source.getvalue()
    elif hasattr(source, "read"):
        raw = source.read(MAX_NPZ_BYTES + 1)
    else:
        raise ValueError(f"source must be a path, bytes or a binary file object, got {type(source).__name__}")
    if len(raw) > MAX_NPZ_BYTES:
        raise ValueError(f"the file has {len(raw):,} bytes or more; BreastMNIST (28×28) is far smaller "
                         f"(limit {MAX_NPZ_BYTES:,})")
    return raw


def _read_npz(raw: bytes) -> dict[str, np.ndarray]:
    try:
        return read_npz(raw, MAX_NPZ_MEMBER_BYTES, required=BREASTMNIST_MEMBERS, allowed=BREASTMNIST_MEMBERS,
                        check=_check_header)
    except ValueError as exc:
        raise ValueError(f"not a readable .npz file (expected MedMNIST's breastmnist.npz): {exc}") from None


def _check_header(name: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Refuse a split larger than ``MAX_SPLIT_ROWS`` before its data is decompressed."""
    split = name.split("_")[0]
    if not shape or shape[0] > MAX_SPLIT_ROWS[split]:
        raise ValueError(f"{name} has shape {shape}; at most {MAX_SPLIT_ROWS[split]} {split} examples are accepted "
                         f"(BreastMNIST has {dict(zip(MAX_SPLIT_ROWS, BREASTMNIST_SPLITS))[split]})")
    if dtype.kind not in "uifb":
        raise ValueError(f"{name} has dtype {dtype}; numbers only")


def _check_split(arrays: dict[str, np.ndarray], split: str) -> Split:
    images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{split}_images must have shape (N, 28, 28), got {images.shape} "
            "(use the 28×28 breastmnist.npz, not a larger MedMNIST+ size)"
        )
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"{split}_labels must have shape (N,) or (N, 1) with N={images.shape[0]}, got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{split}_labels must be integers, got dtype {labels.dtype}")
    bad = set(np.unique(labels).tolist()) - {0, 1}
    if bad:
        raise ValueError(f"{split}_labels must be 0 (malignant) or 1 (normal/benign), found {sorted(bad)}")
    if images.dtype == np.uint8:
        x = images.astype(np.float32) / 255.0
    elif np.issubdtype(images.dtype, np.floating):
        if not np.isfinite(images).all() or images.min() < 0.0 or images.max() > 1.0:
            raise ValueError(f"float {split}_images must be finite and in [0, 1]")
        x = images.astype(np.float32)
    else:
        raise ValueError(f"{split}_images must be uint8 (0..255) or float in [0, 1], got dtype {images.dtype}")
    # MedMNIST stores malignant as 0; flip so that class 1 = malignant everywhere in qcbnn_core.
    y = (1 - labels.astype(np.int64))
    return Split(torch.from_numpy(np.ascontiguousarray(x[:, None])), torch.from_numpy(y))


def load_breastmnist(source: str | os.PathLike | bytes | BinaryIO | None = None,
                     require_genuine: bool | None = None) -> QCBNNDataset:
    """Load BreastMNIST (28×28) with numpy only: the bundled MedMNIST copy, or a user's ``.npz``.

    The file's MD5 is compared with MedMNIST's published one. The bundled copy must match (a changed
    byte means a damaged install, and every committed result was computed on the original). A user's
    own file that differs still loads when it is well-formed — it may be a deliberate variant — but the
    dataset's ``notice`` says that its results are not comparable with the study's.

    Args:
        source: a path, the file's bytes, a binary file object (e.g. an upload), or ``None`` for the copy
            that ships with ``qcbnn_core`` (``qcbnn_core/bundled/breastmnist.npz``).
        require_genuine: refuse a file whose MD5 differs; default: only for the bundled copy.

    Returns:
        A :class:`QCBNNDataset`; labels are flipped to 1 = malignant, 0 = normal/benign.

    Raises:
        ValueError: missing file, changed bundled copy (or any differing file with ``require_genuine``),
            not an npz (or damaged), missing keys, wrong shapes/dtypes/labels, an empty validation or test
            split, or a split with one class only (training needs both; accuracy per class, AUROC and the
            uncertainty gap are undefined on a one-class validation or test split).
    """
    bundled = source is None
    raw = _source_bytes(BUNDLED_BREASTMNIST if bundled else source)
    digest = hashlib.md5(raw).hexdigest()
    genuine = digest == BREASTMNIST_MD5
    if (bundled if require_genuine is None else require_genuine) and not genuine:
        where = "the copy of breastmnist.npz that ships with qcbnn_core" if bundled else "this file"
        raise ValueError(f"{where} is not MedMNIST's BreastMNIST: its MD5 is {digest}, the original's is "
                         f"{BREASTMNIST_MD5}. The file was changed or damaged"
                         + ("; reinstall the project (git checkout qcbnn_core/bundled/breastmnist.npz)." if bundled
                            else "."))
    arrays = _read_npz(raw)
    train, val, test = (_check_split(arrays, s) for s in ("train", "val", "test"))
    for name, split in (("val", val), ("test", test)):
        if len(split) == 0:
            raise ValueError(f"the {name} split is empty; it is scored every epoch (val) or at the end (test)")
    for name, split in (("train", train), ("val", val), ("test", test)):
        if len(torch.unique(split.y)) < 2:
            raise ValueError(f"{name}_labels must contain both classes (malignant and normal/benign); "
                             f"the {name} split has {len(split)} example(s) of {len(torch.unique(split.y))} class(es)")
    notice = "" if genuine else (
        f"This is not MedMNIST's original breastmnist.npz (MD5 {digest[:12]}… instead of {BREASTMNIST_MD5[:12]}…): "
        "results on it are not comparable with the committed BreastMNIST study.")
    return QCBNNDataset(
        name="breastmnist", kind="image", train=train, val=val, test=test,
        class_names=("normal/benign", "malignant"), synthetic=False,
        description="BreastMNIST (MedMNIST v2), 28×28 breast-ultrasound images, malignant vs. normal/benign. "
                    + BREASTMNIST_CITATION,
        notice=notice,
    )


# ----------------------------------------------------------------------------- scikit-learn sets
def _stratified_split(
    x: np.ndarray, y: np.ndarray, seed: int, fractions: tuple[float, float] = (0.7, 0.1)
) -> tuple[Split, Split, Split]:
    """Shuffle each class with ``seed`` and cut it 70/10/20 (BreastMNIST's proportions)."""
    rng = np.random.default_rng(seed)
    idx: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for c in (0, 1):
        members = rng.permutation(np.flatnonzero(y == c))
        a = round(len(members) * fractions[0])
        b = a + max(round(len(members) * fractions[1]), 1)
        idx["train"].append(members[:a])
        idx["val"].append(members[a:b])
        idx["test"].append(members[b:])
    out = []
    for name in ("train", "val", "test"):
        order = rng.permutation(np.concatenate(idx[name]))
        out.append(Split(torch.from_numpy(x[order].astype(np.float32)), torch.from_numpy(y[order].astype(np.int64))))
    return out[0], out[1], out[2]


def load_digits_pair(digits: tuple[int, int] = (3, 8), seed: int = 0) -> QCBNNDataset:
    """Two digits from scikit-learn's bundled 8×8 ``load_digits`` as a small real-image task.

    Args:
        digits: ``(negative, positive)``; the second digit becomes class 1.
        seed: fixes the stratified 70/10/20 split.

    Returns:
        A :class:`QCBNNDataset` with ``x: (N, 1, 8, 8)`` in [0, 1].
    """
    from sklearn.datasets import load_digits

    a, b = (int(d) for d in digits)
    if a == b or not (0 <= a <= 9 and 0 <= b <= 9):
        raise ValueError(f"digits must be two different digits 0-9, got {digits}")
    bunch = load_digits()
    keep = np.isin(bunch.target, (a, b))
    x = bunch.images[keep][:, None] / 16.0
    y = (bunch.target[keep] == b).astype(np.int64)
    train, val, test = _stratified_split(x, y, seed)
    return QCBNNDataset(
        name="digits", kind="image", train=train, val=val, test=test, class_names=(f"digit {a}", f"digit {b}"),
        synthetic=False, description=f"scikit-learn load_digits (8×8 handwritten), {a} vs. {b}.",
    )


def load_breast_cancer_tabular(seed: int = 0) -> QCBNNDataset:
    """Wisconsin diagnostic breast cancer (569 × 30 features) from scikit-learn, standardised.

    Features are standardised with the training split's mean and std only (no test leakage).
    Labels flipped to 1 = malignant (sklearn stores malignant as 0).
    """
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    y = (1 - bunch.target).astype(np.int64)
    train, val, test = _stratified_split(bunch.data, y, seed)
    mu, sd = train.x.mean(0), train.x.std(0).clamp_min(1e-8)
    train, val, test = (Split((s.x - mu) / sd, s.y) for s in (train, val, test))
    return QCBNNDataset(
        name="breast_cancer", kind="tabular", train=train, val=val, test=test, class_names=("benign", "malignant"),
        synthetic=False, description="scikit-learn load_breast_cancer (Wisconsin diagnostic, 30 features), standardised.",
        feature_names=tuple(str(f) for f in bunch.feature_names),
    )


def load_dataset(name: str | os.PathLike, seed: int = 0) -> QCBNNDataset:
    """One entry point: ``"breastmnist"`` (the bundled copy), ``"phantom"`` (synthetic), ``"digits"``,
    ``"breast_cancer"`` or a path to a BreastMNIST-format npz.

    Raises:
        ValueError: unknown name or an invalid file.
    """
    key = str(name)
    if key == "phantom":
        return make_phantom(seed=seed)
    if key == "digits":
        return load_digits_pair(seed=seed)
    if key == "breast_cancer":
        return load_breast_cancer_tabular(seed=seed)
    if key == "breastmnist":
        return load_breastmnist(None)
    if key.endswith(".npz"):
        return load_breastmnist(key)
    raise ValueError(f"unknown data {key!r}; choose one of {DATA_CHOICES} or a path ending in .npz")
