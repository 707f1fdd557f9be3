"""Issuing single-use ballot codes and finding a code's round and group.

A code is shown once (in the CSV or on the printed slip) and stored only as an HMAC under the
code key (``SURVEY_CODE_KEY``, apart from the session key), so the database alone cannot say
which code a slip carried. Codes get random ids and are inserted in shuffled order, so neither
an id nor the storage order says which slip a row belongs to.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import secrets
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from flask import current_app
from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import defer

from ..errors import NotFound, ServiceError
from ..extensions import db
from ..models import BallotCode, Group, GroupAccess, KeyFingerprint, Round

#: no 0/O, 1/I/L, U: codes are read off paper and typed on phones
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
MAX_CODES_PER_CALL = 20000
#: spaces, underscores and every kind of dash a phone keyboard may offer (‐ ‑ ‒ – — ― − ー)
_SEPARATORS = re.compile(r"[\s\-_\u2010-\u2015\u2212\u30fc]+")


class CodeRefused(ServiceError):
    """Codes cannot be issued as asked."""


@dataclass(frozen=True)
class IssuedCode:
    code: str  #: as printed, e.g. ``ABCDE-FGHJK``
    url: str


def normalize_code(raw: str) -> str:
    """What a person typed, reduced to the stored form: upper case, no dashes or spaces.

    NFKC first: a Chinese input method in full-width mode types ``ＡＢＣＤＥ－ＦＧＨＪＫ``.
    """
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw)).upper()


def format_code(code: str) -> str:
    """``ABCDEFGHJK`` → ``ABCDE-FGHJK``: easier to read aloud and to type."""
    code = normalize_code(code)
    return f"{code[:5]}-{code[5:]}"


def display_code(raw: str) -> str:
    """What a person typed, in the printed form when it has a code's length (``abcde fghjk`` →
    ``ABCDE-FGHJK``), else as typed: the page behind it then says the code is not valid."""
    return format_code(raw) if len(normalize_code(raw)) == CODE_LENGTH else raw.strip()


CODE_KEY_PURPOSE = "ballot-codes"


class KeyMismatch(ServiceError):
    """The code key is not the one the stored codes were issued under."""


def _code_key() -> bytes:
    return _code_key_for(str(current_app.config["CODE_KEY"]))


@lru_cache(maxsize=8)
def _code_key_for(configured: str) -> bytes:
    """The key codes are hashed with, derived from the configured one (once per process)."""
    return hmac.new(configured.encode(), b"ballot-code-v1", hashlib.sha256).digest()


def hash_code(code: str) -> str:
    """The keyed hash a code is stored under."""
    return hmac.new(_code_key(), normalize_code(code).encode(), hashlib.sha256).hexdigest()


def key_fingerprint() -> str:
    """A fingerprint of the code key: tells keys apart, reveals nothing of the key."""
    return hmac.new(_code_key(), b"fingerprint", hashlib.sha256).hexdigest()[:16]


def device_mark_value(round_id: int, group_id: int) -> str:
    """The once-per-device mark of an open group: the same opaque value in every browser that
    answered (no time, nothing personal), under the code key so that rotating the session key
    does not void it."""
    return hmac.new(_code_key(), f"device-mark:{round_id}:{group_id}".encode(), hashlib.sha256).hexdigest()[:24]


def check_code_key() -> None:
    """Raise ``KeyMismatch`` when codes were issued under another code key.

    Without this, a changed or lost key turns every unused printed code into "already used or
    invalid", silently, in the middle of a round.
    """
    stored = db.session.get(KeyFingerprint, CODE_KEY_PURPOSE)
    if stored is not None and stored.fingerprint != key_fingerprint():
        raise KeyMismatch(
            f"the code key (SURVEY_CODE_KEY or instance/code_key) has fingerprint {key_fingerprint()}, "
            f"but the ballot codes in this database were issued under {stored.fingerprint}: "
            "restore the original key, or no printed code would be accepted"
        )


def _record_code_key() -> None:
    check_code_key()
    if db.session.get(KeyFingerprint, CODE_KEY_PURPOSE) is None:
        db.session.add(KeyFingerprint(purpose=CODE_KEY_PURPOSE, fingerprint=key_fingerprint()))


def random_code_id() -> int:
    """A random positive 62-bit id: unlike a sequence, it says nothing of the slip's place."""
    return secrets.randbits(62) or 1


def ballot_url(code: str) -> str:
    from ..settings import public_base_url

    return f"{public_base_url()}/b/{format_code(code)}"


def open_url(round_: Round, group: Group) -> str:
    from ..settings import public_base_url

    return f"{public_base_url()}/r/{round_.slug}/{group.key}"


