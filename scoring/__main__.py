"""``python -m scoring``: see :mod:`scoring.cli`."""

import os
import sys

from .cli import main, tune_memory

tune_memory()
status = main()
# Everything is written and closed by now; skip tearing down pandas' many modules and objects.
sys.stdout.flush()
sys.stderr.flush()
os._exit(status)
