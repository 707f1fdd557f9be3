"""The audit log: an append-only chain of what console users and commands did.

Each entry's ``hash`` is SHA-256 over the previous entry's hash and this entry's fields, so an
entry changed, removed or inserted in the database breaks the chain from that point on, and
``verify_chain`` names the first entry where it breaks. Nothing about respondents is ever
recorded here: no code, no ballot, no answer, no address of a phone.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flask import has_request_context
from sqlalchemy import select, text

from ..extensions import db
from ..models import AuditEntry

GENESIS = "0" * 64

#: action key → what it means, in Chinese, for the console's log page
ACTIONS: dict[str, str] = {
    "sign_in": "登录",
    "sign_in_failed": "登录失败",
    "sign_in_throttled": "登录被限制（尝试过多）",
    "sign_out": "退出登录",
    "user.create": "创建账户",
    "user.disable": "停用账户",
    "user.enable": "启用账户",
    "user.password": "重设密码",
    "user.assign": "分配评阅轮次",
    "user.unassign": "取消评阅轮次",
    "round.create": "创建评议",
    "round.edit": "修改评议",
    "round.delete": "删除草稿",
    "round.open": "开始评议",
    "round.close": "结束评议",
    "round.publish": "公布结果",
    "codes.issue": "发放评议码",
    "codes.void": "作废未用评议码",
    "qr.download": "下载二维码",
    "org.ratings": "录入组织评价",
    "export": "导出数据",
    "scorecard.download": "下载评议结果",
    "settings.change": "修改设置",
}


def _stamp(moment: datetime) -> str:
    """The time as hashed: UTC, microseconds; SQLite hands stored times back without offset."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(prev_hash: str, at: datetime, actor: str | None, action: str, round_slug: str | None, detail: str) -> str:
    payload = json.dumps(
        [prev_hash, _stamp(at), actor, action, round_slug, detail], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def current_actor() -> str:
    """Who is acting: the signed-in console user, else the shell user running a command."""
    if has_request_context():
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            return current_user.username
        return "anonymous"
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001  (no user name in some containers)
        return "cli"


def record(action: str, *, round_slug: str | None = None, actor: str | None = None, **detail: Any) -> AuditEntry:
    """Append an entry in the caller's unit of work: it commits with what it records."""
    if db.engine.dialect.name == "postgresql":
        # one appender at a time, until its transaction ends: two cannot chain after one entry
        db.session.execute(text("SELECT pg_advisory_xact_lock(7262001)"))
    last = db.session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    prev = last or GENESIS
    at = datetime.now(timezone.utc)
    who = actor if actor is not None else current_actor()
    body = json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    entry = AuditEntry(
        at=at, actor=who, action=action, round_slug=round_slug, detail=body, prev_hash=prev,
        hash=entry_hash(prev, at, who, action, round_slug, body),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    reason: str

    def __str__(self) -> str:
        return f"audit log broken at entry {self.entry_id}: {self.reason}"


def verify_chain() -> tuple[int, ChainBreak | None]:
    """Walk the log in order; returns (entries checked, the first break or None)."""
    prev = GENESIS
    count = 0
    for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        if entry.prev_hash != prev:
            return count, ChainBreak(entry.id, "it does not follow the entry before it (an entry was removed, inserted or changed)")
        expected = entry_hash(entry.prev_hash, entry.at, entry.actor, entry.action, entry.round_slug, entry.detail)
        if entry.hash != expected:
            return count, ChainBreak(entry.id, "its content no longer matches its hash (it was changed)")
        prev = entry.hash
        count += 1
    return count, None


def describe(entry: AuditEntry) -> dict[str, Any]:
    """An entry for display: the action in words and its details decoded."""
    try:
        detail = json.loads(entry.detail or "{}")
    except ValueError:
        detail = {"raw": entry.detail}
    return {"entry": entry, "action": ACTIONS.get(entry.action, entry.action), "detail": detail}
