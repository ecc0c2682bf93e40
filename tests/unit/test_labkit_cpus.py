"""labkit.workers.cpus: the split of cores between the web server and the training workers."""
import os
import threading

import pytest

from labkit.workers.cpus import CpuSplit, affinity_supported, pin_process, split_cpus

pytestmark = pytest.mark.skipif(not affinity_supported(), reason="CPU affinity is Linux only")


def test_training_gets_the_last_cores_and_the_server_keeps_the_rest():
    assert split_cpus(1, frozenset({0, 1})) == CpuSplit(server=frozenset({0}), training=frozenset({1}))
    assert split_cpus(2, frozenset({0, 2, 5, 7})) == CpuSplit(server=frozenset({0, 2}), training=frozenset({5, 7}))


@pytest.mark.parametrize("n", [0, 2, 3])
def test_the_server_always_keeps_a_core(n):
    with pytest.raises(ValueError, match="at least one must be left for the web server"):
        split_cpus(n, frozenset({0, 1}))


@pytest.mark.skipif(affinity_supported() and len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
def test_pin_process_moves_every_thread_and_later_threads_inherit_it():
    before = os.sched_getaffinity(0)
    started, stop = threading.Event(), threading.Event()
    seen: dict[str, set[int]] = {}

    def existing() -> None:
        started.set()
        stop.wait(30)
        seen["existing"] = os.sched_getaffinity(0)

    thread = threading.Thread(target=existing, daemon=True)
    thread.start()
    started.wait(10)
    core = min(before)
    try:
        pin_process(frozenset({core}))
        later = threading.Thread(target=lambda: seen.setdefault("later", os.sched_getaffinity(0)))
        later.start()
        later.join(10)
        stop.set()
        thread.join(10)
        assert seen == {"existing": {core}, "later": {core}} and os.sched_getaffinity(0) == {core}
    finally:
        pin_process(frozenset(before))
