"""The audit log: an append-only chain of what console users and commands did.

Each entry's ``hash`` is an HMAC-SHA256, under the audit key, of the previous entry's hash and
this entry's fields. The key is kept apart from the database (``SURVEY_AUDIT_KEY`` or
``instance/audit_key``), so whoever can write the database but does not hold the key cannot
recompute the chain after changing, inserting or removing an entry: the chain breaks from that
point on, and ``verify_chain`` names the first entry where it breaks. Removing the newest
entries leaves a shorter chain that is still whole; that is caught by the *head*, the count
and hash of the newest entry, which each lifecycle move prints and each export carries:
``verify_chain`` checks the log against a head it is given.

Nothing about respondents is ever recorded here: no code, no ballot, no answer, no address of
a phone.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flask import current_app, has_request_context
from sqlalchemy import func, select, text

from ..errors import ServiceError
from ..extensions import db
from ..models import AuditEntry, KeyFingerprint

GENESIS = "0" * 64
#: the row of ``key_fingerprints`` naming the key the log is chained under
AUDIT_KEY_PURPOSE = "audit-log"
#: hex digits of the head's hash that are printed and written down (64 bits)
HEAD_DIGITS = 16

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
    "link.pause": "暂停开放链接",
    "link.resume": "恢复开放链接",
    "org.ratings": "录入组织评价",
    "export": "导出数据",
    "scorecard.download": "下载评议结果",
    "settings.change": "修改设置",
    "backup": "备份数据库",
    "restore": "从备份恢复数据库",
    "audit.rekey": "审计日志改用密钥链（此前的记录已在密钥下重新计算）",
}


class AuditKeyMismatch(ServiceError):
    """The configured audit key is not the one the log was chained under."""

    http_status = 503


def audit_key() -> bytes:
    """The HMAC key of the chain, derived from the configured ``AUDIT_KEY``."""
    configured = str(current_app.config["AUDIT_KEY"])
    return hmac.new(configured.encode(), b"audit-log-v1", hashlib.sha256).digest()


def key_fingerprint() -> str:
    """A fingerprint of the audit key: tells keys apart, reveals nothing of the key."""
    return hmac.new(audit_key(), b"fingerprint", hashlib.sha256).hexdigest()[:16]


def key_problem() -> str | None:
    """Why the configured audit key cannot continue this log, or None when it can."""
    stored = db.session.get(KeyFingerprint, AUDIT_KEY_PURPOSE)
    if stored is None or stored.fingerprint == key_fingerprint():
        return None
    return (
        f"the audit key (SURVEY_AUDIT_KEY or instance/audit_key) has fingerprint {key_fingerprint()}, "
        f"but this audit log is chained under {stored.fingerprint}: restore the original key"
    )


def _stamp(moment: datetime) -> str:
    """The time as hashed: UTC, microseconds; SQLite hands stored times back without offset."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _payload(prev_hash: str, at: datetime, actor: str | None, action: str, round_slug: str | None, detail: str) -> bytes:
    return json.dumps(
        [prev_hash, _stamp(at), actor, action, round_slug, detail], ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


def entry_hash(key: bytes, prev_hash: str, at: datetime, actor: str | None, action: str, round_slug: str | None,
               detail: str) -> str:
    """HMAC-SHA256 under ``key`` of the previous hash and the entry's fields."""
    return hmac.new(key, _payload(prev_hash, at, actor, action, round_slug, detail), hashlib.sha256).hexdigest()


def legacy_entry_hash(prev_hash: str, at: datetime, actor: str | None, action: str, round_slug: str | None,
                      detail: str) -> str:
    """The unkeyed SHA-256 the log was chained with before the audit key: read only when a log
    kept that way is checked and carried over (re-keyed) by the migration that brought the key."""
    return hashlib.sha256(_payload(prev_hash, at, actor, action, round_slug, detail)).hexdigest()


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
    _check_or_record_key()
    last = db.session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    prev = last or GENESIS
    at = datetime.now(timezone.utc)
    who = actor if actor is not None else current_actor()
    body = json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    entry = AuditEntry(
        at=at, actor=who, action=action, round_slug=round_slug, detail=body, prev_hash=prev,
        hash=entry_hash(audit_key(), prev, at, who, action, round_slug, body),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _check_or_record_key() -> None:
    problem = key_problem()
    if problem:
        raise AuditKeyMismatch(f"审计日志的密钥与此前不一致，操作未执行（{problem}）")
    if db.session.get(KeyFingerprint, AUDIT_KEY_PURPOSE) is None:
        db.session.add(KeyFingerprint(purpose=AUDIT_KEY_PURPOSE, fingerprint=key_fingerprint()))


@dataclass(frozen=True)
class Head:
    """The newest entry of the log: how many entries there are, and its hash. Written down
    at each lifecycle move (and carried by exports), it lets ``audit verify --head`` notice
    newest entries removed, which leave a shorter chain that is still whole."""

    count: int
    hash: str

    def __str__(self) -> str:
        return f"{self.count}:{self.hash[:HEAD_DIGITS]}"

    @classmethod
    def parse(cls, text: str) -> Head:
        """``COUNT:HASH`` as printed (the hash's first 16 hex digits, or more of them)."""
        count, sep, digest = text.strip().partition(":")
        digest = digest.lower()
        if (not sep or not count.isdigit() or len(digest) < HEAD_DIGITS or len(digest) > 64
                or any(c not in "0123456789abcdef" for c in digest)):
            raise ValueError(f"not a head COUNT:HASH with at least {HEAD_DIGITS} hex digits: {text!r}")
        return cls(int(count), digest)


def head() -> Head:
    """The log's head as it stands in this session (count of entries, newest entry's hash)."""
    count = db.session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    last = db.session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    return Head(count, last or GENESIS)


def head_line(current: Head | None = None) -> str:
    """The head in one line, for the person who should write it down."""
    current = current or head()
    return (f"audit log head {current} (note it down: "
            f"flask --app survey audit verify --head {current} later proves no entry up to here was removed)")


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int | None
    reason: str

    def __str__(self) -> str:
        if self.entry_id is None:
            return f"audit log broken: {self.reason}"
        return f"audit log broken at entry {self.entry_id}: {self.reason}"


def verify_chain(expected: Head | None = None) -> tuple[int, ChainBreak | None]:
    """Walk the log in order under the audit key; returns (entries checked, the first break or
    None). With ``expected``, the entry at that place must carry that hash: entries removed
    from the end are a break too."""
    problem = key_problem()
    if problem:
        return 0, ChainBreak(None, problem)
    key = audit_key()
    prev = GENESIS
    count = 0
    last_id = None
    for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000):
        if entry.prev_hash != prev:
            return count, ChainBreak(entry.id, "it does not follow the entry before it (an entry was removed, inserted or changed)")
        wanted = entry_hash(key, entry.prev_hash, entry.at, entry.actor, entry.action, entry.round_slug, entry.detail)
        if not hmac.compare_digest(entry.hash, wanted):
            return count, ChainBreak(entry.id, "its content no longer matches its hash (it was changed)")
        prev = entry.hash
        count += 1
        last_id = entry.id
        if expected is not None and count == expected.count and not entry.hash.startswith(expected.hash):
            return count - 1, ChainBreak(entry.id, f"it is entry number {count} but does not carry the hash of the "
                                                   f"head given ({expected}): the log was rewritten up to here")
    if expected is not None and count < expected.count:
        after = f"after entry {last_id}" if last_id is not None else "from its first entry"
        return count, ChainBreak(
            None, f"the head given ({expected}) is entry number {expected.count}, but the log holds {count} "
                  f"entries: the newest {expected.count - count} were removed ({after})",
        )
    return count, None


def describe(entry: AuditEntry) -> dict[str, Any]:
    """An entry for display: the action in words and its details decoded."""
    try:
        detail = json.loads(entry.detail or "{}")
    except ValueError:
        detail = {"raw": entry.detail}
    return {"entry": entry, "action": ACTIONS.get(entry.action, entry.action), "detail": detail}
