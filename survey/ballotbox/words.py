"""A 监票人's private key as words a person can copy onto paper and type back: SLIP-39
mnemonics (Trezor's standard, through its reference implementation ``shamir-mnemonic``).

- One 监票人: the key as one 33-word mnemonic (a 1-of-1 share).
- A 监票小组 of three: the key split into three 33-word shares, any two of which give it back
  (2-of-3, one group); one share alone tells nothing about the key.

Each mnemonic carries a checksum, so a word copied wrong is caught when it is typed back, and
the shares of one key share their first words (its identifier), so shares of two different
keys are told apart. The passphrase is empty: the paper is the secret. The browser's key page
(``static/ballot-box/slip39.js``) writes the same words.
"""

from __future__ import annotations

import re

from shamir_mnemonic import MnemonicError, combine_mnemonics, generate_mnemonics
from shamir_mnemonic.share import Share

from .keys import WrongKey

#: words in one mnemonic of a 32-byte key
WORDS_PER_MNEMONIC = 33
#: a 监票小组: any SHARE_THRESHOLD of SHARE_COUNT shares open the box
SHARE_THRESHOLD = 2
SHARE_COUNT = 3


class WordsRefused(WrongKey):
    """Words that do not give a key; nothing was changed."""


def key_to_words(private_key: bytes) -> str:
    """The key as one 33-word mnemonic."""
    return generate_mnemonics(1, [(1, 1)], bytes(private_key))[0][0]


def split_key(private_key: bytes, threshold: int = SHARE_THRESHOLD, count: int = SHARE_COUNT) -> list[str]:
    """The key as ``count`` mnemonics, any ``threshold`` of which give it back."""
    return generate_mnemonics(1, [(threshold, count)], bytes(private_key))[0]


def share_position(mnemonic: str) -> tuple[int, int]:
    """(this share's number from 1, shares needed) of a mnemonic: (1, 1) for a whole key."""
    share = Share.from_mnemonic(mnemonic)
    return share.index + 1, share.member_threshold


def mnemonics_in(text: str) -> list[str]:
    """The mnemonics in typed or scanned text: words separated by spaces, commas or line
    breaks, in any case, each mnemonic 33 words long (lines do not matter)."""
    words = [w for w in re.split(r"[\s,，、;；]+", text.strip().lower()) if w]
    words = [re.sub(r"^\d+[.)．、:：]?", "", w) for w in words]  # "1.academic" as numbered on the sheet
    words = [w for w in words if w]
    if not words:
        raise WordsRefused("no key words were given")
    if len(words) % WORDS_PER_MNEMONIC:
        raise WordsRefused(
            f"密钥词应为 {WORDS_PER_MNEMONIC} 个一组（分片则每份 {WORDS_PER_MNEMONIC} 个），现在是 {len(words)} 个"
            f" (key words come {WORDS_PER_MNEMONIC} to a mnemonic; {len(words)} were given)"
        )
    return [" ".join(words[i:i + WORDS_PER_MNEMONIC]) for i in range(0, len(words), WORDS_PER_MNEMONIC)]


def key_from_words(mnemonics: list[str]) -> bytes:
    """The private key the mnemonics give: one whole-key mnemonic, or enough shares of one
    key. ``WordsRefused`` says what is wrong (a mistyped word, a share missing, shares of
    different keys) without repeating any word."""
    for number, mnemonic in enumerate(mnemonics, start=1):
        try:
            Share.from_mnemonic(mnemonic)
        except MnemonicError as exc:
            raise WordsRefused(
                f"第 {number} 组密钥词有误，请逐词核对（{_why(exc)}） (mnemonic {number} does not check: {_why(exc)})"
            ) from None
    shares = [Share.from_mnemonic(m) for m in mnemonics]
    if len({s.identifier for s in shares}) > 1:
        raise WordsRefused("这几份密钥词不属于同一把密钥 (the shares belong to different keys)")
    needed = shares[0].member_threshold
    distinct = {s.index for s in shares}
    if len(distinct) < needed:
        raise WordsRefused(
            f"需要任意 {needed} 份不同的分片，现在只有 {len(distinct)} 份 "
            f"(this key opens with any {needed} different shares; {len(distinct)} given)"
        )
    try:
        return combine_mnemonics(_one_per_share(mnemonics, shares, needed))
    except MnemonicError as exc:
        raise WordsRefused(f"密钥词无法还原密钥（{_why(exc)}） (the words do not give a key: {_why(exc)})") from None


def _one_per_share(mnemonics: list[str], shares: list[Share], needed: int) -> list[str]:
    """Exactly ``needed`` mnemonics of different shares (a share typed twice, or a third one
    beside two, is more than ``combine_mnemonics`` takes)."""
    chosen: dict[int, str] = {}
    for mnemonic, share in zip(mnemonics, shares):
        chosen.setdefault(share.index, mnemonic)
    return list(chosen.values())[:needed]


def _why(exc: MnemonicError) -> str:
    """What went wrong, in words that repeat none of the mnemonic (the library's messages may)."""
    text = str(exc).lower()
    if "checksum" in text:
        return "校验和不符，可能有词抄错 / checksum failed: a word is wrong"
    if "word" in text and "invalid" in text:
        return "有不在词表中的词 / a word is not in the word list"
    if "digest" in text:
        return "分片互不相符 / the shares do not fit together"
    if "length" in text or "padding" in text:
        return "词数不对 / wrong number of words"
    return "无法识别 / not a key mnemonic"
