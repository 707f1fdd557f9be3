"""Errors the services raise; the CLI and the pages turn them into messages."""

from __future__ import annotations


class ServiceError(Exception):
    """A refused operation, with a message fit to show the person who asked for it."""


class NotFound(ServiceError):
    """The round, group or code named does not exist."""
