"""What an attacker who runs the round knows, and the tools to line it up with storage.

The attacker knows which slip (code) went to whom and in which order codes were used (from a
log, or by watching the code pages); they hold the code key and can read the database and its
files. Each ballot cast here gives a distinct pattern of answers, so that the test (not the
attacker) can tell which stored ballot came from which code, and so judge a linking attempt.
"""

from __future__ import annotations

import itertools
import math

import sqlalchemy as sa
from flask import Flask

from .conftest import page_tokens, receipt_of

LEVELS = ("satisfied", "basic", "dissatisfied")
FIELDS = ("a:B01:service", "a:B01:conduct", "a:B02:service", "a:B02:conduct")
PATTERNS = [p for p in itertools.product(LEVELS, repeat=len(FIELDS)) if len(set(p)) > 1]  # no 废票


def pattern_answers(n: int) -> dict[str, str]:
    return dict(zip(FIELDS, PATTERNS[n]))


def cast_in_order(app: Flask, codes: list[str], *, comments: bool = True) -> list[str]:
    """Cast one ballot per code, in this order, each with its own pattern (and comment
    ``意见<n>号``); returns the receipts in casting order."""
    receipts = []
    for n, code in enumerate(codes):
        phone = app.test_client()
        page = phone.get(f"/b/{code}")
        assert page.status_code == 200, page.get_data(as_text=True)
        form = {"confirm_partial": "1", **page_tokens(page.get_data(as_text=True)), **pattern_answers(n)}
        if comments:
            form["c:B01"] = f"意见{n:03d}号"
        response = phone.post(f"/b/{code}", data=form)
        assert response.status_code == 200, response.get_data(as_text=True)
        receipts.append(receipt_of(response))
    return receipts


def casting_index_by_ballot(conn: sa.Connection) -> dict[str, int]:
    """ballot id → the place it was cast at, read back from its answer pattern (the test's
    knowledge, not the attacker's)."""
    rows = conn.execute(sa.text(
        "SELECT a.ballot_id, s.code, i.key, a.level FROM answers a "
        "JOIN round_subjects s ON s.id = a.subject_id JOIN round_items i ON i.id = a.item_id"
    ))
    answers: dict[str, dict[str, str]] = {}
    for ballot_id, subject, item, level in rows:
        answers.setdefault(ballot_id, {})[f"a:{subject}:{item}"] = level
    index = {p: n for n, p in enumerate(PATTERNS)}
    return {b: index[tuple(a[f] for f in FIELDS)] for b, a in answers.items()}


def rank_correlation(order: list[int]) -> float:
    """Spearman's rho between a storage order (a list of casting places) and casting order."""
    n = len(order)
    if n < 3:
        return 1.0
    ranks = {v: r for r, v in enumerate(sorted(order))}
    d2 = sum((ranks[v] - pos) ** 2 for pos, v in enumerate(order))
    return 1 - 6 * d2 / (n * (n * n - 1))


def follows_casting(order: list[int]) -> bool:
    """Whether a storage order follows casting order more than chance allows: for 40 ballots,
    |rho| ≥ 0.7 by chance has a probability under 1e-5."""
    return abs(rank_correlation(order)) >= 0.7 or not math.isfinite(rank_correlation(order))
