"""Making a 监票人's ballot box key on their own computer: the key pair, the files it travels
in and the key sheets, checked before anything is written.

Run where the project is installed, with no database and no server:

    flask --app survey ballot-box keygen --out KEYFILE [--round SLUG] [--shares]
    python -m survey.ballotbox.keygen --out KEYFILE [--round SLUG] [--shares]

One 监票人 (the default) gets the private key file ``KEYFILE`` (readable by its owner only) and
its key sheet ``KEYFILE``'s name + ``.sheet.pdf``. A 监票小组 (``--shares``) gets no whole key
anywhere: three share files and three share sheets, any two of which open the box. Both get
the public key file (``….public.json``) to hand to the organizer, and the fingerprint printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nacl.public import PrivateKey

from .keyfile import SHARE_KIND, private_key_document, public_key_document
from .keys import fingerprint
from .sheet import SheetShare, key_sheet_pdf, read_back
from .words import SHARE_COUNT, SHARE_THRESHOLD, key_from_words, key_to_words, mnemonics_in, split_key


@dataclass(frozen=True)
class OutputFile:
    """A file to write: its path, its bytes, and whether only its owner may read it."""

    path: Path
    data: bytes
    private: bool
    what: str


@dataclass(frozen=True)
class MadeKey:
    public_key: bytes
    fingerprint: str
    files: list[OutputFile]
    qr_checked: bool  #: the sheets' QR codes were rendered and read back (pdftoppm + zbarimg here)


def sibling(out: Path, suffix: str) -> Path:
    """``box-key.json`` → ``box-key.public.json``; ``teller.key`` → ``teller.key.public.json``."""
    stem = out.name[:-5] if out.name.endswith(".json") else out.name
    return out.with_name(stem + suffix)


def make_key(out: Path, *, round_slug: str | None = None, round_title: str | None = None, shares: bool = False,
             private_key: PrivateKey | None = None) -> MadeKey:
    """A new key pair and every file of it, each sheet read back before it is handed over:
    its words give the key again, and its QR code (where pdftoppm and zbarimg are installed)
    reads as its words. Nothing is written here (``write_files``)."""
    key = private_key or PrivateKey.generate()
    raw, public = bytes(key), bytes(key.public_key)
    mark = fingerprint(public)
    files = [OutputFile(sibling(out, ".public.json"), _json(public_key_document(public, round_slug)), False,
                        "public key file: give it to the organizer (rounds open --public-key, or the console)")]
    qr_checked = True
    if shares:
        mnemonics = split_key(raw)
        if key_from_words(mnemonics[:SHARE_THRESHOLD]) != raw or key_from_words(mnemonics[-SHARE_THRESHOLD:]) != raw:
            raise RuntimeError("the shares do not give the key back")
        for number, mnemonic in enumerate(mnemonics, start=1):
            share = SheetShare(number, SHARE_COUNT, SHARE_THRESHOLD)
            pdf = key_sheet_pdf(mnemonic=mnemonic, fingerprint=mark, round_slug=round_slug, round_title=round_title,
                                share=share)
            qr_checked &= _check_sheet(pdf, mnemonic)
            document = {**public_key_document(public, round_slug), "kind": SHARE_KIND, "share": number,
                        "of": SHARE_COUNT, "threshold": SHARE_THRESHOLD, "words": mnemonic}
            files.append(OutputFile(sibling(out, f".share-{number}.json"), _json(document), True,
                                    f"share {number} of {SHARE_COUNT}: for member {number} of the 监票小组"))
            files.append(OutputFile(sibling(out, f".share-{number}.pdf"), pdf, True,
                                    f"key sheet of share {number}: print it for member {number}"))
    else:
        mnemonic = key_to_words(raw)
        if key_from_words(mnemonics_in(mnemonic)) != raw:
            raise RuntimeError("the key words do not give the key back")
        pdf = key_sheet_pdf(mnemonic=mnemonic, fingerprint=mark, round_slug=round_slug, round_title=round_title)
        qr_checked &= _check_sheet(pdf, mnemonic)
        files.insert(0, OutputFile(out, _json(private_key_document(raw, round_slug)), True,
                                   "PRIVATE key file: keep it (and a copy) with the 监票人 until the round is closed"))
        files.append(OutputFile(sibling(out, ".sheet.pdf"), pdf, True, "key sheet: print it and keep it apart from the file"))
    return MadeKey(public, mark, files, qr_checked)


def _check_sheet(pdf: bytes, mnemonic: str) -> bool:
    """True when the sheet's QR was read back as ``mnemonic``; False when it cannot be checked
    here; raises when it reads as anything else."""
    text = read_back(pdf)
    if text is None:
        return False
    if text != mnemonic:
        raise RuntimeError("the key sheet's QR code does not read back as its words")
    return True


def _json(document: dict) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()


def write_files(files: list[OutputFile], *, overwrite: bool = False) -> None:
    """Write every file, private ones readable by their owner only (0600). Refuses before
    writing anything if one exists already (a key file is never overwritten by accident)."""
    existing = [f.path for f in files if f.path.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{existing[0]} exists already: choose another --out (a key file is never overwritten)")
    for file in files:
        file.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
        fd = os.open(file.path, flags, 0o600 if file.private else 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(file.data)
        if file.private:
            os.chmod(file.path, 0o600)


def report(made: MadeKey, echo: Callable[[str], None] = print) -> None:
    """What was made, for the 监票人 at the terminal."""
    echo(f"ballot box public key: {made.public_key.hex()}")
    echo(f"fingerprint (指纹): {made.fingerprint}")
    for file in made.files:
        echo(f"  {file.path}  — {file.what}")
    echo("key sheet read back: words ✓, QR ✓" if made.qr_checked else
         "key sheet read back: words ✓ (QR not checked here: pdftoppm and zbarimg are not installed)")
    echo("Keep the private key or the shares away from the server; a lost key means the round cannot be counted.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m survey.ballotbox.keygen",
                                     description="Make a 监票人's ballot box key on this computer.")
    parser.add_argument("--out", required=True, type=Path, help="the private key file to write (e.g. 2026-branches.key.json)")
    parser.add_argument("--round", dest="round_slug", help="the round's slug, written into the files and sheets")
    parser.add_argument("--title", help="the round's title, printed on the sheets")
    parser.add_argument("--shares", action="store_true",
                        help=f"a 监票小组: {SHARE_COUNT} shares, any {SHARE_THRESHOLD} of which open the box, instead of one key")
    args = parser.parse_args(argv)
    try:
        made = make_key(args.out, round_slug=args.round_slug, round_title=args.title, shares=args.shares)
        write_files(made.files)
    except (OSError, ValueError, RuntimeError) as exc:  # a file in the way, or a sheet that did not read back
        print(f"error: {exc}; no key was written", file=sys.stderr)
        return 1
    report(made)
    return 0


if __name__ == "__main__":
    sys.exit(main())
