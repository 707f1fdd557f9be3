"""Settings of the installation, kept in its database: above all the public address that
QR codes, slips and code lists point at.

The address comes from, in order: the stored setting (``flask --app survey config
set-base-url URL``, or the console's settings page), else ``SURVEY_BASE_URL``, else
``http://localhost:5000``. A code or poster made under a loopback address works only on the
machine that made it, so the CLI refuses and the console warns before issuing under one.
"""

from __future__ import annotations

import ipaddress
import time
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from .errors import ServiceError
from .extensions import db
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
        seen = (now, public_base_url().startswith("https://"))
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
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


def set_base_url(url: str) -> str:
    """Store the public address (http or https, a host, no query); returns it as stored."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingRefused(f"公共地址须为 http:// 或 https:// 开头的网址，例如 https://pingyi.example.edu.cn，而不是 {url!r}")
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
