"""A round's ballot box: made when the round opens, the key that opens it at close."""

from __future__ import annotations

from nacl.public import PrivateKey

from ..extensions import db
from ..models import KeyFingerprint, Round, round_spec
from .keys import (
    BOX_KEY_PURPOSE, BoxKeyMismatch, Custody, WrongKey, fingerprint, new_key_id, private_key_from,
    server_fingerprint, server_private_key,
)
from .seal import box_size


def custody_of(round_: Round) -> Custody:
    return Custody(round_.box_custody or Custody.server.value)


def public_key_of(round_: Round) -> bytes:
    """The public key ballots of ``round_`` are sealed to (raw, 32 bytes)."""
    if round_.box_public_key:
        return bytes.fromhex(round_.box_public_key)
    if custody_of(round_) is Custody.server and round_.box_key_id:
        return bytes(server_private_key(round_.box_key_id).public_key)
    raise WrongKey(f"round {round_.slug!r} has no ballot box key yet: it has not been opened")


def box_fingerprint(round_: Round) -> str | None:
    """The fingerprint of the round's public key, once it has one."""
    try:
        return fingerprint(public_key_of(round_))
    except WrongKey:
        return None


def make_box(round_: Round, teller_public_key: bytes | None = None) -> str:
    """Give ``round_`` its ballot box as it opens; returns the public key's fingerprint.

    Server custody derives the key pair from the installation's secret and a new key id;
    teller custody takes the public key a 监票人 made (its private key never reaches the server):
    ``teller_public_key``, or the one received while the round was a draft (``custody``).
    """
    if custody_of(round_) is Custody.teller:
        if teller_public_key is None and round_.box_public_key:
            teller_public_key = bytes.fromhex(round_.box_public_key)  # received while a draft
        if teller_public_key is None:
            raise WrongKey(
                f"round {round_.slug!r} is 监票人保管 (teller custody): open it with the 监票人's public key "
                f"(flask --app survey rounds open {round_.slug} --public-key FILE)"
            )
        if len(teller_public_key) != 32:
            raise WrongKey(f"a ballot box public key is 32 bytes, not {len(teller_public_key)}")
        round_.box_key_id = None
        round_.box_public_key = bytes(teller_public_key).hex()
    else:
        if teller_public_key is not None:
            raise WrongKey(f"round {round_.slug!r} is 服务器保管 (server custody): it takes no public key")
        record_server_secret()
        round_.box_key_id = new_key_id()
        round_.box_public_key = bytes(server_private_key(round_.box_key_id).public_key).hex()
    return fingerprint(public_key_of(round_))


def opening_key(round_: Round, supplied: bytes | None = None) -> PrivateKey:
    """The private key that opens ``round_``'s box, or ``WrongKey`` saying why not (no change
    is made either way). Server custody derives it; teller custody needs it ``supplied``."""
    public = public_key_of(round_)
    if custody_of(round_) is Custody.teller:
        if supplied is None:
            raise WrongKey(
                f"round {round_.slug!r} is 监票人保管: its ballot box opens only with the 监票人's key "
                f"(fingerprint {fingerprint(public)}); nothing was changed"
            )
        return private_key_from(supplied, public)
    check_server_secret()
    key = server_private_key(round_.box_key_id or "")
    if bytes(key.public_key) != public:
        raise WrongKey(
            f"this server's ballot box secret does not open round {round_.slug!r} "
            f"(fingerprint {fingerprint(public)}): restore SURVEY_BALLOT_BOX_KEY / instance/ballot_box_key; nothing was changed"
        )
    return key


def check_server_secret() -> None:
    """``BoxKeyMismatch`` when rounds were sealed under another server secret."""
    stored = db.session.get(KeyFingerprint, BOX_KEY_PURPOSE)
    if stored is not None and stored.fingerprint != server_fingerprint():
        raise BoxKeyMismatch(
            f"the ballot box secret (SURVEY_BALLOT_BOX_KEY or instance/ballot_box_key) has fingerprint "
            f"{server_fingerprint()}, but rounds in this database were sealed under {stored.fingerprint}: "
            "restore the original secret, or their ballots cannot be counted"
        )


def record_server_secret() -> None:
    check_server_secret()
    if db.session.get(KeyFingerprint, BOX_KEY_PURPOSE) is None:
        db.session.add(KeyFingerprint(purpose=BOX_KEY_PURPOSE, fingerprint=server_fingerprint()))


def box_floor(round_: Round) -> int:
    """The size ordinary boxes of ``round_`` are padded to (``seal.box_size``), from its
    largest questionnaire, its row ids and its level keys."""

    spec = round_spec(round_)
    answers = max((len(g.subjects) for g in spec.groups), default=0) * len(spec.items)
    levels = max((len(level.key) for level in spec.scale.levels), default=0)
    ids = [s.id for s in round_.subjects] + [i.id for i in round_.items]
    digits = len(str(max(ids, default=0)))
    return box_size(answers, level_length=max(levels, len("unknown")), id_digits=digits)
