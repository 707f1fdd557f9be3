"""Whose key opens a round's box, and where the server's key comes from.

Two custodies:

- **服务器保管** (``server``, the default): each round's key pair is derived from one secret of
  the installation, ``BALLOT_BOX_KEY`` (``SURVEY_BALLOT_BOX_KEY``, or ``ballot_box_key`` in the
  instance folder, 0600, generated once), and the round's random ``box_key_id``. Every app
  server configured with that secret can open any round's box; the database holds only the
  public key and a fingerprint of the secret. Back the secret up apart from the database, like
  the code key: a database backup without it cannot be counted.
- **监票人保管** (``teller``): a 监票人 made the key pair on their own computer and handed over only
  the public key; close needs the private key (``survey.ballotbox.custody``).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from functools import lru_cache

from flask import current_app
from nacl.public import PrivateKey

from ..errors import ServiceError

BOX_KEY_PURPOSE = "ballot-box"


class Custody(str, enum.Enum):
    """Who holds the private key of a round's ballot box."""

    server = "server"
    teller = "teller"

    @property
    def label(self) -> str:
        return {"server": "服务器保管", "teller": "监票人保管"}[self.value]


class WrongKey(ServiceError):
    """The key offered does not open this round's box; nothing was changed."""


class BoxKeyMismatch(WrongKey):
    """The server's ballot box secret is not the one the open rounds were sealed under."""


def fingerprint(public_key: bytes) -> str:
    """A public key's fingerprint, ``ABCD-EF01-2345-6789``: short enough to read aloud and
    compare on a poster, the console and the 监票人's key sheet."""
    digest = hashlib.sha256(b"survey ballot box\x00" + bytes(public_key)).hexdigest()[:16].upper()
    return "-".join(digest[i:i + 4] for i in range(0, 16, 4))


def _secret() -> bytes:
    return _secret_for(str(current_app.config["BALLOT_BOX_KEY"]))


@lru_cache(maxsize=8)
def _secret_for(configured: str) -> bytes:
    return hmac.new(configured.encode(), b"ballot-box-v1", hashlib.sha256).digest()


def server_fingerprint() -> str:
    """Tells server secrets apart without revealing them (stored, and checked at start)."""
    return hmac.new(_secret(), b"fingerprint", hashlib.sha256).hexdigest()[:16]


def new_key_id() -> str:
    return secrets.token_hex(16)


def server_private_key(key_id: str) -> PrivateKey:
    """The private key of the round whose box was made under ``key_id`` (server custody)."""
    return PrivateKey(hmac.new(_secret(), b"round-box:" + key_id.encode(), hashlib.sha256).digest())


def private_key_from(raw: bytes, public_key: bytes) -> PrivateKey:
    """``raw`` (32 bytes) as the private key of ``public_key``, or ``WrongKey``."""
    if len(raw) != PrivateKey.SIZE:
        raise WrongKey(f"a ballot box key is {PrivateKey.SIZE} bytes, not {len(raw)}")
    key = PrivateKey(bytes(raw))
    if not hmac.compare_digest(bytes(key.public_key), bytes(public_key)):
        raise WrongKey(
            f"this key (fingerprint {fingerprint(bytes(key.public_key))}) is not the key of this round's "
            f"ballot box (fingerprint {fingerprint(public_key)}); nothing was changed"
        )
    return key
