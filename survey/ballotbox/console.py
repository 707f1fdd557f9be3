"""Console pages of a round's ballot box in 监票人保管: the one-time link an organizer hands
the 监票人, and the upload of the 监票人's public key file on a draft.

Opening with the key and closing with the 监票人's key file, shares or words are the round's
own lifecycle pages (``survey.rounds.console``), which read what was handed over here
(``key_material``)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.access import round_for
from ..console import bp
from ..database import unit_of_work
from ..settings import is_loopback, public_base_url
from .custody import create_keygen_link, receive_public_key
from .keyfile import KeyFileError, key_from_material, read_public_key

#: the most bytes a key, share or public key file may have (they are a few hundred)
KEY_FILE_MAX = 16 * 1024


@bp.post("/rounds/<slug>/ballot-box/link")
def keygen_link_page(slug: str):  # noqa: ANN201
    """A new one-time link for the 监票人's key page; its address is shown this once."""
    round_ = round_for(slug, "manage_rounds")
    with unit_of_work():
        token = create_keygen_link(round_, created_by=current_user.username)
    base = public_base_url().rstrip("/")
    url = f"{base}{url_for('keygen.key_page', token=token)}"
    return render_template("console/keygen_link.html", round=round_, url=url,
                           insecure=not (url.startswith("https://") or is_loopback(base)))


@bp.post("/rounds/<slug>/ballot-box/public-key")
def upload_public_key(slug: str):  # noqa: ANN201
    """The 监票人's public key file, uploaded while the round is a draft."""
    round_ = round_for(slug, "manage_rounds")
    files = uploaded("public_key")
    if not files:
        raise KeyFileError("请选择监票人的公钥文件 (choose the 监票人's public key file)")
    name, text = files[0]
    with unit_of_work():
        mark = receive_public_key(round_, read_public_key(text, name), source="console upload")
    flash(f"已收到监票人的公钥，指纹 {mark}。请与监票人核对指纹。", "ok")
    return redirect(url_for("console.round_overview", slug=slug), 303)


def uploaded(field: str) -> list[tuple[str, str]]:
    """The files uploaded under ``field`` as (name, text); ``KeyFileError`` for one that is
    not a small text file."""
    out = []
    for upload in request.files.getlist(field):
        if not upload or not upload.filename:
            continue
        data = upload.read(KEY_FILE_MAX + 1)
        if len(data) > KEY_FILE_MAX:
            raise KeyFileError(f"{upload.filename}: 不是投票箱密钥文件（太大） (not a key file: too large)")
        try:
            out.append((upload.filename, data.decode("utf-8-sig")))
        except UnicodeDecodeError:
            raise KeyFileError(f"{upload.filename}: 不是投票箱密钥文件 (not a key file)") from None
    return out


def key_material() -> bytes | None:
    """The private key handed over on the close page (key file, share files, words), held in
    memory for the close only; None when nothing was handed over."""
    return key_from_material(uploaded("key"), request.form.get("words", ""))
