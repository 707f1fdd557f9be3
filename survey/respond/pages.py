"""The questionnaire and receipt pages, rendered once and filled in on each request.

A questionnaire page is the same for every phone of a group, apart from two values: the CSRF
token and the ticket. So the page is rendered through its template once per (round, group,
spec version) with a marker in place of each, cut at the markers, and each request joins the
pieces around its own two values, escaped as the template would escape them. The result is the
template's output byte for byte; ``tests/test_ballot_fast_path.py`` compares the two. The receipt
page likewise, around the receipt.

The cache is per process and keyed by the round's ``spec_version``, which every edit of the
round's definition renews: an edited draft is rendered afresh, never served from here.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Hashable

from markupsafe import escape

#: markers no template output can otherwise contain (a NUL, which specs and forms refuse)
_MARK = f"\x00{secrets.token_hex(8)}:"
MAX_PAGES = 512


class CachedPage:
    """A page cut at its per-request values; ``fill`` puts them in, in order."""

    __slots__ = ("_parts",)

    def __init__(self, parts: list[str]) -> None:
        self._parts = parts

    def fill(self, *values: str) -> str:
        parts = self._parts
        out = [parts[0]]
        for value, part in zip(values, parts[1:], strict=True):
            out.append(escape(value))
            out.append(part)
        return "".join(out)


class PageCache:
    """Pages by key, each rendered once by ``render(marker, ...)``; bounded, per process."""

    def __init__(self) -> None:
        self._pages: dict[Hashable, CachedPage | None] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, slots: int, render: Callable[..., str]) -> CachedPage | None:
        """The page for ``key``, rendering it on first use; None when it cannot be cut
        cleanly (a marker missing or repeated), and the caller renders in full."""
        try:
            return self._pages[key]
        except KeyError:
            pass
        markers = [f"{_MARK}{i}\x00" for i in range(slots)]
        html = render(*markers)
        page = _cut(html, markers)
        with self._lock:
            if len(self._pages) >= MAX_PAGES:
                self._pages.clear()
            self._pages[key] = page
        return page

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


def _cut(html: str, markers: list[str]) -> CachedPage | None:
    parts = []
    rest = html
    for marker in markers:
        if html.count(marker) != 1:
            return None
        before, _, rest = rest.partition(marker)
        if _MARK in before:
            return None
        parts.append(before)
    if _MARK in rest:
        return None
    parts.append(rest)
    return CachedPage(parts)


#: questionnaire pages by (round id, group id, spec version); receipt pages by round
pages = PageCache()
