"""The audit log chained under a key kept apart from the database: an insider who can write the
database rewrites an entry and recomputes the chain, or deletes the newest entries; the head
printed at each lifecycle move and carried by exports catches the deletion; a log kept before
the key is carried over once."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from survey import create_app
from survey.auth.audit import GENESIS, Head, entry_hash, legacy_entry_hash

from .conftest import TEST_CONFIG
from .console_helpers import make_user

HEAD_LINE = "audit log head "


def log_rows() -> list[sa.Row]:
    """The stored entries in order, read afresh (times as datetimes on both databases)."""
    from survey.extensions import db
    from survey.models import AuditEntry

    db.session.rollback()
    return db.session.execute(sa.select(AuditEntry.__table__).order_by(AuditEntry.id)).all()


def rechain_from(first_id: int, hash_of) -> None:  # noqa: ANN001
    """What an insider with write access does after changing an entry: recompute every hash
    from there on with ``hash_of(prev, at, actor, action, round_slug, detail)``."""
    from survey.extensions import db

    prev = GENESIS
    for row in log_rows():
        if row.id >= first_id:
            new = hash_of(prev, row.at, row.actor, row.action, row.round_slug, row.detail)
            db.session.execute(sa.text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :id"),
                               {"p": prev, "h": new, "id": row.id})
            prev = new
        else:
            prev = row.hash
    db.session.commit()


def printed_head(output: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith(HEAD_LINE))
    return line.removeprefix(HEAD_LINE).split()[0]


def some_history(runner, make_round) -> list[str]:  # noqa: ANN001
    """Accounts made, a round opened, closed and published from the command line; the heads printed."""
    for name in ("a1", "a2", "a3"):
        make_user(name, "organizer")
    make_round(status="draft")
    heads = []
    for action in ("open", "close", "publish"):
        result = runner.invoke(args=["rounds", action, "r2012"])
        assert result.exit_code == 0, result.output
        heads.append(printed_head(result.output))
    return heads


def test_each_lifecycle_move_prints_the_head_it_leaves(runner, make_round) -> None:  # noqa: ANN001
    heads = some_history(runner, make_round)

    rows = log_rows()
    assert [r.action for r in rows][-3:] == ["round.open", "round.close", "round.publish"]
    # the head after "publish" is the last entry: its number and the first 16 digits of its hash
    assert heads[-1] == f"{len(rows)}:{rows[-1].hash[:16]}"
    assert heads[0] == f"{len(rows) - 2}:{rows[-3].hash[:16]}"
    verified = runner.invoke(args=["audit", "verify", "--head", heads[0]])
    assert verified.exit_code == 0, verified.output
    assert "reaches the head given" in verified.output


def test_an_entry_rewritten_and_the_chain_recomputed_without_the_key_is_caught(runner, make_round) -> None:  # noqa: ANN001
    from survey.extensions import db

    some_history(runner, make_round)
    target = log_rows()[1].id
    db.session.execute(sa.text("UPDATE audit_log SET actor = 'someone-else' WHERE id = :id"), {"id": target})
    db.session.commit()
    # the old unkeyed chain, recomputed, and an HMAC under a guessed key: neither passes
    for forged in (legacy_entry_hash,
                   lambda *fields: entry_hash(b"a guessed key", *fields)):
        rechain_from(target, forged)
        broken = runner.invoke(args=["audit", "verify"])
        assert broken.exit_code != 0
        assert f"broken at entry {target}:" in broken.output


def test_the_chain_recomputed_under_the_real_key_passes(app, runner, make_round) -> None:  # noqa: ANN001
    """The other side of the test above: it is the key, not something else, that tells them apart."""
    from survey.auth.audit import audit_key
    from survey.extensions import db

    some_history(runner, make_round)
    target = log_rows()[1].id
    db.session.execute(sa.text("UPDATE audit_log SET actor = 'someone-else' WHERE id = :id"), {"id": target})
    db.session.commit()
    key = audit_key()
    rechain_from(target, lambda *fields: entry_hash(key, *fields))
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_the_newest_entries_deleted_are_caught_against_the_printed_head(runner, make_round) -> None:  # noqa: ANN001
    from survey.extensions import db

    heads = some_history(runner, make_round)
    rows = log_rows()
    db.session.execute(sa.text("DELETE FROM audit_log WHERE id >= :id"), {"id": rows[-5].id})
    db.session.commit()

    # the shorter chain is whole in itself...
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    # ...but no longer reaches the head printed at the last move
    broken = runner.invoke(args=["audit", "verify", "--head", heads[-1]])
    assert broken.exit_code != 0
    assert f"the log holds {len(rows) - 5} entries: the newest 5 were removed (after entry {rows[-6].id})" in broken.output


def test_a_head_whose_entry_was_replaced_is_caught(runner, make_round) -> None:  # noqa: ANN001
    heads = some_history(runner, make_round)
    count, digest = heads[1].split(":")
    other = "0" * 16 if digest != "0" * 16 else "1" * 16

    broken = runner.invoke(args=["audit", "verify", "--head", f"{count}:{other}"])

    assert broken.exit_code != 0
    assert f"broken at entry {log_rows()[int(count) - 1].id}: it is entry number {count}" in broken.output


@pytest.mark.parametrize("given", ["12", "12:abc", "x:0123456789abcdef", "12:0123456789abcdeg"])
def test_a_malformed_head_is_refused(runner, given: str) -> None:  # noqa: ANN001
    result = runner.invoke(args=["audit", "verify", "--head", given])
    assert result.exit_code == 2
    assert "COUNT:HASH" in result.output


def test_heads_parse_as_printed_or_in_full() -> None:
    full = hashlib.sha256(b"x").hexdigest()
    assert Head.parse(f"7:{full}") == Head(7, full)
    assert str(Head(7, full)) == f"7:{full[:16]}"
    assert Head.parse(f" 7:{full[:16].upper()} ") == Head(7, full[:16])


def test_exports_carry_the_head(runner, make_round, tmp_path) -> None:  # noqa: ANN001
    some_history(runner, make_round)
    rows = log_rows()

    result = runner.invoke(args=["export", "r2012", "--out", str(tmp_path / "export")])

    assert result.exit_code == 0, result.output
    first = (tmp_path / "export" / "audit_head.txt").read_text(encoding="utf-8").splitlines()[0]
    assert first == f"{len(rows)}:{rows[-1].hash[:16]}"
    assert runner.invoke(args=["audit", "verify", "--head", first]).exit_code == 0


def test_another_audit_key_is_refused_rather_than_chained_after_the_log(app, runner, make_round) -> None:  # noqa: ANN001
    from survey.auth.audit import AuditKeyMismatch, record, verify_chain
    from survey.database import unit_of_work
    from survey.extensions import db

    some_history(runner, make_round)
    count = len(log_rows())
    db.session.remove()
    other = create_app({**TEST_CONFIG, "DATABASE_URL": app.config["DATABASE_URL"], "AUDIT_KEY": "not-the-audit-key"})
    other.instance_path = app.instance_path
    with other.app_context():
        checked, broken = verify_chain()
        assert checked == 0 and "audit key" in str(broken) and "restore the original key" in str(broken)
        with pytest.raises(AuditKeyMismatch), unit_of_work():
            record("round.edit", round_slug="r2012")
        result = other.test_cli_runner().invoke(args=["audit", "verify"])
        assert result.exit_code != 0
        db.session.remove()
        db.engine.dispose()
    assert len(log_rows()) == count


def test_a_log_kept_before_the_key_is_carried_over_once(app, runner) -> None:  # noqa: ANN001
    """A database of the previous version with an unkeyed chain: the upgrade checks it, re-chains
    it under the key and says so in one more entry; the old content is untouched."""
    from flask_migrate import downgrade, upgrade

    from survey.extensions import db

    db.session.remove()
    downgrade(revision="d4e7a2c9b315")
    start = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
    prev = GENESIS
    old = []
    for n, (actor, action, slug) in enumerate([("cli:root", "user.create", None), ("org", "sign_in", None),
                                               ("org", "round.open", "r2012")]):
        at = start + timedelta(minutes=n)
        digest = legacy_entry_hash(prev, at, actor, action, slug, "{}")
        db.session.execute(sa.text(
            "INSERT INTO audit_log (at, actor, action, round_slug, detail, prev_hash, hash) "
            "VALUES (:at, :actor, :action, :slug, '{}', :prev, :hash)"),
            {"at": at, "actor": actor, "action": action, "slug": slug, "prev": prev, "hash": digest})
        old.append((actor, action, slug))
        prev = digest
    db.session.commit()
    db.session.remove()

    upgrade()

    rows = log_rows()
    assert [(r.actor, r.action, r.round_slug) for r in rows[:3]] == old
    assert rows[-1].action == "audit.rekey" and len(rows) == 4
    assert rows[-1].detail == '{"earlier_chain":"whole","entries":3}'
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "4 entries" in verified.output
    # the carried-over hashes are HMACs: recomputing them needs the key
    assert rows[0].hash != legacy_entry_hash(GENESIS, rows[0].at, *old[0], "{}")
    assert len(rows[0].hash) == len(hmac.new(b"k", b"", hashlib.sha256).hexdigest())


def test_a_broken_log_carried_over_says_where_it_was_broken(app, runner) -> None:  # noqa: ANN001
    from flask_migrate import downgrade, upgrade

    from survey.extensions import db

    make_user("a1", "organizer")
    make_user("a2", "organizer")
    db.session.remove()
    downgrade(revision="d4e7a2c9b315")  # the two entries are now the old, unkeyed chain
    second = log_rows()[1].id
    db.session.execute(sa.text("UPDATE audit_log SET actor = 'someone-else' WHERE id = :id"), {"id": second})
    db.session.commit()
    db.session.remove()

    upgrade()

    assert log_rows()[-1].detail == f'{{"earlier_chain":"broken at entry {second} before the carry-over","entries":2}}'
