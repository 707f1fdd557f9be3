"""监票人保管 (teller custody) on the command line: the custody chosen in the spec, the key
made by ``ballot-box keygen`` (one key, or a 监票小组's 2-of-3 shares), the round opened with
its public key and closed with the key file, the shares or the words; one share, a wrong key
or another round's key refuse and change nothing."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from survey.ballotbox.keyfile import read_key_path
from survey.ballotbox.keys import fingerprint
from survey.ballotbox.sheet import read_back
from survey.ballotbox.words import key_from_words, mnemonics_in
from survey.extensions import db
from survey.models import Answer, Ballot, BallotCode, Receipt, Round, SealedBallot

from .conftest import receipt_of

#: what each test's phones answer: two staff ballots by code, one student by the open link
BALLOTS = [
    ("staff", {"a:B01:service": "satisfied", "a:B01:conduct": "basic", "a:B02:service": "dissatisfied",
               "a:B02:conduct": "unknown", "c:B02": "食堂排队太久"}),
    ("staff", {"a:B01:service": "basic", "a:B01:conduct": "basic", "a:B02:service": "satisfied",
               "a:B02:conduct": "satisfied"}),
    ("students", {"a:B01:service": "satisfied", "a:B01:conduct": "dissatisfied"}),
]


def write_spec(folder: Path, spec: dict[str, Any], name: str = "spec.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return path


def invoke(runner, *args: str, input: str | None = None):  # noqa: ANN001, ANN201, A002
    return runner.invoke(args=list(args), input=input)


def keygen(runner, out: Path, *extra: str):  # noqa: ANN001, ANN201
    result = invoke(runner, "ballot-box", "keygen", "--out", str(out), *extra)
    assert result.exit_code == 0, result.output
    return result


def state(slug: str) -> tuple:
    """Everything a refused close must leave as it was."""
    db.session.rollback()
    round_ = db.session.scalar(select(Round).where(Round.slug == slug))

    def n(model: type, column) -> int:  # noqa: ANN001
        return db.session.scalar(select(func.count()).select_from(model).where(column == round_.id))

    seen = (round_.status, round_.box_public_key, round_.box_unreadable, n(SealedBallot, SealedBallot.round_id),
            n(Ballot, Ballot.round_id), n(BallotCode, BallotCode.round_id), n(Receipt, Receipt.round_id))
    db.session.rollback()  # hold no lock: a close that follows rebuilds these tables (PostgreSQL)
    return seen


def cast_ballots(submit, issue_codes, slug: str) -> list[str]:  # noqa: ANN001
    """The phones of ``BALLOTS`` answer round ``slug``; their receipts."""
    round_ = db.session.scalar(select(Round).where(Round.slug == slug))
    codes = iter(issue_codes(round_, "staff", 2))
    receipts = []
    for group, answers in BALLOTS:
        url = f"/b/{next(codes)}" if group == "staff" else f"/r/{slug}/students"
        response = submit(url, answers)
        assert response.status_code == 200, response.get_data(as_text=True)
        receipts.append(receipt_of(response))
    return receipts


def counted_answers(slug: str) -> list[tuple[str, str, str]]:
    from survey.models import Item, Subject

    db.session.rollback()
    return sorted(db.session.execute(
        select(Subject.code, Item.key, Answer.level)
        .join(Ballot, Ballot.id == Answer.ballot_id).join(Round, Round.id == Ballot.round_id)
        .join(Subject, Subject.id == Answer.subject_id).join(Item, Item.id == Answer.item_id)
        .where(Round.slug == slug)
    ).all())


EXPECTED_ANSWERS = sorted(
    (field.split(":")[1], field.split(":")[2], level)
    for _, answers in BALLOTS for field, level in answers.items() if field.startswith("a:")
)


@pytest.fixture
def teller_spec(spec: dict[str, Any]) -> dict[str, Any]:
    spec["ballot_box"] = "teller"
    return spec


@pytest.fixture
def opened(runner, teller_spec, tmp_path):  # noqa: ANN001, ANN201
    """A teller round imported and opened with the public key of a key the command made;
    the key file's path."""
    key_file = tmp_path / "teller.key.json"
    keygen(runner, key_file, "--round", "r2012")
    assert invoke(runner, "rounds", "import", str(write_spec(tmp_path, teller_spec))).exit_code == 0
    result = invoke(runner, "rounds", "open", "r2012", "--public-key", str(tmp_path / "teller.key.public.json"))
    assert result.exit_code == 0, result.output
    return key_file


# --- custody in the spec -----------------------------------------------------------------


