"""Sealing one ballot's content to a round's public key, and opening it with the private key.

The construction is libsodium's sealed box (``crypto_box_seal`` through PyNaCl): an ephemeral
X25519 key pair per ballot, XSalsa20-Poly1305, nothing of our own making. Only the holder of
the round's private key can open a box, and a box that was altered does not open.

A ciphertext's length would tell long comments from short ones, so the content is padded
before sealing to a size shared by the great majority of a round's ballots (``box_size``): the
smallest power of two that holds the round's largest questionnaire fully answered plus one
comment of the full 1,000 characters of Chinese text. Only a ballot with more than that (several
long comments, or one written in four-byte characters) goes to the next power of two: the size
of a box says no more than "this ballot had a lot of comment text".
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

#: a sealed box adds the ephemeral public key (32 bytes) and the MAC (16)
SEAL_OVERHEAD = PublicKey.SIZE + 16
#: the padded content starts with its length, a 4-byte unsigned integer
_LENGTH = struct.Struct(">I")
#: a comment's most characters (the questionnaire's limit) and the bytes one takes in UTF-8
COMMENT_MAX = 1000
_CJK_BYTES = 3
FORMAT_VERSION = 1


class Unreadable(ValueError):
    """A box that does not open with the key, or whose content is not a ballot."""


@dataclass(frozen=True)
class BallotContent:
    """What a respondent said, by the round's row ids: what goes into a box.

    ``answers``: (subject id, item id, level key or ``unknown``); ``comments``: (subject id,
    text). The group is not inside: it is stored beside the box, for turnout.
    """

    answers: tuple[tuple[int, int, str], ...]
    comments: tuple[tuple[int, str], ...] = ()

    def encode(self) -> bytes:
        payload = {"v": FORMAT_VERSION, "a": [list(a) for a in self.answers], "c": [list(c) for c in self.comments]}
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> BallotContent:
        """The content of ``raw`` as ``encode`` wrote it; ``Unreadable`` for anything else."""
        try:
            payload = json.loads(raw.decode())
            if payload.get("v") != FORMAT_VERSION:
                raise Unreadable(f"unknown ballot format {payload.get('v')!r}")
            answers = tuple((int(s), int(i), str(level)) for s, i, level in payload["a"])
            comments = tuple((int(s), str(text)) for s, text in payload["c"])
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise Unreadable(f"not a ballot: {exc}") from None
        return cls(answers, comments)


def box_size(answers: int, level_length: int = 12, id_digits: int = 10) -> int:
    """The size every ordinary box of a questionnaire with ``answers`` items is padded to.

    Large enough for all ``answers`` answered, with the longest level key and row ids, and one
    full-length comment in Chinese (three bytes a character in UTF-8); a power of two from 1 KiB.
    """
    answer_bytes = answers * (2 * id_digits + level_length + 8)
    needed = SEAL_OVERHEAD + _LENGTH.size + 64 + answer_bytes + COMMENT_MAX * _CJK_BYTES + id_digits + 8
    size = 1024
    while size < needed:
        size *= 2
    return size


def padded_size(content_length: int, floor: int) -> int:
    """The box size for ``content_length`` bytes of content: ``floor``, or the smallest power
    of two above it that holds the content."""
    size = floor
    while size < content_length + _LENGTH.size + SEAL_OVERHEAD:
        size *= 2
    return size


def seal(public_key: bytes, content: BallotContent, floor: int) -> bytes:
    """``content`` padded to its box size and sealed to ``public_key`` (32 raw bytes)."""
    raw = content.encode()
    size = padded_size(len(raw), floor)
    plain = _LENGTH.pack(len(raw)) + raw
    plain += bytes(size - SEAL_OVERHEAD - len(plain))
    return SealedBox(PublicKey(public_key)).encrypt(plain)


def unseal(private_key: PrivateKey, box: bytes) -> BallotContent:
    """The content of ``box``; ``Unreadable`` when it does not open with ``private_key``."""
    try:
        plain = SealedBox(private_key).decrypt(bytes(box))
    except CryptoError:
        raise Unreadable("the box does not open with this key (another key, or altered)") from None
    if len(plain) < _LENGTH.size:
        raise Unreadable("the box is too short")
    (length,) = _LENGTH.unpack_from(plain)
    if length > len(plain) - _LENGTH.size or any(plain[_LENGTH.size + length:]):
        raise Unreadable("the box's padding is wrong")
    return BallotContent.decode(plain[_LENGTH.size:_LENGTH.size + length])
