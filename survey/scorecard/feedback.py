"""Feedback to the rated (向本人反馈): a link that shows one subject its own results.

An organizer creates a link for a subject of a closed round; the address carries a token
signed with the service's secret key (so it cannot be forged or guessed) naming the link's
random id. The link shows that subject's figures, comments, 领导点评 and 整改 list, never another
subject's; it stops working when it expires or is withdrawn; each opening is audit-logged.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from ..errors import NotFound, ServiceError
from ..extensions import db
from ..models import FeedbackLink, Round
from ..rounds.lifecycle import aware
from ..rounds.lifecycle import refuse_while_sealed

SALT = "feedback-link"
MAX_DAYS = 90


class LinkInvalid(ServiceError):
    """A feedback address that is forged, unknown, withdrawn or expired."""


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(link: FeedbackLink) -> str:
    """The signed token of a link, for its address ``/feedback/<token>``."""
    return _serializer().dumps(link.id)


def link_url(link: FeedbackLink) -> str:
    """The address to hand the subject: on the installation's stored public address (as QR
    codes and slips are), never on whatever host the organizer's browser used."""
    from ..settings import public_base_url

    return f"{public_base_url()}/feedback/{token_for(link)}"


def create_link(round_: Round, code: str, *, days: int, created_by: str | None,
                now: datetime | None = None) -> FeedbackLink:
    """A link for subject ``code`` valid for ``days`` days (1 to MAX_DAYS)."""
    refuse_while_sealed(round_)
    subject = next((s for s in round_.subjects if s.code == code), None)
    if subject is None:
        raise NotFound(f"本轮评议没有代码为“{code}”的对象 (round {round_.slug!r} has no subject {code!r})")
    if not 1 <= days <= MAX_DAYS:
        raise ServiceError(f"有效期应为 1 到 {MAX_DAYS} 天")
    now = now or datetime.now(timezone.utc)
    link = FeedbackLink(round_id=round_.id, subject_id=subject.id, created_at=now,
                        expires_at=now + timedelta(days=days), created_by=created_by, revoked=False)
    db.session.add(link)
    db.session.flush()
    return link


def links_of(round_: Round) -> list[FeedbackLink]:
    return list(db.session.scalars(select(FeedbackLink).where(FeedbackLink.round_id == round_.id)
                                   .order_by(FeedbackLink.created_at)))


def open_link(token: str, now: datetime | None = None) -> FeedbackLink:
    """The link a token names, if it is genuine, known, not withdrawn, not expired, and its
    round's results are out; ``LinkInvalid`` otherwise (one message for all: no oracle)."""
    try:
        link_id = _serializer().loads(token)
    except BadSignature:
        raise LinkInvalid("invalid") from None
    link = db.session.get(FeedbackLink, link_id) if isinstance(link_id, str) else None
    now = now or datetime.now(timezone.utc)
    if link is None or link.revoked or aware(link.expires_at) <= now or link.round.state.results_sealed:
        raise LinkInvalid("invalid")
    return link


def revoke(link: FeedbackLink) -> None:
    link.revoked = True
    db.session.flush()
