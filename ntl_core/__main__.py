"""Entry point of ``python -m ntl_core``."""
import sys

from ntl_core.cli import main

sys.exit(main())
