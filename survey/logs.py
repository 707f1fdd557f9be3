"""gunicorn's logger for this service: no ballot code in the access log or the error log.

``gunicorn.conf.py`` names it (``logger_class``). A ballot URL carries its code (``/b/<code>``,
or ``/b/?code=`` from the entry form); the access log writes a line per request with its time,
and a code beside a time is a handle on the ballot cast at that moment. Every field of the
access line (request line, path, query, headers such as Referer) is blanked the same way, and
so is every error-log record.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from .web import redact, redacting


class RedactingLogger(Logger):
    """gunicorn's logger with ballot codes blanked from every line it writes."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            redacting(log)
            for handler in log.handlers:
                redacting(handler)

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}
