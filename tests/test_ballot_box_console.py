"""监票人保管 in the console: custody chosen in the builder, the one-time key page link, the
public key uploaded or delivered, the fingerprint where people see it (round page, poster,
questionnaire footer), the close page taking the key file, the shares or the words; a wrong
key refusing with nothing changed; and nothing stored or logged that holds the private key or
a share."""

from __future__ import annotations

import base64
import json
import logging
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.ballotbox.keyfile import read_key_path
from survey.ballotbox.keys import fingerprint
from survey.extensions import db
from survey.models import KeygenLink, Round

from .console_helpers import console_token, make_user, sign_in
from .test_ballot_box_teller import BALLOTS, EXPECTED_ANSWERS, counted_answers, keygen, state


@pytest.fixture
def organizer(app, client):  # noqa: ANN001, ANN201
    make_user("org", "organizer")
    sign_in(client, "org")
    return client


@pytest.fixture
def teller_draft(make_round, spec):  # noqa: ANN001, ANN201
    spec["ballot_box"] = "teller"
    return make_round(spec, status="draft")


def post(client, url: str, data: dict | None = None, **kwargs):  # noqa: ANN001, ANN201, ANN003
    return client.post(url, data={"csrf_token": console_token(client), **(data or {})}, **kwargs)


def upload(path: Path) -> tuple:
    return (path.open("rb"), path.name)


def reload(slug: str = "r2012") -> Round:
    db.session.rollback()
    return db.session.scalar(select(Round).where(Round.slug == slug))


def vote(app, submit, issue_codes, slug: str = "r2012") -> None:
    """The phones of ``BALLOTS`` answer, each from a browser of its own."""
    codes = iter(issue_codes(reload(slug), "staff", 2))
    for group, answers in BALLOTS:
        url = f"/b/{next(codes)}" if group == "staff" else f"/r/{slug}/students"
        assert submit(url, answers, with_client=app.test_client()).status_code == 200


def open_with_key(organizer, runner, tmp_path: Path, *extra: str) -> Path:
    """The 监票人 makes a key with the command; the organizer opens the round uploading its
    public key file on the open page. The private key file's path."""
    key = tmp_path / "teller.key.json"
    keygen(runner, key, "--round", "r2012", *extra)
    public = tmp_path / "teller.key.public.json"
    answer = post(organizer, "/console/rounds/r2012/open", {"public_key": upload(public)},
                  content_type="multipart/form-data")
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return key


# --- custody in the builder --------------------------------------------------------------


