"""audit log chained under the audit key (HMAC), existing entries carried over

The log was an unkeyed SHA-256 chain, which anyone able to write the database could recompute
after changing it. From here each entry's hash is an HMAC under the audit key
(``SURVEY_AUDIT_KEY`` or ``instance/audit_key``, kept apart from the database). The entries
already there are checked as the old chain, re-chained under the key, and followed by one
``audit.rekey`` entry saying how many were carried over and whether the old chain was whole.
The key's fingerprint is stored so that a service started with another key refuses to append.

Revision ID: e1a5c3f7b902
Revises: d4e7a2c9b315
Create Date: 2026-12-08 10:00:00

"""
import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e1a5c3f7b902'
down_revision = 'd4e7a2c9b315'
branch_labels = None
depends_on = None

audit_log = sa.table(
    "audit_log",
    sa.column("id", sa.Integer), sa.column("at", sa.DateTime(timezone=True)), sa.column("actor", sa.String),
    sa.column("action", sa.String), sa.column("round_slug", sa.String), sa.column("detail", sa.Text),
    sa.column("prev_hash", sa.String), sa.column("hash", sa.String),
)
key_fingerprints = sa.table("key_fingerprints", sa.column("purpose", sa.String), sa.column("fingerprint", sa.String))


def _fields(row):  # noqa: ANN001, ANN202
    return (row.at, row.actor, row.action, row.round_slug, row.detail)


def upgrade():
    from survey.auth.audit import (
        AUDIT_KEY_PURPOSE, GENESIS, audit_key, current_actor, entry_hash, key_fingerprint, legacy_entry_hash,
    )

    conn = op.get_bind()
    key = audit_key()
    conn.execute(sa.insert(key_fingerprints).values(purpose=AUDIT_KEY_PURPOSE, fingerprint=key_fingerprint()))
    rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).all()
    if not rows:
        return
    earlier = "whole"
    prev = GENESIS
    for row in rows:
        if row.prev_hash != prev or row.hash != legacy_entry_hash(row.prev_hash, *_fields(row)):
            earlier = f"broken at entry {row.id} before the carry-over"
            break
        prev = row.hash
    prev = GENESIS
    for row in rows:
        new = entry_hash(key, prev, *_fields(row))
        conn.execute(sa.update(audit_log).where(audit_log.c.id == row.id).values(prev_hash=prev, hash=new))
        prev = new
    at = datetime.now(timezone.utc)
    actor = current_actor()
    detail = json.dumps({"earlier_chain": earlier, "entries": len(rows)}, ensure_ascii=False, sort_keys=True,
                        separators=(",", ":"))
    conn.execute(sa.insert(audit_log).values(
        at=at, actor=actor, action="audit.rekey", round_slug=None, detail=detail, prev_hash=prev,
        hash=entry_hash(key, prev, at, actor, "audit.rekey", None, detail),
    ))


def downgrade():
    from survey.auth.audit import AUDIT_KEY_PURPOSE, GENESIS, legacy_entry_hash

    conn = op.get_bind()
    prev = GENESIS
    for row in conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).all():
        old = legacy_entry_hash(prev, *_fields(row))
        conn.execute(sa.update(audit_log).where(audit_log.c.id == row.id).values(prev_hash=prev, hash=old))
        prev = old
    conn.execute(sa.delete(key_fingerprints).where(key_fingerprints.c.purpose == AUDIT_KEY_PURPOSE))
