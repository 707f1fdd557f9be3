"""Accounts and sign-in: the rules the CLI and the console's admin pages share.

Passwords are hashed with werkzeug's scrypt (salted, memory-hard) and never stored, logged or
audited in clear. Wrong passwords are counted once for the installation (``survey.counters``),
so the throttle holds across every worker process and machine that shares the database.

The throttle follows OWASP's authentication guidance: it locks an account *from the address
that failed*, so that nobody can lock an organizer out from elsewhere by typing wrong
passwords for their name. Two far higher limits stop guessing spread out: over many addresses
at one account, and from one address over many accounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import counters
from ..counters import Window
from ..errors import Conflict, NotFound, ServiceError
from ..extensions import db
from ..models import Role, User
from ..rounds.services import get_round
from . import audit

PASSWORD_MIN = 8
PASSWORD_MAX = 256
USERNAME = re.compile(r"[^\s\x00-\x1f\x7f]{1,64}")

#: the defaults of the limits (config: SIGN_IN_LIMIT, SIGN_IN_ACCOUNT_LIMIT, SIGN_IN_ADDRESS_LIMIT,
#: SIGN_IN_WINDOW): wrong passwords for one account from one address within the window before
#: that account answers 429 from that address
LIMIT = 5
#: wrong passwords for one account from any addresses within the window
ACCOUNT_LIMIT = 100
#: wrong passwords from one address, for any accounts, within the window
ADDRESS_LIMIT = 50
WINDOW_SECONDS = 15 * 60

#: checked against when the name is unknown, so both cases take the same time
_DUMMY_HASH = generate_password_hash("not-a-password-of-anyone", method="scrypt")


class AccountRefused(ServiceError):
    """The account cannot be created or changed as asked."""


class SignInThrottled(ServiceError):
    """Too many wrong passwords: sign-in is refused for a while, even with the right one."""

    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _hash(password: str) -> str:
    check_password(password)
    return generate_password_hash(password, method="scrypt")


def check_password(password: str) -> None:
    """Refuse a password too short or too long to be kept."""
    if len(password) < PASSWORD_MIN:
        raise AccountRefused(f"密码至少需要 {PASSWORD_MIN} 个字符 (password: at least {PASSWORD_MIN} characters)")
    if len(password) > PASSWORD_MAX:
        raise AccountRefused(f"密码最多 {PASSWORD_MAX} 个字符 (password: at most {PASSWORD_MAX} characters)")


def get_user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"没有账户“{username}” (no account {username!r})")
    return user


def _round(slug: str):  # noqa: ANN202
    """The round named ``slug``, or a refusal in words an administrator reads in the console."""
    try:
        return get_round(slug)
    except NotFound:
        raise NotFound(f"没有标识为“{slug}”的评议 (no round {slug!r})") from None


def create_user(username: str, role: str, password: str, rounds: list[str] | None = None) -> User:
    """A new account; ``rounds`` (slugs) only for reviewers."""
    username = username.strip()
    if not USERNAME.fullmatch(username):
        raise AccountRefused("用户名为 1–64 个字符，不含空格 (username: 1–64 characters, no spaces)")
    try:
        role_ = Role(role)
    except ValueError:
        raise AccountRefused(f"角色应为管理员、组织者或评阅人 (role must be admin, organizer or reviewer, not {role!r})") from None
    if rounds and role_ is not Role.reviewer:
        raise AccountRefused("只有评阅人需要分配评议；管理员和组织者能看到全部评议 "
                             "(only a reviewer is assigned rounds (--rounds); admins and organizers see every round)")
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"账户 {username!r} 已存在 (an account {username!r} already exists)")
    user = User(username=username, role=role_.value, password_hash=_hash(password), active=True, session_epoch=0)
    user.rounds = [_round(slug) for slug in dict.fromkeys(rounds or [])]
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", username=username, role=role_.value, rounds=[r.slug for r in user.rounds])
    return user


def assign_round(username: str, slug: str) -> User:
    user = get_user(username)
    if user.role != Role.reviewer.value:
        raise AccountRefused(f"“{username}”不是评阅人，无需分配评议 ({username!r} is {user.role}: only reviewers are assigned rounds)")
    round_ = _round(slug)
    if round_ not in user.rounds:
        user.rounds.append(round_)
        db.session.flush()
        audit.record("user.assign", round_slug=slug, username=username)
    return user


def unassign_round(username: str, slug: str) -> User:
    user = get_user(username)
    round_ = _round(slug)
    if round_ in user.rounds:
        user.rounds.remove(round_)
        db.session.flush()
        audit.record("user.unassign", round_slug=slug, username=username)
    return user


def disable_user(username: str) -> User:
    """No more sign-ins; sessions already open end at their next request (the epoch moves)."""
    user = get_user(username)
    if user.active:
        user.active = False
        user.session_epoch += 1
        db.session.flush()
        audit.record("user.disable", username=username)
    return user


def enable_user(username: str) -> User:
    user = get_user(username)
    if not user.active:
        user.active = True
        db.session.flush()
        audit.record("user.enable", username=username)
    return user


def set_password(username: str, password: str) -> User:
    """A new password; the account's open sessions end."""
    user = get_user(username)
    user.password_hash = _hash(password)
    user.session_epoch += 1
    db.session.flush()
    audit.record("user.password", username=username)
    return user


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    message: str = ""


def _sign_in_counts(username: str, address: str) -> list[tuple[str, str, Window]]:
    """The three counts a sign-in is held to: the account from this address, the account from
    anywhere, this address for any account."""
    config = current_app.config
    seconds = int(config["SIGN_IN_WINDOW"])
    return [
        ("sign-in", counters.client_key("sign-in", username, address), Window(seconds, int(config["SIGN_IN_LIMIT"]))),
        ("sign-in-account", counters.client_key("sign-in-account", username),
         Window(seconds, int(config["SIGN_IN_ACCOUNT_LIMIT"]))),
        ("sign-in-address", counters.client_key("sign-in-address", address),
         Window(seconds, int(config["SIGN_IN_ADDRESS_LIMIT"]))),
    ]


def sign_in(username: str, password: str, address: str) -> SignInResult:
    """Check a sign-in. Raises ``SignInThrottled`` (before looking at the password) when this
    account from this address, this account from anywhere, or this address over all accounts
    has had too many wrong passwords lately.

    The attempt is counted before the password is checked, in a transaction of its own, so
    that guesses sent at the same moment cannot pass a limit together; a right password then
    takes it back and clears this account's count from this address. The audit entry goes in
    the caller's unit of work; the counts are written before it, never inside it.
    """
    username = username.strip()[:64]
    address = (address or "unknown")[:64]
    counts = _sign_in_counts(username, address)
    slots = counters.take_all(counts)
    if slots is None:
        seconds = counts[0][2].seconds
        raise SignInThrottled(f"密码错误次数过多，请 {seconds // 60} 分钟后再试。", seconds)
    user = db.session.scalar(select(User).where(User.username == username)) if username else None
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        audit.record("sign_in_failed", actor=username or "-", address=address,
                     reason="disabled" if (user is not None and ok) else "wrong name or password")
        if user is not None and ok and not user.active:
            return SignInResult(None, "该账户已停用，请联系管理员。")
        return SignInResult(None, "用户名或密码不正确。")
    counters.give_back(slots[1:])  # a right password was no guess
    counters.forget(slots[0].kind, slots[0].key)
    user.last_sign_in_at = datetime.now(timezone.utc)
    audit.record("sign_in", actor=username, address=address)
    return SignInResult(user)
