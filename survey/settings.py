"""Settings of the installation, kept in its database: above all the public address that
QR codes, slips and code lists point at.

The address comes from, in order: the stored setting (``flask --app survey config
set-base-url URL``, or the console's settings page), else ``SURVEY_BASE_URL``, else
``http://localhost:5000``. A code or poster made under a loopback address works only on the
machine that made it, so the CLI refuses and the console warns before issuing under one.
"""

from __future__ import annotations

import ipaddress
import re
import time
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .errors import ServiceError
from .extensions import db
from .hosts import is_loopback_host
from .models import Setting

BASE_URL_KEY = "base_url"


class SettingRefused(ServiceError):
    pass


def stored(key: str) -> str | None:
    return db.session.scalar(select(Setting.value).where(Setting.key == key))


def public_base_url() -> str:
    """The address phones reach this service at, without a trailing slash."""
    return (stored(BASE_URL_KEY) or str(current_app.config["BASE_URL"])).rstrip("/")


#: how long a process trusts what it read of the public address's scheme (seconds): another
#: process that stores a new address is followed within this time
_SCHEME_TTL = 10.0


def serves_https() -> bool:
    """Whether the public address is https: the one rule for every cookie's ``Secure`` flag
    (the console's, the phone pages' session, the once-per-device mark). Read from
    ``public_base_url``, so an address stored with ``config set-base-url https://…`` counts,
    not only ``SURVEY_BASE_URL``."""
    now = time.monotonic()
    seen = current_app.extensions.get("survey.scheme")
    if seen is None or now - seen[0] > _SCHEME_TTL:
        try:
            seen = (now, public_base_url().startswith("https://"))
        except SQLAlchemyError:
            # the database is out of reach (``/healthz`` answering 503, say): the configured
            # address decides this response's cookies, and the next request reads again
            db.session.rollback()
            return str(current_app.config["BASE_URL"]).startswith("https://")
        current_app.extensions["survey.scheme"] = seen
    return seen[1]


def forget_scheme() -> None:
    """After the public address was stored: this process reads it afresh."""
    current_app.extensions.pop("survey.scheme", None)


def base_url_source() -> str:
    """Where ``public_base_url`` comes from, in words."""
    return "stored setting" if stored(BASE_URL_KEY) else "SURVEY_BASE_URL or the default"


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine only (localhost, 127.x.x.x, ::1)."""
    return is_loopback_host(urlsplit(url).hostname)


def loopback_warning(url: str | None = None) -> str | None:
    """A warning when codes or posters would carry an address only this machine reaches."""
    url = url or public_base_url()
    if not is_loopback(url):
        return None
    return (
        f"公共地址是 {url}，只有本机能打开：用它生成的二维码和评议码，参评人的手机无法访问。"
        "请先在“设置”中填写手机能访问的地址（或运行 flask --app survey config set-base-url URL）。"
        f" (the public address {url} is a loopback address: phones cannot reach it)"
    )


#: what a path of the public address may hold (RFC 3986's unreserved and sub-delimiters, ``:@/%``)
_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")
#: a host name's label after IDNA encoding
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the public address printed into QR codes, or None.

    Control characters (a NUL cannot even be stored by PostgreSQL), spaces, brackets outside an
    IPv6 address and other characters that no valid URL holds are refused here, before
    anything parses or stores them; as are a user name or password, a query and a fragment.
    """
    if any(ord(ch) < 0x21 or 0x7F <= ord(ch) <= 0x9F for ch in url):
        return "含有控制字符或空白（contains a control character or a space）"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", a port that is not a number
        return f"不是有效的网址（{exc}）"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "须以 http:// 或 https:// 开头，后接主机名"
    if parts.username is not None or parts.password is not None:
        return "不能含用户名或密码"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return "不能含查询参数（?）或片段（#）"
    if not _PATH.fullmatch(parts.path) or re.search(r"%(?![0-9A-Fa-f]{2})", parts.path):
        return "路径中含有网址不允许的字符"
    host = parts.hostname
    netloc_host = parts.netloc.rpartition("@")[2]
    if netloc_host.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return f"方括号中须为 IPv6 地址，而不是 {host!r}"
    else:
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return f"主机名 {host!r} 无效"
        if not all(_LABEL.fullmatch(label) for label in ascii_host.rstrip(".").split(".")):
            return f"主机名 {host!r} 含有不允许的字符"
    if port is not None and not 0 < port < 65536:
        return f"端口 {port} 无效"
    return None


def set_base_url(url: str) -> str:
    """Store the public address (http or https, a host, no query); returns it as stored."""
    url = url.strip().rstrip("/")
    problem = base_url_problem(url)
    if problem:
        raise SettingRefused(f"公共地址须为 http:// 或 https:// 开头的有效网址，例如 https://pingyi.example.edu.cn；"
                             f"{url!r} {problem}")
    setting = db.session.get(Setting, BASE_URL_KEY)
    if setting is None:
        db.session.add(Setting(key=BASE_URL_KEY, value=url))
    else:
        setting.value = url
    db.session.flush()
    forget_scheme()
    from .auth import audit

    audit.record("settings.change", setting=BASE_URL_KEY, value=url)
    return url
