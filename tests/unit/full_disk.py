"""Run a command line as if the disk filled up: files past a size limit cannot be written (POSIX only)."""
from __future__ import annotations

import subprocess
import sys

_LIMITED = """
import resource, runpy, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, as on a full disk
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.argv = ["python -m " + sys.argv[2], *sys.argv[3:]]
runpy.run_module(sys.argv[0].split()[-1], run_name="__main__")
"""


def run_with_file_limit(module: str, args: list[str], max_file_bytes: int) -> subprocess.CompletedProcess:
    """``python -m module *args`` where no file may grow past ``max_file_bytes`` (a real I/O error, not a mock)."""
    return subprocess.run([sys.executable, "-c", _LIMITED, str(max_file_bytes), module, *args],
                          capture_output=True, text=True, timeout=300)
