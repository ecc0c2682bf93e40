"""One place that decides where tensors live: CUDA, else Apple MPS, else CPU."""
from __future__ import annotations

import torch


def pick_device(prefer: str | torch.device | None = "auto") -> torch.device:
    """Return the device to compute on.

    Args:
        prefer: ``"auto"``/``None`` picks CUDA, then MPS, then CPU; any other value
            (``"cpu"``, ``"cuda:1"``, a ``torch.device``) is honoured as given.

    Raises:
        ValueError: if a CUDA/MPS device is asked for explicitly but is not available.
    """
    if prefer is None or prefer == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(prefer)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {prefer!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'") from None
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device {prefer!r} is not supported here; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
    if device.type == "cpu" and device.index not in (None, 0):  # torch accepts "cpu:99" and ignores the index
        raise ValueError(f"device {prefer!r}: there is one CPU device; use 'cpu' (threads set the cores used)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device} requested but CUDA is not available; use device='auto' or 'cpu'")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"device {device} requested but this machine has {torch.cuda.device_count()} CUDA "
                         f"device(s), numbered from 0")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device {device} requested but MPS is not available; use device='auto' or 'cpu'")
    return device


def describe_device(device: torch.device | None = None) -> str:
    """Human-readable name of ``device`` (default: the auto pick), e.g. ``"CUDA: NVIDIA H100"``."""
    device = pick_device() if device is None else torch.device(device)
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''})"
