"""What both cores share: device choice, seed streams, the callback convention, frozen configs, the
run-directory header, strict JSON, ``--out`` handling, reading untrusted files within one budget
(``labkit.untrusted``) and checking their fields (``labkit.fields``), the training workers
(``labkit.workers``) and the Student-t interval of seed statistics (``labkit.stats``, imported on its own:
it pulls in scipy).

``ntl_core`` and ``qcbnn_core`` import this package and never each other; it imports neither
of them nor Streamlit (tests/unit/test_import_graph.py checks this).
"""
from labkit.device import describe_device, pick_device
from labkit.seeds import derive_seed, torch_generator
from labkit.strict_json import jsonable

__all__ = ["derive_seed", "describe_device", "jsonable", "pick_device", "torch_generator"]
