"""Getting a 监票人's public key onto a round before it opens, and the one-time links through
which a 监票人 makes the key pair in their own browser.

A round in 监票人保管 opens with the public key a 监票人 made on their own computer: given
with ``rounds open --public-key``, uploaded on the console's open page, or sent by the key page
of a one-time link (``/k/<token>``). The last two store it on the draft (``receive_public_key``)
and the round opens with it (``box.make_box``). The private key never reaches the server.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from nacl.exceptions import CryptoError
from nacl.public import PublicKey, SealedBox
from sqlalchemy import select, update

from ..errors import Conflict, NotFound
from ..extensions import db
from ..models import KeygenLink, Round
from .box import custody_of
from .keys import Custody, WrongKey, fingerprint

#: how long a key page link stays usable
LINK_LIFETIME = timedelta(days=3)


class LinkUnusable(NotFound):
    """A key page link that is unknown, used or expired."""


def check_public_key(public_key: bytes) -> bytes:
    """``public_key`` if ballots can be sealed to it, else ``WrongKey`` (a key of the wrong
    length, or a point no private key belongs to, e.g. all zeros)."""
    if len(public_key) != PublicKey.SIZE:
        raise WrongKey(f"a ballot box public key is {PublicKey.SIZE} bytes, not {len(public_key)}")
    try:
        SealedBox(PublicKey(bytes(public_key))).encrypt(b"check")
    except CryptoError:
        raise WrongKey("this is not a usable ballot box public key") from None
    return bytes(public_key)


def _must_take_a_teller_key(round_: Round) -> None:
    if custody_of(round_) is not Custody.teller:
        raise Conflict(f"评议“{round_.title}”的投票箱密钥由服务器保管，不需要监票人的公钥 "
                       f"(round {round_.slug!r} is in server custody)")
    if not round_.state.editable:
        raise Conflict(f"评议“{round_.title}”已{round_.state.label}，投票箱公钥不能再更换 "
                       f"(round {round_.slug!r} is {round_.status}: its ballot box key is fixed)")


def receive_public_key(round_: Round, public_key: bytes, *, source: str) -> str:
    """Store the 监票人's public key on a draft round in teller custody (it opens with it,
    replacing one received before); returns its fingerprint. Flushes."""
    from ..auth import audit

    _must_take_a_teller_key(round_)
    round_.box_public_key = check_public_key(public_key).hex()
    mark = fingerprint(public_key)
    audit.record("ballot_box.public_key", round_slug=round_.slug, box_fingerprint=mark, source=source)
    db.session.flush()
    return mark


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_keygen_link(round_: Round, *, created_by: str | None, now: datetime | None = None) -> str:
    """A new one-time link's token for ``round_`` (shown once; only its hash is stored)."""
    from ..auth import audit

    _must_take_a_teller_key(round_)
    now = now or datetime.now(timezone.utc)
    token = secrets.token_urlsafe(24)
    link = KeygenLink(round_id=round_.id, token_hash=_hash(token), created_at=now,
                      expires_at=now + LINK_LIFETIME, created_by=created_by)
    db.session.add(link)
    audit.record("ballot_box.keygen_link", round_slug=round_.slug, expires_at=link.expires_at.isoformat())
    db.session.flush()
    return token


def keygen_link(token: str, now: datetime | None = None) -> KeygenLink:
    """The usable link ``token`` names, or ``LinkUnusable`` saying why not."""
    now = now or datetime.now(timezone.utc)
    link = db.session.scalar(select(KeygenLink).where(KeygenLink.token_hash == _hash(token)))
    if link is None:
        raise LinkUnusable("这个链接无效。请向组织者索取新的生成密钥链接。")
    if link.used_at is not None:
        raise LinkUnusable("这个链接已经用过一次，不能再用。如果不是您本人用的，请立即告知组织者：公钥可能被人替换。")
    expires = link.expires_at if link.expires_at.tzinfo else link.expires_at.replace(tzinfo=timezone.utc)
    if expires <= now:
        raise LinkUnusable("这个链接已过期。请向组织者索取新的生成密钥链接。")
    if custody_of(link.round) is not Custody.teller or not link.round.state.editable:
        raise LinkUnusable("这轮评议已不接受新的投票箱公钥（已开始，或已改为服务器保管）。")
    return link


def deliver_by_link(token: str, public_key: bytes, now: datetime | None = None) -> str:
    """The key page's delivery: the public key stored on the link's round, the link used up
    (once, even when two arrive together); returns the fingerprint. Flushes."""
    now = now or datetime.now(timezone.utc)
    link = keygen_link(token, now)
    check_public_key(public_key)
    taken = db.session.execute(
        update(KeygenLink).where(KeygenLink.id == link.id, KeygenLink.used_at.is_(None)).values(used_at=now)
    ).rowcount
    if taken != 1:
        raise LinkUnusable("这个链接已经用过一次，不能再用。")
    return receive_public_key(link.round, public_key, source="keygen link")
