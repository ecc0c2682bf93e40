"""The shared command-line grammar: --seeds, the progress flag, whole-number bounds, --jobs against the cores."""
import argparse
import tracemalloc

import pytest

from labkit import cli_args
from labkit.cli_args import (MAX_SEED, MAX_SEEDS, add_progress_flag, check_jobs, int_at_least, parse_cpus, parse_seed,
                             parse_seeds)


@pytest.mark.parametrize("text, seeds", [
    ("0", [0]),
    ("0,1,2", [0, 1, 2]),
    ("0-4", [0, 1, 2, 3, 4]),
    ("0-4,10", [0, 1, 2, 3, 4, 10]),
    (" 7 , 3-4 ", [7, 3, 4]),  # the given order is kept (seed-major runs follow it)
    ("5-5", [5]),
    (f"0-{MAX_SEEDS - 1}", list(range(MAX_SEEDS))),
])
def test_seed_lists_and_ranges(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text, message", [
    ("0-", "has no end"),
    ("0,0", "0 is listed twice"),
    ("0-4,3", "3 is listed twice"),
    ("-1", "whole numbers >= 0"),
    ("4-0", "runs backwards"),
    ("", "whole numbers >= 0"),
    ("0,,1", "whole numbers >= 0"),
    ("a", "whole numbers >= 0"),
    ("1.5", "whole numbers >= 0"),
    (f"0-{MAX_SEEDS}", f"{MAX_SEEDS + 1:,} seeds; at most {MAX_SEEDS}"),
    (f"{MAX_SEED + 1}", f"seeds go up to {MAX_SEED}"),
])
def test_bad_seed_lists_are_refused_with_the_reason(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_seeds(text)


def test_an_absurd_range_is_refused_before_any_list_is_built():
    tracemalloc.start()
    try:
        with pytest.raises(argparse.ArgumentTypeError, match="1,000,000,001 seeds"):
            parse_seeds("0-1000000000")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # the old parser built the whole list (MemoryError)


def test_one_seed():
    assert parse_seed("42") == 42
    for bad in ("-1", "x", f"{MAX_SEED + 1}"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_seed(bad)


def test_quiet_and_its_old_name_set_the_same_flag():
    parser = argparse.ArgumentParser()
    add_progress_flag(parser)
    assert parser.parse_args(["--quiet"]).quiet and parser.parse_args(["--no-progress"]).quiet
    assert not parser.parse_args([]).quiet


def test_int_at_least():
    assert int_at_least(1)("3") == 3 and int_at_least(1, 4)("4") == 4
    for parse, text in ((int_at_least(1), "0"), (int_at_least(1, 4), "5"), (int_at_least(1), "2.5"),
                        (int_at_least(1), "-1")):
        with pytest.raises(argparse.ArgumentTypeError, match="expected a whole number"):
            parse(text)


def test_jobs_are_bounded_by_the_cores_except_on_a_cluster(monkeypatch):
    monkeypatch.setattr(cli_args, "usable_cpus", lambda: 2)
    check_jobs(2, on_cluster=False)
    check_jobs(100, on_cluster=True)  # a Ray cluster places the runs itself
    with pytest.raises(ValueError, match="--jobs 100: this machine has 2 usable CPU core"):
        check_jobs(100, on_cluster=False)
    with pytest.raises(ValueError, match="at least 1"):
        check_jobs(0, on_cluster=True)


def test_usable_cpus_follows_the_affinity_mask():
    import os

    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity API on this OS")
    assert cli_args.usable_cpus() == len(os.sched_getaffinity(0)) >= 1


def test_cpu_lists_read_like_taskset_and_must_be_usable():
    import os

    usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count()))
    assert parse_cpus(f"{usable[0]}") == {usable[0]}
    assert parse_cpus(f"{usable[0]}-{usable[-1]}") >= set(usable)
    with pytest.raises(argparse.ArgumentTypeError, match="not usable here"):
        parse_cpus("4095")
    with pytest.raises(argparse.ArgumentTypeError, match="has no end"):
        parse_cpus("0-")
