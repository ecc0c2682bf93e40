import pytest
import torch

from labkit.device import describe_device, pick_device


def test_auto_pick_matches_availability():
    dev = pick_device("auto")
    if torch.cuda.is_available():
        assert dev.type == "cuda"
    elif not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        assert dev.type == "cpu"


def test_explicit_cpu_and_label():
    assert pick_device("cpu") == torch.device("cpu")
    assert describe_device(torch.device("cpu")).startswith("CPU")


@pytest.mark.skipif(torch.cuda.is_available(), reason="only meaningful without CUDA")
def test_unavailable_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        pick_device("cuda")
