"""Independent random streams from one user seed.

A run has one ``seed``; its parts (data order, Monte-Carlo draws, evaluation at epoch k, …)
each need their own stream. Deriving them by hand (``seed * 1_000_003 + 7 * epoch + …``)
invites collisions between parts and between neighbouring seeds; numpy's ``SeedSequence``
hashes the whole path instead, so ``(seed, "eval", 3)`` and ``(seed + 1, "eval", 2)`` differ.
"""
from __future__ import annotations

import zlib

import numpy as np
import torch


def _entropy(key: int | str) -> int:
    if isinstance(key, bool) or not isinstance(key, (int, np.integer, str)):
        raise TypeError(f"seed path parts must be ints or strings, got {key!r}")
    if isinstance(key, str):
        return zlib.crc32(key.encode())  # stable across processes, unlike hash()
    if key < 0:
        raise ValueError(f"seed path parts must be >= 0, got {key}")
    return int(key)


def derive_seed(seed: int, *path: int | str) -> int:
    """A 63-bit seed for the stream named ``path`` under the run seed ``seed``.

    Args:
        seed: the run's seed (>= 0).
        path: names and/or counters of the stream, e.g. ``("eval", epoch, salt)``.

    Returns:
        The same int for the same arguments, in every process and on every platform.
    """
    words = np.random.SeedSequence([_entropy(seed), *(_entropy(k) for k in path)]).generate_state(2, np.uint64)
    return int(words[0] >> np.uint64(1))  # torch.Generator.manual_seed accepts up to 2**63 - 1 safely


def torch_generator(seed: int, *path: int | str) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with :func:`derive_seed` ``(seed, *path)``."""
    return torch.Generator().manual_seed(derive_seed(seed, *path))