def test_the_spec_chooses_the_custody(runner, spec, tmp_path) -> None:  # noqa: ANN001
    spec["ballot_box"] = "teller"
    result = invoke(runner, "rounds", "import", str(write_spec(tmp_path, spec)))

    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Round.box_custody).where(Round.slug == "r2012")) == "teller"
    status = invoke(runner, "rounds", "status", "r2012")
    assert "teller (监票人保管)" in status.output


def test_a_spec_without_ballot_box_is_in_server_custody(runner, spec, tmp_path) -> None:  # noqa: ANN001
    assert invoke(runner, "rounds", "import", str(write_spec(tmp_path, spec))).exit_code == 0
    assert db.session.scalar(select(Round.box_custody).where(Round.slug == "r2012")) == "server"


def test_import_can_choose_the_custody_on_the_command_line(runner, spec, tmp_path) -> None:  # noqa: ANN001
    result = invoke(runner, "rounds", "import", str(write_spec(tmp_path, spec)), "--ballot-box", "teller")

    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Round.box_custody).where(Round.slug == "r2012")) == "teller"


def test_an_unknown_custody_refuses_the_spec(runner, spec, tmp_path) -> None:  # noqa: ANN001
    spec["ballot_box"] = "jianpiaoren"
    result = invoke(runner, "rounds", "import", str(write_spec(tmp_path, spec)))

    assert result.exit_code != 0
    assert "ballot_box" in result.output
    assert db.session.scalar(select(func.count()).select_from(Round)) == 0


# --- the key the command makes -----------------------------------------------------------


def test_keygen_writes_a_private_key_file_for_its_owner_only_and_a_public_key_file(runner, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "teller.key.json"
    result = keygen(runner, out, "--round", "r2012", "--title", "2012年基层党组织群众评议")

    private = read_key_path(out, private=True)
    public = read_key_path(tmp_path / "teller.key.public.json", private=False)
    from nacl.public import PrivateKey

    assert bytes(PrivateKey(private).public_key) == public
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "teller.key.sheet.pdf").st_mode) == 0o600
    assert public.hex() in result.output
    assert fingerprint(public) in result.output
    assert private.hex() not in result.output
    assert json.loads(out.read_text())["round"] == "r2012"