def open_link_of(round_: Round, group_key: str) -> str:
    """The open link of a group that answers by open access, for its QR and posters; refused
    for a group that answers by codes (it has no open link: its slips carry the codes)."""
    group = round_.group(group_key)
    if group is None:
        raise NotFound(f"round {round_.slug!r} has no group {group_key!r}")
    if not group.is_open:
        raise CodeRefused(
            f"group {group_key!r} answers by single-use codes, so it has no open link "
            f"(print its slips with: flask --app survey codes sheet {round_.slug} --group {group_key} --count N --out slips.pdf)"
        )
    return open_url(round_, group)


def issue_ballot_codes(round_: Round, group_key: str, count: int) -> list[IssuedCode]:
    """Create ``count`` new codes for a group that answers by codes; return them in clear.

    The clear codes exist only in the return value: print or save them now.
    """
    group = round_.group(group_key)
    if group is None:
        keys = ", ".join(g.key for g in round_.groups)
        raise NotFound(f"round {round_.slug!r} has no group {group_key!r} (groups: {keys})")
    if group.mode is not GroupAccess.codes:
        raise CodeRefused(
            f"group {group_key!r} takes open access: it has one QR link for everyone, not ballot codes "
            f"(print it with: flask --app survey qr {round_.slug} --group {group_key} --out poster.png)"
        )
    if not round_.state.takes_codes:
        raise CodeRefused(f"评议“{round_.title}”{round_.state.label}，不再接受提交，不能再发评议码 "
                          f"(round {round_.slug!r} is {round_.status}: it takes no more ballots, so no more codes)")
    if not 1 <= count <= MAX_CODES_PER_CALL:
        raise CodeRefused(f"数量应为 1 到 {MAX_CODES_PER_CALL} (--count must be from 1 to {MAX_CODES_PER_CALL})")
    _record_code_key()
    codes: dict[str, str] = {}  # hash → code
    while len(codes) < count:
        batch: dict[str, str] = {}
        while len(codes) + len(batch) < count:
            code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
            digest = hash_code(code)
            if digest not in codes:
                batch[digest] = code
        # 49 random bits: a clash with a stored code practically never happens, but must not pass
        taken = set(db.session.scalars(select(BallotCode.code_hash).where(BallotCode.code_hash.in_(list(batch)))))
        codes.update((digest, code) for digest, code in batch.items() if digest not in taken)
    rows = [{"id": random_code_id(), "round_id": round_.id, "group_id": group.id, "code_hash": d} for d in codes]
    random.SystemRandom().shuffle(rows)  # storage order: unrelated to the order handed back
    db.session.execute(insert(BallotCode), rows)
    group.codes_issued += len(codes)
    db.session.flush()
    return [IssuedCode(format_code(c), ballot_url(c)) for c in codes.values()]


def find_code(raw: str) -> BallotCode | None:
    """The stored code a person typed or scanned, forgiving case, dashes and spaces."""
    code = normalize_code(raw)
    if not code or len(code) > 64:
        return None
    return db.session.scalar(select(BallotCode).where(BallotCode.code_hash == hash_code(code)))


_CODE_WITH_ROUND = (
    select(BallotCode, Round, Group)
    .join(Round, Round.id == BallotCode.round_id)
    .join(Group, Group.id == BallotCode.group_id)
    .where(BallotCode.code_hash == bindparam("code_hash"))
    .options(defer(Round.spec))
)


def find_code_with_round(raw: str) -> tuple[BallotCode, Round, Group] | None:
    """``find_code``, with the code's round and group, in one query."""
    code = normalize_code(raw)
    if not code or len(code) > 64:
        return None
    row = db.session.execute(_CODE_WITH_ROUND, {"code_hash": hash_code(code)}).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


def void_unused_codes(round_: Round, group_key: str) -> int:
    """Destroy every unused code of a group (a batch printed under a wrong address, slips
    lost): they can no longer be used. Returns how many went; used codes are already gone."""
    from sqlalchemy import delete

    group = round_.group(group_key)
    if group is None:
        raise NotFound(f"round {round_.slug!r} has no group {group_key!r}")
    return db.session.execute(
        delete(BallotCode).where(BallotCode.round_id == round_.id, BallotCode.group_id == group.id)
    ).rowcount or 0


def startup_check(app=None) -> str | None:  # noqa: ANN001
    """Why the service must not start (the code key or the ballot box secret does not match
    the one this database was used with), or None.

    A database without the schema yet passes: ``flask db upgrade`` comes first.
    """
    from sqlalchemy.exc import SQLAlchemyError

    if app is None:
        from .. import create_app

        app = create_app()
    from ..ballotbox.box import check_server_secret
    from ..ballotbox.keys import BoxKeyMismatch

    with app.app_context():
        try:
            check_code_key()
            check_server_secret()
        except (KeyMismatch, BoxKeyMismatch) as exc:
            return str(exc)
        except SQLAlchemyError:
            return None
        finally:
            db.session.remove()
            db.engine.dispose()
    return None