def test_the_builder_sets_the_custody(organizer, make_round) -> None:  # noqa: ANN001
    make_round(status="draft")
    page = organizer.get("/console/rounds/r2012/edit").get_data(as_text=True)
    assert "监票人保管" in page
    form = {name: value for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', page)}
    form.update({k: v for k, v in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', page)})
    form["ballot_box"] = "teller"
    form["comments"] = "on"

    answer = organizer.post("/console/rounds/r2012/edit", data=form)

    assert answer.status_code == 303, answer.get_data(as_text=True)
    round_ = reload()
    assert round_.box_custody == "teller"
    assert round_.spec["ballot_box"] == "teller"
    assert "监票人保管" in organizer.get("/console/rounds/r2012").get_data(as_text=True)


# --- the one-time link and the key page --------------------------------------------------


def make_link(organizer) -> str:  # noqa: ANN001
    page = post(organizer, "/console/rounds/r2012/ballot-box/link")
    assert page.status_code == 200, page.get_data(as_text=True)
    found = re.search(r'id="keygen-link"[^>]*>https://survey\.example\.edu\.cn(/k/[^<]+)<', page.get_data(as_text=True))
    assert found, "the page shows the link once"
    return found.group(1)


def test_a_one_time_link_takes_one_public_key(organizer, teller_draft, app) -> None:  # noqa: ANN001
    path = make_link(organizer)
    token = path.rsplit("/", 1)[1]
    stored = db.session.scalars(select(KeygenLink.token_hash)).all()
    assert len(stored) == 1 and token not in stored[0], "only a hash of the token is stored"
    phone = app.test_client()  # the 监票人's browser: no account
    page = phone.get(path)
    assert page.status_code == 200
    assert "script-src 'self' 'sha256-" in page.headers["Content-Security-Policy"]
    assert "noble-curves-2.4.0" in page.get_data(as_text=True)
    public = bytes(range(1, 33))
    from nacl.public import PrivateKey

    public = bytes(PrivateKey(bytes(range(32))).public_key)

    answer = phone.post(path, json={"public_key": public.hex()})

    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json() == {"fingerprint": fingerprint(public)}
    assert reload().box_public_key == public.hex()
    assert phone.get(path).status_code == 404
    again = phone.post(path, json={"public_key": public.hex()})
    assert again.status_code == 404 and "用过" in again.get_json()["error"]
    overview = organizer.get("/console/rounds/r2012").get_data(as_text=True)
    assert fingerprint(public) in overview


def test_the_key_page_takes_only_a_public_key(organizer, teller_draft, app) -> None:  # noqa: ANN001
    path = make_link(organizer)
    phone = app.test_client()

    assert phone.post(path, json={"public_key": "00" * 32, "private_key": "11" * 32}).status_code == 400
    assert phone.post(path, json={"public_key": "00" * 32}).status_code == 400  # no key belongs to it
    assert phone.post(path, json={"public_key": "zz"}).status_code == 400
    assert reload().box_public_key is None
    assert phone.get(path).status_code == 200, "a refused delivery does not use the link up"


def test_an_expired_link_opens_no_page(organizer, teller_draft, app) -> None:  # noqa: ANN001
    path = make_link(organizer)
    link = db.session.scalar(select(KeygenLink))
    link.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    db.session.commit()

    page = app.test_client().get(path)

    assert page.status_code == 404
    assert "过期" in page.get_data(as_text=True)


def test_a_round_in_server_custody_gets_no_link(organizer, make_round) -> None:  # noqa: ANN001
    make_round(status="draft")

    answer = post(organizer, "/console/rounds/r2012/ballot-box/link")

    assert answer.status_code == 409
    assert db.session.scalar(select(KeygenLink)) is None


def test_the_token_is_not_in_the_log(organizer, teller_draft, app) -> None:  # noqa: ANN001
    from survey.web import redact

    path = make_link(organizer)
    assert path.rsplit("/", 1)[1] not in redact(f'"GET {path} HTTP/1.1" 200 -')


# --- open and close in the console -------------------------------------------------------


def test_a_teller_round_does_not_open_without_a_public_key(organizer, teller_draft) -> None:  # noqa: ANN001
    page = organizer.get("/console/rounds/r2012/open").get_data(as_text=True)
    assert "还没有监票人的公钥" in page

    answer = post(organizer, "/console/rounds/r2012/open", content_type="multipart/form-data")

    assert answer.status_code == 422
    assert "--public-key" in answer.get_data(as_text=True)
    assert reload().status == "draft"


def test_the_console_opens_with_the_uploaded_public_key_and_shows_its_fingerprint(  # noqa: ANN001
        app, organizer, teller_draft, runner, tmp_path, client) -> None:
    key = open_with_key(organizer, runner, tmp_path)
    mark = json.loads(key.read_text())["fingerprint"]

    assert reload().status == "open"
    assert mark in organizer.get("/console/rounds/r2012").get_data(as_text=True)
    questionnaire = app.test_client().get("/r/r2012/students").get_data(as_text=True)
    assert f"投票箱密钥指纹 <span class=\"fingerprint\">{mark}</span>（监票人保管）" in questionnaire
    poster = organizer.get("/console/rounds/r2012/groups/students/poster.pdf").get_data()
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=poster, capture_output=True, check=True).stdout.decode()
        assert mark in text
    assert "监票人保管" in organizer.get("/console/rounds/r2012/close").get_data(as_text=True)


def test_a_server_round_shows_its_custody_and_fingerprint(app, organizer, make_round) -> None:  # noqa: ANN001
    from survey.ballotbox.box import box_fingerprint

    round_ = make_round()
    mark = box_fingerprint(round_)
    page = app.test_client().get("/r/r2012/students").get_data(as_text=True)
    assert f"{mark}</span>（服务器保管）" in page
    assert f"投票箱密钥：服务器保管，指纹 <code>{mark}</code>" in organizer.get("/console/rounds/r2012/close").get_data(as_text=True)


def test_the_console_closes_with_the_uploaded_key_file(app, organizer, teller_draft, runner, tmp_path, submit,  # noqa: ANN001
                                                       issue_codes) -> None:
    key = open_with_key(organizer, runner, tmp_path)
    vote(app, submit, issue_codes)

    answer = post(organizer, "/console/rounds/r2012/close", {"key": upload(key)}, content_type="multipart/form-data")

    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert reload().status == "closed"
    assert counted_answers("r2012") == EXPECTED_ANSWERS


def test_a_wrong_key_in_the_console_refuses_and_changes_nothing(app, organizer, teller_draft, runner, tmp_path,  # noqa: ANN001
                                                                submit, issue_codes) -> None:
    open_with_key(organizer, runner, tmp_path)
    vote(app, submit, issue_codes)
    keygen(runner, tmp_path / "other.key.json")
    before = state("r2012")

    answer = post(organizer, "/console/rounds/r2012/close", {"key": upload(tmp_path / "other.key.json")},
                  content_type="multipart/form-data")

    assert answer.status_code == 422
    assert "nothing was changed" in answer.get_data(as_text=True)
    assert state("r2012") == before
    missing = post(organizer, "/console/rounds/r2012/close", content_type="multipart/form-data")
    assert missing.status_code == 422
    assert state("r2012") == before


def test_two_typed_shares_close_the_round_and_one_does_not(app, organizer, teller_draft, runner, tmp_path, submit,  # noqa: ANN001
                                                           issue_codes) -> None:
    keygen(runner, tmp_path / "group.json", "--round", "r2012", "--shares")
    answer = post(organizer, "/console/rounds/r2012/open", {"public_key": upload(tmp_path / "group.public.json")},
                  content_type="multipart/form-data")
    assert answer.status_code == 303
    vote(app, submit, issue_codes)
    shares = [json.loads((tmp_path / f"group.share-{n}.json").read_text())["words"] for n in (1, 2, 3)]
    before = state("r2012")

    one = post(organizer, "/console/rounds/r2012/close", {"words": shares[1]}, content_type="multipart/form-data")
    assert one.status_code == 422
    assert state("r2012") == before

    typed = "\n".join(" ".join(f"{i + 1}.{w}" for i, w in enumerate(s.split())) for s in (shares[2], shares[0]))
    two = post(organizer, "/console/rounds/r2012/close", {"words": typed.upper()}, content_type="multipart/form-data")
    assert two.status_code == 303, two.get_data(as_text=True)
    assert counted_answers("r2012") == EXPECTED_ANSWERS


# --- nothing stored or logged holds the private key or a share ---------------------------


def every_row() -> bytes:
    """Every row of every table, as text and raw bytes: what the database holds, on either backend."""
    from survey.models import Base

    db.session.rollback()
    out = []
    for table in Base.metadata.sorted_tables:
        for row in db.session.execute(select(table)).all():
            out += [value if isinstance(value, bytes) else str(value).encode() for value in row]
    db.session.rollback()
    return b"\n".join(out)


def secrets_of(key: bytes, shares: list[str]) -> list[bytes]:
    """Every form in which the key or a share could have been written down."""
    forms = [key, key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key), base64.urlsafe_b64encode(key),
             base64.b64encode(key).rstrip(b"=")]
    for share in shares:
        words = share.split()
        forms.append(share.encode())
        forms += [" ".join(words[i:i + 4]).encode() for i in range(0, len(words) - 4, 4)]
    return forms


def test_nothing_stored_or_logged_while_open_holds_the_key_or_a_share(app, organizer, teller_draft, runner, tmp_path,  # noqa: ANN001
                                                                      submit, issue_codes, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    keygen(runner, tmp_path / "keys" / "group.json", "--round", "r2012", "--shares")
    assert post(organizer, "/console/rounds/r2012/open", {"public_key": upload(tmp_path / "keys" / "group.public.json")},
                content_type="multipart/form-data").status_code == 303
    vote(app, submit, issue_codes)
    shares = [json.loads((tmp_path / "keys" / f"group.share-{n}.json").read_text())["words"] for n in (1, 2, 3)]
    from survey.ballotbox.words import key_from_words

    key = key_from_words(shares[:2])
    # a share handed over on its own, by the console and by the command line: refused
    assert post(organizer, "/console/rounds/r2012/close", {"words": shares[0]},
                content_type="multipart/form-data").status_code == 422
    assert post(organizer, "/console/rounds/r2012/close", {"key": upload(tmp_path / "keys" / "group.share-2.json")},
                content_type="multipart/form-data").status_code == 422
    refused = runner.invoke(args=["rounds", "close", "r2012", "--share", str(tmp_path / "keys" / "group.share-3.json")])
    assert refused.exit_code != 0
    assert reload().status == "open"
    rows = every_row()
    db.session.remove()
    db.engine.dispose()

    files = b"".join(p.read_bytes() for p in Path(app.instance_path).parent.rglob("*")
                     if p.is_file() and "keys" not in p.parts)
    stored = rows + files
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records).encode() + refused.output.encode()
    assert b"round.open" in rows, "the audit log is among the rows searched"
    if db.engine.dialect.name == "sqlite":
        assert b"SQLite format 3" in files, "the database file is among the files searched"
    for secret in secrets_of(key, shares):
        assert secret not in stored
        assert secret not in logged
