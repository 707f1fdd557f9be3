"""The files a 监票人's ballot box key travels in: the public key file the server is given when
the round opens, and the private key file that opens the box at close.

Both are small JSON documents a person can read::

    {"kind": "survey-ballot-box-public-key", "version": 1, "round": "2026-branches",
     "fingerprint": "ABCD-EF01-2345-6789", "public_key": "<64 hex digits>"}
    {"kind": "survey-ballot-box-key", ..., "private_key": "<64 hex digits>"}

A file holding just the 64 hex digits of a key is read too, and so is one holding the key's
words (``words``, as on the key sheet). A 监票小组's share files hold one share's words::

    {"kind": "survey-ballot-box-key-share", ..., "share": 2, "of": 3, "threshold": 2, "words": "..."}
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from nacl.public import PrivateKey

from .keys import WrongKey, fingerprint

PUBLIC_KIND = "survey-ballot-box-public-key"
PRIVATE_KIND = "survey-ballot-box-key"
SHARE_KIND = "survey-ballot-box-key-share"
_WORDS = re.compile(r"^[A-Za-z0-9\s,.;:、，；．）)]+$")
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")


class KeyFileError(WrongKey):
    """A key file that cannot be read as one; nothing was changed."""


def public_key_document(public_key: bytes, round_slug: str | None = None) -> dict:
    return {"kind": PUBLIC_KIND, "version": 1, "round": round_slug, "fingerprint": fingerprint(public_key),
            "public_key": bytes(public_key).hex()}


def private_key_document(private_key: bytes, round_slug: str | None = None) -> dict:
    public = bytes(PrivateKey(private_key).public_key)
    return {**public_key_document(public, round_slug), "kind": PRIVATE_KIND, "private_key": bytes(private_key).hex()}


def _load(text: str, name: str) -> dict:
    text = text.strip()
    if _HEX_KEY.match(text):
        return {"bare": text}
    try:
        document = json.loads(text)
    except ValueError:
        raise KeyFileError(f"{name}: not a ballot box key file (JSON with a key, or 64 hex digits)") from None
    if not isinstance(document, dict):
        raise KeyFileError(f"{name}: not a ballot box key file")
    return document


def _hex(value: object, name: str, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX_KEY.match(value.strip()):
        raise KeyFileError(f"{name}: its {what} is not 64 hex digits")
    return bytes.fromhex(value.strip())


def read_public_key(text: str, name: str = "public key file") -> bytes:
    """The public key in a public key file; a file holding a private key is refused, since the
    private key must stay with the 监票人."""
    document = _load(text, name)
    if "bare" in document:
        return bytes.fromhex(document["bare"])
    if document.get("kind") == SHARE_KIND or "words" in document:
        raise KeyFileError(
            f"{name}: this file holds a share of the 监票小组's PRIVATE key; give the server only the public key file"
        )
    if "private_key" in document or document.get("kind") == PRIVATE_KIND:
        raise KeyFileError(
            f"{name}: this file holds the 监票人's PRIVATE key; give the server only the public key file "
            "and keep this one with the 监票人"
        )
    return _hex(document.get("public_key"), name, "public_key")


def read_private_key(text: str, name: str = "key file") -> bytes:
    """The private key in a key file (checked against the public key written beside it), or
    given by the words of its key sheet."""
    if _looks_like_words(text):
        from .words import key_from_words, mnemonics_in

        return key_from_words(mnemonics_in(text))
    document = _load(text, name)
    if document.get("kind") == SHARE_KIND:
        raise KeyFileError(f"{name}: this is one share of a 监票小组's key: give two shares (--share FILE --share FILE)")
    if "bare" in document:
        return bytes.fromhex(document["bare"])
    if "private_key" not in document:
        raise KeyFileError(f"{name}: this file holds no private key (is it the public key file?)")
    private = _hex(document["private_key"], name, "private_key")
    if "public_key" in document and bytes(PrivateKey(private).public_key) != _hex(document["public_key"], name, "public_key"):
        raise KeyFileError(f"{name}: its private and public keys do not belong together (the file was altered)")
    return private


def read_share(text: str, name: str = "share file") -> list[str]:
    """The mnemonics in a share file (or in a file of words): to be combined with others."""
    from .words import mnemonics_in

    if _looks_like_words(text):
        return mnemonics_in(text)
    document = _load(text, name)
    if document.get("kind") != SHARE_KIND or not isinstance(document.get("words"), str):
        raise KeyFileError(f"{name}: not a share file of a ballot box key")
    return mnemonics_in(document["words"])


def _looks_like_words(text: str) -> bool:
    text = text.strip()
    return bool(text) and not _HEX_KEY.match(text) and bool(_WORDS.match(text)) and len(text.split()) > 1


def read_text_path(path: Path) -> str:
    """The text of a key, share or public key file, or ``KeyFileError``."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise KeyFileError(f"{path}: not a ballot box key file (not text)") from None


def read_key_path(path: Path, *, private: bool) -> bytes:
    """``read_private_key`` or ``read_public_key`` of the file at ``path``."""
    text = read_text_path(path)
    return read_private_key(text, str(path)) if private else read_public_key(text, str(path))


def key_from_material(files: list[tuple[str, str]], words: str = "") -> bytes | None:
    """The private key from what a person handed over at close, or None when nothing was:
    ``files`` (name, text) of a key file or of share files, and ``words`` typed or scanned
    from key sheets. Shares from files and words are combined together."""
    from .words import key_from_words, mnemonics_in

    mnemonics: list[str] = []
    keys: list[bytes] = []
    for name, text in files:
        document = None if _looks_like_words(text) else _load(text, name)
        if document is not None and document.get("kind") == SHARE_KIND:
            mnemonics += read_share(text, name)
        else:
            keys.append(read_private_key(text, name))
    if words.strip():
        mnemonics += mnemonics_in(words)
    if keys and (mnemonics or len(keys) > 1):
        raise KeyFileError("give one key file, or shares (files or words), not both")
    if keys:
        return keys[0]
    return key_from_words(mnemonics) if mnemonics else None
