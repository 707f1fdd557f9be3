"""The wall clock the limits read (counters' time buckets, a questionnaire page's age).

One function, called through this module (``clock.now()``), so that a test can stand a clock
of its own in its place and no test depends on how fast the machine runs.
"""

from __future__ import annotations

import time


def now() -> float:
    """Seconds since the epoch."""
    return time.time()
