import gc

from pages._ui.reaper import WorkerReaper


class Run:
    def __init__(self):
        self.freed = False

    def free(self):
        self.freed = True


def test_runs_of_sessions_gone_longer_than_the_grace_are_freed():
    clock = [0.0]
    active = {"a": True, "b": True}
    reaper = WorkerReaper(lambda s: active[s], grace_s=60, period_s=None, clock=lambda: clock[0])
    a, b = Run(), Run()
    released = []
    reaper.track("a", a, lambda: released.append("a"))
    reaper.track("b", b, lambda: released.append("b"))
    active["b"] = False  # b closed its tab
    assert reaper.sweep() == 0
    clock[0] = 30.0
    active["b"] = True  # ... or only lost the network for 30 s: forgiven
    assert reaper.sweep() == 0
    active["b"] = False
    clock[0] = 40.0
    assert reaper.sweep() == 0
    clock[0] = 100.0
    assert reaper.sweep() == 1 and b.freed and not a.freed and released == ["b"]  # its slot is given back too
    assert reaper.sweep() == 0 and released == ["b"]  # freed once


def test_a_run_already_dropped_is_forgotten():
    reaper = WorkerReaper(lambda s: False, grace_s=0, period_s=None)
    reaper.track("a", Run())  # nobody keeps the run: nothing to free
    gc.collect()
    assert reaper.sweep() == 0