def test_the_key_sheet_reads_back_as_the_key(runner, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "teller.key.json"
    keygen(runner, out, "--round", "r2012")

    words = read_back((tmp_path / "teller.key.sheet.pdf").read_bytes())

    assert words is not None, "pdftoppm and zbarimg are installed where the tests run"
    assert key_from_words(mnemonics_in(words)) == read_key_path(out, private=True)


def test_keygen_never_overwrites_a_key_file(runner, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "teller.key.json"
    keygen(runner, out)
    before = out.read_bytes()

    result = invoke(runner, "ballot-box", "keygen", "--out", str(out))

    assert result.exit_code != 0
    assert "exists" in result.output
    assert out.read_bytes() == before


def test_a_teller_round_does_not_open_without_a_public_key(runner, teller_spec, tmp_path) -> None:  # noqa: ANN001
    invoke(runner, "rounds", "import", str(write_spec(tmp_path, teller_spec)))

    result = invoke(runner, "rounds", "open", "r2012")

    assert result.exit_code != 0
    assert "--public-key" in result.output
    assert state("r2012")[:2] == ("draft", None)


def test_the_server_refuses_a_private_key_file_as_the_public_key(runner, teller_spec, tmp_path) -> None:  # noqa: ANN001
    keygen(runner, tmp_path / "teller.key.json")
    invoke(runner, "rounds", "import", str(write_spec(tmp_path, teller_spec)))

    result = invoke(runner, "rounds", "open", "r2012", "--public-key", str(tmp_path / "teller.key.json"))

    assert result.exit_code != 0
    assert "PRIVATE" in result.output
    assert state("r2012")[:2] == ("draft", None)


# --- opening and closing with the command's key ------------------------------------------


def test_the_commands_key_file_opens_the_round(runner, opened, submit, issue_codes) -> None:  # noqa: ANN001
    cast_ballots(submit, issue_codes, "r2012")
    assert state("r2012")[3] == 3  # sealed

    result = invoke(runner, "rounds", "close", "r2012", "--key", str(opened))

    assert result.exit_code == 0, result.output
    assert "3 张选票" in result.output
    assert counted_answers("r2012") == EXPECTED_ANSWERS


def test_the_key_sheets_words_on_standard_input_open_the_round(runner, opened, submit, issue_codes, tmp_path) -> None:  # noqa: ANN001
    cast_ballots(submit, issue_codes, "r2012")
    words = read_back((tmp_path / "teller.key.sheet.pdf").read_bytes())

    result = invoke(runner, "rounds", "close", "r2012", "--words", input=words + "\n")

    assert result.exit_code == 0, result.output
    assert counted_answers("r2012") == EXPECTED_ANSWERS


def test_a_wrong_key_refuses_and_changes_nothing(runner, opened, submit, issue_codes, tmp_path) -> None:  # noqa: ANN001
    cast_ballots(submit, issue_codes, "r2012")
    keygen(runner, tmp_path / "other.key.json")
    before = state("r2012")

    result = invoke(runner, "rounds", "close", "r2012", "--key", str(tmp_path / "other.key.json"))

    assert result.exit_code != 0
    assert "nothing was changed" in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1
    assert state("r2012") == before


def test_the_key_of_another_round_refuses_and_changes_nothing(runner, opened, teller_spec, submit, issue_codes,  # noqa: ANN001
                                                               tmp_path) -> None:
    other = dict(teller_spec, slug="r2013")
    keygen(runner, tmp_path / "r2013.key.json", "--round", "r2013")
    invoke(runner, "rounds", "import", str(write_spec(tmp_path, other, "r2013.json")))
    assert invoke(runner, "rounds", "open", "r2013", "--public-key", str(tmp_path / "r2013.key.public.json")).exit_code == 0
    cast_ballots(submit, issue_codes, "r2012")
    before = state("r2012")

    result = invoke(runner, "rounds", "close", "r2012", "--key", str(tmp_path / "r2013.key.json"))

    assert result.exit_code != 0
    assert "not the key of this round" in result.output
    assert state("r2012") == before


# --- a 监票小组's shares ------------------------------------------------------------------


@pytest.fixture
def opened_with_shares(runner, teller_spec, tmp_path):  # noqa: ANN001, ANN201
    """A teller round opened with the public key of a 2-of-3 split key; the share files."""
    out = tmp_path / "group.json"
    result = keygen(runner, out, "--round", "r2012", "--shares")
    assert not out.exists(), "with --shares no whole key is written anywhere"
    assert "QR ✓" in result.output
    invoke(runner, "rounds", "import", str(write_spec(tmp_path, teller_spec)))
    assert invoke(runner, "rounds", "open", "r2012", "--public-key", str(tmp_path / "group.public.json")).exit_code == 0
    return [tmp_path / f"group.share-{n}.json" for n in (1, 2, 3)]


def test_any_two_of_three_shares_open_the_round(runner, opened_with_shares, submit, issue_codes) -> None:  # noqa: ANN001
    cast_ballots(submit, issue_codes, "r2012")
    first, _, third = opened_with_shares

    result = invoke(runner, "rounds", "close", "r2012", "--share", str(first), "--share", str(third))

    assert result.exit_code == 0, result.output
    assert counted_answers("r2012") == EXPECTED_ANSWERS


def test_a_share_file_and_a_share_typed_open_the_round(runner, opened_with_shares, submit, issue_codes, tmp_path) -> None:  # noqa: ANN001
    cast_ballots(submit, issue_codes, "r2012")
    typed = read_back((tmp_path / "group.share-2.pdf").read_bytes())

    result = invoke(runner, "rounds", "close", "r2012", "--share", str(opened_with_shares[0]), "--words", input=typed)

    assert result.exit_code == 0, result.output
    assert counted_answers("r2012") == EXPECTED_ANSWERS


def test_one_share_refuses_and_changes_nothing(runner, opened_with_shares, submit, issue_codes) -> None:  # noqa: ANN001
    cast_ballots(submit, issue_codes, "r2012")
    before = state("r2012")

    result = invoke(runner, "rounds", "close", "r2012", "--share", str(opened_with_shares[1]))

    assert result.exit_code != 0
    assert "2" in result.output and "1" in result.output
    assert state("r2012") == before
    share = json.loads(opened_with_shares[1].read_text())["words"]
    assert share.split()[5] not in result.output.split()


def test_a_mistyped_word_refuses_without_repeating_the_words(runner, opened_with_shares) -> None:  # noqa: ANN001
    words = [json.loads(p.read_text())["words"].split() for p in opened_with_shares[:2]]
    words[1][20] = "academic" if words[1][20] != "academic" else "acid"
    before = state("r2012")

    result = invoke(runner, "rounds", "close", "r2012", "--words", input="\n".join(" ".join(w) for w in words))

    assert result.exit_code != 0
    assert "第 2 组" in result.output
    assert words[0][10] not in result.output.split()
    assert state("r2012") == before


def test_a_share_file_is_refused_as_the_public_key(runner, teller_spec, tmp_path) -> None:  # noqa: ANN001
    keygen(runner, tmp_path / "group.json", "--shares")
    invoke(runner, "rounds", "import", str(write_spec(tmp_path, teller_spec)))

    result = invoke(runner, "rounds", "open", "r2012", "--public-key", str(tmp_path / "group.share-1.json"))

    assert result.exit_code != 0
    assert state("r2012")[:2] == ("draft", None)
