"""What both command lines share: the ``--seeds`` grammar, the progress flag and the bounds on parallelism.

``python -m ntl_core`` and ``python -m qcbnn_core`` read seeds, progress and ``--jobs``/``--threads``
the same way, so a flag learnt on one works on the other. Argument types raise
``argparse.ArgumentTypeError`` (argparse prints the usage and the message, exit status 2); checks that
need several arguments raise ``ValueError`` (the CLIs print ``error: …``, exit status 2).
"""
from __future__ import annotations

import argparse
import os
import re

# Each seed is a full training run (minutes on a laptop): a thousand seeds is days of CPU time, so a
# larger list is a typo (``0-1000000000`` once allocated gigabytes before anything else happened).
MAX_SEEDS = 1000
# The app's global-seed box goes up to this too; numpy's legacy seeding and some samplers need < 2**32.
MAX_SEED = 2**31 - 1
_SEED_PART = re.compile(r"(\d+)(?:-(\d*))?")


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one, e.g. under ``taskset``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows: no affinity API
        return os.cpu_count() or 1


def parse_seed(text: str) -> int:
    """One seed: a whole number from 0 to ``MAX_SEED``."""
    if not re.fullmatch(r"\d+", text.strip()):
        raise argparse.ArgumentTypeError(f"a seed is a whole number from 0 to {MAX_SEED}, got {text!r}")
    seed = int(text)
    if seed > MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed is at most {MAX_SEED}, got {text!r}")
    return seed


def _int_ranges(text: str, noun: str, max_count: int, max_value: int) -> list[int]:
    """Whole numbers and ranges ``0-4`` separated by commas, each once, in the given order (see :func:`parse_seeds`)."""
    spans = []
    for part in (p.strip() for p in text.split(",")):
        match = _SEED_PART.fullmatch(part)
        if match is None:
            raise argparse.ArgumentTypeError(
                f"{noun} are whole numbers >= 0 or ranges like 0-4, separated by commas; {part!r} in {text!r} is not")
        lo, dash_hi = int(match.group(1)), match.group(2)
        if dash_hi == "":
            raise argparse.ArgumentTypeError(f"the range {part!r} has no end; write both ends, like 0-4")
        hi = lo if dash_hi is None else int(dash_hi)
        if hi < lo:
            raise argparse.ArgumentTypeError(f"the range {part!r} runs backwards; write it as {hi}-{lo}")
        if hi > max_value:
            raise argparse.ArgumentTypeError(f"{noun} go up to {max_value}, got {part!r}")
        spans.append((lo, hi))
    count = sum(hi - lo + 1 for lo, hi in spans)  # counted before any list is built
    if count > max_count:
        raise argparse.ArgumentTypeError(f"{text!r} is {count:,} {noun}; at most {max_count}")
    values = [v for lo, hi in spans for v in range(lo, hi + 1)]
    seen: set[int] = set()
    for v in values:
        if v in seen:
            raise argparse.ArgumentTypeError(f"{v} is listed twice in {text!r}")
        seen.add(v)
    return values


def parse_seeds(text: str) -> list[int]:
    """``0,1,2``, a range ``0-4`` (both ends included) or a mix ``0-4,10``: each seed once, in the given order.

    Refused: an open range (``0-``), a backwards range (``4-0``), negative or non-numeric parts, a seed
    listed twice, seeds above ``MAX_SEED`` and more than ``MAX_SEEDS`` seeds (each seed is a full training run).
    """
    return _int_ranges(text, "seeds", MAX_SEEDS, MAX_SEED)


def parse_cpus(text: str) -> frozenset[int]:
    """A CPU list as ``taskset -c`` takes it (``0``, ``2,3``, ``0-3``): cores this machine lets us use.

    Raises:
        argparse.ArgumentTypeError: bad syntax, or a core outside this process's affinity mask.
    """
    cores = frozenset(_int_ranges(text, "cores", 4096, 4095))
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    if not cores <= usable:
        raise argparse.ArgumentTypeError(f"cores {sorted(cores - usable)} are not usable here (usable: {sorted(usable)})")
    return cores


def int_at_least(low: int, high: int | None = None):
    """An argparse type: a whole number in ``[low, high]`` (no upper bound when ``high`` is None)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"expected a whole number {span}, got {text!r}")
        return value

    return parse


def add_progress_flag(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` (also spelt ``--no-progress``, its old name): no progress bars or per-run lines → ``args.quiet``."""
    parser.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true",
                        help="no progress bars or per-run lines (--no-progress: the same)")


def check_jobs(jobs: int, on_cluster: bool) -> None:
    """Refuse a ``--jobs`` that cannot help: below 1, or (for local worker processes) above the usable cores.

    Each job is a worker process with one torch thread: more jobs than cores only time-slice the cores
    and multiply the memory. On a Ray cluster the cluster places the jobs, so there is no local bound.

    Raises:
        ValueError: with the reason and the machine's core count.
    """
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    cores = usable_cpus()
    if not on_cluster and jobs > cores:
        raise ValueError(f"--jobs {jobs}: this machine has {cores} usable CPU core(s); more jobs than cores only "
                         "slow every run down (use --ray ADDRESS to spread runs over a cluster)")
