"""What every response gets: security headers, gzip, Chinese error pages, and logs that never
show a ballot code; plus two refusals at the door: route parameters no page can have (404), and
the interactive debugger on an address others can reach."""

from __future__ import annotations

import gzip
import logging
import re

import click
from flask import Flask, Response, abort, render_template, request
from flask_wtf.csrf import CSRFError

from .errors import ServiceError
from .hosts import is_loopback_host

#: a ballot code in a URL: the path ``/b/<code>`` (``b`` perhaps percent-encoded, as a raw
#: request line may carry it) or the entry form's ``?code=...``; and the token of a 监票人's
#: one-time key page ``/k/<token>``, which a log reader could otherwise use first
_CODE_IN_URL = re.compile(r"(/(?:b|k|%62|%42|%6b|%4b)/)[^\s?\"/]+|([?&]code=)[^\s&\"]*", re.IGNORECASE)
#: longer than any slug, group key or code a page has: refused before a query sees it
ROUTE_VALUE_MAX = 200

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
    """Blank ``/b/<code>`` and ``?code=`` in log records: in the message, its arguments and the
    traceback text (Flask logs ``Exception on /b/<code> [POST]`` when a page fails)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):  # in place: gunicorn passes a dict subclass
            for key, value in list(record.args.items()):
                if isinstance(value, str):
                    record.args[key] = redact(value)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def redacting(logger: logging.Logger | logging.Handler) -> None:
    """Put the redaction filter on a logger or handler, once."""
    if not any(isinstance(f, RedactBallotCodes) for f in logger.filters):
        logger.addFilter(RedactBallotCodes())


def redact(text: str) -> str:
    """``text`` with every ballot code in a URL replaced by ``***``."""
    return _CODE_IN_URL.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


def install(app: Flask) -> None:
    refuse_public_debugger(app)
    refuse_wrong_code_key_on_run(app)
    # a filter on a logger sees only records logged to it; one on a handler sees every record
    # that reaches it: both, for the loggers and handlers this process has
    from flask.logging import default_handler

    for logger in (logging.getLogger("werkzeug"), app.logger, logging.getLogger("gunicorn.error")):
        redacting(logger)
    for handler in (default_handler, *logging.getLogger().handlers, *app.logger.handlers):
        redacting(handler)

    @app.url_value_preprocessor
    def plausible_route_values(endpoint: str | None, values: dict | None) -> None:
        """A NUL (PostgreSQL refuses it in a query) or an overlong value is no page: 404."""
        for value in (values or {}).values():
            if isinstance(value, str) and ("\x00" in value or len(value) > ROUTE_VALUE_MAX):
                abort(404)

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
    return render_template(message_template(), title=getattr(exc, "title", "操作未完成"), text=str(exc)), exc.http_status


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




def refuse_public_debugger(app: Flask) -> None:
    """``flask run --debug --host 0.0.0.0`` would give anyone who reaches the port tracebacks and
    a Python console: refused, in one line, before the server starts."""
    from flask.cli import get_debug_flag

    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.info_name != "run" or "host" not in ctx.params:
        return
    debugger = ctx.params.get("debugger")
    if debugger is None:
        debugger = get_debug_flag()
    host = str(ctx.params.get("host") or "127.0.0.1")
    if debugger and not is_loopback_host(host):
        raise click.UsageError(
            f"refusing --debug on {host}: the debugger shows tracebacks and a console to anyone who "
            "can reach it; use --host 127.0.0.1, or leave out --debug"
        )


def refuse_wrong_code_key_on_run(app: Flask) -> None:
    """``flask run`` under a code key other than the one the codes were issued under would turn
    every printed code away: refused before the server starts (gunicorn refuses in its
    ``on_starting`` hook; any server answers ballot pages 503 in that case)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.info_name != "run" or "host" not in ctx.params:
        return
    from .codes.services import startup_check

    problem = startup_check(app)
    if problem:
        raise click.UsageError(f"refusing to start: {problem}")
