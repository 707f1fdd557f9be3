"""What every response gets: security headers, gzip, Chinese error pages, and access logs
that never show a ballot code beside an address."""

from __future__ import annotations

import gzip
import logging
import re

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError

from .errors import ServiceError

#: a ballot code in a URL: the path ``/b/<code>`` or the entry form's ``?code=...``
_CODE_IN_URL = re.compile(r"(/b/)[^\s?\"/]+|([?&]code=)[^\s&\"]*")

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


#: error → (status, title, text): respondents read these on a phone, so they are in Chinese
ERROR_PAGES: dict[type[Exception] | int, tuple[int, str, str]] = {
    CSRFError: (400, "页面已过期", "页面已过期或缺少校验信息，请刷新问卷页面后重新提交。"),
    403: (403, "没有权限", "您的账户没有权限做这件事或查看这个页面。"),
    404: (404, "页面不存在", "没有找到这个页面，请核对二维码或链接。"),
    405: (405, "不支持的操作", "这个页面不支持此操作。"),
    413: (413, "提交内容过长", "提交的内容太长，请精简意见建议后重新提交。"),
    500: (500, "系统繁忙", "系统暂时出现问题，您的评议未被保存，请稍后重试。"),
}


class RedactBallotCodes(logging.Filter):
    """Blank ``/b/<code>`` in log lines: the dev server logs the client address beside the path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def redact(text: str) -> str:
    """``text`` with every ballot code in a URL replaced by ``***``."""
    return _CODE_IN_URL.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


def install(app: Flask) -> None:
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactBallotCodes) for f in logger.filters):
        logger.addFilter(RedactBallotCodes())

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.path.startswith(("/b/", "/r/")):
            response.headers["Cache-Control"] = "no-store"
        return _gzip(response)

    for error, (status, title, text) in ERROR_PAGES.items():
        app.register_error_handler(error, _message_page(status, title, text))
    app.register_error_handler(ServiceError, _service_refusal)


#: blueprint → the template its error messages are shown in (default: the phone pages' one)
MESSAGE_TEMPLATES: dict[str, str] = {}


def message_template() -> str:
    """The message page of the blueprint that handled the request: a console page's error
    keeps the console's layout, a phone page's the phone's."""
    return MESSAGE_TEMPLATES.get(request.blueprint or "", "respond/message.html")


def _message_page(status: int, title: str, text: str):  # noqa: ANN202
    def handler(exc: Exception):  # noqa: ANN202
        return render_template(message_template(), title=title, text=text), status

    return handler


def _service_refusal(exc: ServiceError):  # noqa: ANN202
    """A service refused inside a request: its message, with the status its class carries.

    The unit of work has already rolled back whatever the request had begun."""
    from .extensions import db

    db.session.rollback()
    return render_template(message_template(), title="操作未完成", text=str(exc)), exc.http_status


def _gzip(response: Response) -> Response:
    """Compress HTML: phones on weak connections inside WeChat pay for every byte."""
    if (
        response.direct_passthrough
        or response.status_code < 200
        or "gzip" not in request.headers.get("Accept-Encoding", "").lower()
        or "Content-Encoding" in response.headers
        or not (response.mimetype or "").startswith(("text/", "application/json"))
    ):
        return response
    body = response.get_data()
    if len(body) < 500:
        return response
    response.set_data(gzip.compress(body, compresslevel=6, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    return response
