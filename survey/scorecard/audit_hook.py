"""Where the reviewer features report what they did, for the audit log.

The console's hash-chained audit log lives in ``survey.audit`` (built beside this work); this
hook is the one place the reviewer features call, so wiring it to that log is one edit here.
Until then it writes to the ``survey.audit`` logger.
"""

from __future__ import annotations

import json
import logging
from typing import Any

logger = logging.getLogger("survey.audit")


def record(action: str, *, actor: str | None, target: str, details: dict[str, Any] | None = None) -> None:
    """Note ``actor`` doing ``action`` on ``target`` (e.g. ``remark.save``, ``y2025/B01``)."""
    logger.info("%s %s %s %s", actor or "-", action, target, json.dumps(details or {}, ensure_ascii=False, default=str))
