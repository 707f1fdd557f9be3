"""Errors the services raise; the CLI and the pages turn them into messages.

Each carries the HTTP status a web page answers with when a service refuses inside a request
(``survey.web`` registers one handler for all of them), so routes need not catch them.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A refused operation, with a message fit to show the person who asked for it."""

    http_status = 400


class NotFound(ServiceError):
    """The round, group or code named does not exist."""

    http_status = 404


class Forbidden(ServiceError):
    """Not allowed in the round's present state (results sealed while it is open, ...)."""

    http_status = 403


class Conflict(ServiceError):
    """Not possible in the present state of things (a round already closed, a name taken)."""

    http_status = 409
