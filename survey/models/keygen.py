"""One-time links through which a 监票人 makes a round's ballot box key in their own browser."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, random_id
from .rounds import Round


class KeygenLink(Base):
    """A link an organizer hands a 监票人 (no account needed): ``/k/<token>``.

    Only a hash of the token is stored, so a reader of the database cannot use a link. It
    takes one public key (``used_at``) before ``expires_at``; the private key never reaches
    the server.
    """

    __tablename__ = "keygen_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token in the link, hex
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(64))
    #: when it delivered a public key; a used link opens no page any more
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    round: Mapped[Round] = relationship()
