"""``python -m qcbnn_core ...``: see :mod:`qcbnn_core.cli`."""
import sys

from .cli import main

sys.exit(main())
