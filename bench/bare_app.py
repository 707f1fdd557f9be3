"""The baseline for ``bench/ballots.py``: the same two requests in bare Flask + sqlite3.

What a competent developer would write in an afternoon for one questionnaire: GET renders the
same questionnaire page (the project's markup and stylesheet, a session-held CSRF token and a
receipt in a hidden field), POST checks the CSRF token and every answer against the spec,
then inserts the ballot and its answers with the standard library's ``sqlite3`` in one
transaction and renders the receipt. No ORM, no WTForms, no ballot codes.

With ``BARE_MINIMAL=1`` the pages are minimal instead (the form's inputs and the receipt, no
markup or stylesheet around them): the same database work with as little page as possible, the
baseline an independent review measured against.

Run by the benchmark under gunicorn with the project's ``gunicorn.conf.py``::

    BARE_SPEC=spec.json BARE_DB=bare.db gunicorn -c gunicorn.conf.py --pythonpath bench 'bare_app:create_app()'
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import sqlite3
from datetime import date

from flask import Flask, abort, g, render_template, request, session
from jinja2 import DictLoader

SCHEMA = """
CREATE TABLE IF NOT EXISTS ballots (
    id TEXT PRIMARY KEY, receipt TEXT NOT NULL UNIQUE, cast_on TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS answers (
    ballot_id TEXT NOT NULL REFERENCES ballots(id), subject TEXT NOT NULL, item TEXT NOT NULL,
    level TEXT NOT NULL, PRIMARY KEY (ballot_id, subject, item)
) WITHOUT ROWID;
"""

BASE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{% block title %}{% endblock %}</title>
<style>
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font:16px/1.6 -apple-system,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:#222;background:#f4f4f2;overflow-wrap:break-word}
a{color:#0b57a4}
main{max-width:640px;margin:0 auto;padding:12px}
header.top{background:#a4161a;color:#fff;padding:10px 0}
header.top h1{font-size:18px;line-height:1.4;margin:0 auto;max-width:640px;padding:0 24px}
h2{font-size:18px;line-height:1.4;margin:0 0 6px}
.card{background:#fff;border-radius:8px;padding:14px 12px;margin:0 0 12px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card>:first-child,.card>form>:first-child{margin-top:0}
.card>:last-child,.card>form>:last-child{margin-bottom:0}
section.card>h2{color:#a4161a}
.promise{font-size:14px;line-height:1.5;color:#5c4a12;background:#faf6e9;border-left:3px solid #d4a017;border-radius:0 4px 4px 0;padding:6px 8px;margin:0 0 6px}
fieldset{border:0;border-top:1px solid #eee;margin:0;padding:10px 0 12px;min-width:0}
legend{float:left;width:100%;padding:0;font-weight:600;line-height:1.5}
legend+*{clear:both}
.opts{display:flex;flex-wrap:wrap;gap:6px;padding-top:8px}
.opts label{flex:1 1 0;min-width:3.9em;min-height:50px;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:2px;border:1px solid #c8c8c8;border-radius:8px;padding:5px 2px;font-size:15px;line-height:1.3;text-align:center;background:#fff;cursor:pointer}
.opts input{margin:0;width:18px;height:18px;accent-color:#a4161a}
.opts label.u{color:#666;background:#f7f7f5}
.opts label:has(input:checked){border-color:#a4161a;background:#fbeeee;color:#a4161a;font-weight:600;box-shadow:inset 0 0 0 1px #a4161a}
textarea{display:block;width:100%;min-height:4.5em;margin-top:8px;font:inherit;border:1px solid #ccc;border-radius:6px;padding:6px 8px;resize:vertical}
button{display:block;width:100%;min-height:48px;border:0;border-radius:8px;background:#a4161a;color:#fff;font:inherit;font-size:18px;font-weight:600;letter-spacing:2px;padding:12px;margin:8px 0;text-align:center;cursor:pointer}
.err{color:#b00020;font-size:14px}
.note{font-size:14px;color:#555}
#receipt{font:700 28px/1.4 ui-monospace,Menlo,Consolas,monospace;letter-spacing:3px;text-align:center;background:#f4f4f2;border-radius:8px;padding:8px}
footer{font-size:13px;line-height:1.5;color:#777;text-align:center;padding:8px 12px 20px}
</style>
</head>
<body>
<header class="top"><h1>{{ title }}</h1></header>
<main>
{% block content %}{% endblock %}
</main>
<footer>评议不记名 · 系统不记录您的身份、IP 地址或设备信息</footer>
</body>
</html>
"""

QUESTIONNAIRE = """{% extends "base.html" %}
{% block title %}{{ title }}{% endblock %}
{% block content %}
<div class="card"><p>您好！本次评议面向<b>{{ group_name }}</b>，不记名。请根据您的了解，对下列评议对象逐项作出评价；不了解的项目请选择“不了解”，它不计入得分。</p></div>
<form method="post" autocomplete="off">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<input type="hidden" name="ticket" value="{{ ticket }}">
{% for s in subjects %}<section class="card">
<h2>{{ s.name }}</h2>
{% if s.commitment %}<p class="promise">公开承诺：{{ s.commitment }}</p>{% endif %}
{% for it in items %}
<fieldset><legend>{{ it.text }}</legend><div class="opts">
{%- for key, label in choices %}<label{% if key == "unknown" %} class="u"{% endif %}><input type="radio" name="a:{{ s.code }}:{{ it.key }}" value="{{ key }}">{{ label }}</label>{% endfor -%}
</div></fieldset>
{% endfor %}
{% if comments %}<fieldset><legend>意见建议（选填，最多1000字）</legend>
<textarea name="c:{{ s.code }}" maxlength="1000"></textarea></fieldset>{% endif %}
</section>
{% endfor %}
<button type="submit">提交评议</button>
<p class="note">提交后会显示回执码。结果公布后，可凭回执码核对您的评议已被计入。</p>
</form>
{% endblock %}
"""

RECEIPT = """{% extends "base.html" %}
{% block title %}提交成功 · {{ title }}{% endblock %}
{% block content %}
<div class="card">
<h2>提交成功，感谢您的参与！</h2>
<p>您的回执码：</p>
<p id="receipt">{{ receipt }}</p>
<p class="note">请截图或记下回执码。评议结果公布后，可在回执核对页查到它，确认您的评议已被计入。</p>
</div>
{% endblock %}
"""

MINIMAL_QUESTIONNAIRE = """<!doctype html><title>{{ title }}</title><form method="post">
<input type="hidden" name="csrf_token" value="{{ csrf }}"><input type="hidden" name="ticket" value="{{ ticket }}">
{% for s in subjects %}{% for it in items %}{% for key, label in choices %}<input type="radio" name="a:{{ s.code }}:{{ it.key }}" value="{{ key }}">{% endfor %}{% endfor %}{% endfor %}
<button>提交</button></form>"""

MINIMAL_RECEIPT = """<!doctype html><title>{{ title }}</title><p id="receipt">{{ receipt }}</p>"""

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def create_app() -> Flask:
    with open(os.environ["BARE_SPEC"], encoding="utf-8") as f:
        spec = json.load(f)
    db_path = os.environ["BARE_DB"]
    init = sqlite3.connect(db_path)
    init.execute("PRAGMA journal_mode=WAL")
    init.executescript(SCHEMA)
    init.close()

    app = Flask(__name__)
    app.secret_key = os.environ.get("BARE_SECRET", "bare-secret")
    if os.environ.get("BARE_MINIMAL"):
        app.jinja_loader = DictLoader({"questionnaire.html": MINIMAL_QUESTIONNAIRE, "receipt.html": MINIMAL_RECEIPT})
    else:
        app.jinja_loader = DictLoader({"base.html": BASE, "questionnaire.html": QUESTIONNAIRE, "receipt.html": RECEIPT})
    slug, group = spec["slug"], spec["groups"][0]
    levels = spec["scale"]["levels"]
    choices = [(lv["key"], lv["label"]) for lv in levels] + [("unknown", "不了解")]
    allowed = {key for key, _ in choices}
    answer_names = {f"a:{s['code']}:{it['key']}": (s["code"], it["key"]) for s in spec["subjects"] for it in spec["items"]}
    comment_names = {f"c:{s['code']}" for s in spec["subjects"]} if spec.get("comments") else set()
    page = {
        "title": spec["title"], "group_name": group["name"], "subjects": spec["subjects"],
        "items": spec["items"], "choices": choices, "comments": bool(spec.get("comments")),
    }

    def connection() -> sqlite3.Connection:
        if "db" not in g:
            g.db = sqlite3.connect(db_path, timeout=10)
            g.db.execute("PRAGMA synchronous=NORMAL")
        return g.db

    @app.teardown_appcontext
    def close(exc: BaseException | None) -> None:
        conn = g.pop("db", None)
        if conn is not None:
            conn.close()

    @app.route(f"/r/{slug}/{group['key']}", methods=["GET", "POST"])
    def questionnaire():  # noqa: ANN202
        if request.method == "GET":
            session.setdefault("csrf", secrets.token_hex(16))
            ticket = "".join(secrets.choice(ALPHABET) for _ in range(8))
            return render_template("questionnaire.html", csrf=session["csrf"], ticket=ticket, **page)
        form = request.form
        if not hmac.compare_digest(form.get("csrf_token", ""), session.get("csrf", "-")):
            abort(400)
        ticket = form.get("ticket", "")
        if len(ticket) != 8 or any(ch not in ALPHABET for ch in ticket):
            abort(400)
        rows = []
        for name in form:
            values = form.getlist(name)
            if len(values) != 1:
                abort(400)
            if name in answer_names:
                if values[0] not in allowed:
                    abort(400)
                rows.append(answer_names[name] + (values[0],))
            elif name in comment_names:
                if len(values[0]) > 1000:
                    abort(400)
            elif name not in ("csrf_token", "ticket"):
                abort(400)
        if not rows:
            abort(422)
        ballot_id = secrets.token_hex(16)
        conn = connection()
        with conn:
            conn.execute("INSERT INTO ballots VALUES (?, ?, ?)", (ballot_id, ticket, date.today().isoformat()))
            conn.executemany(
                "INSERT INTO answers VALUES (?, ?, ?, ?)", [(ballot_id, *row) for row in rows]
            )
        return render_template("receipt.html", receipt=f"{ticket[:4]}-{ticket[4:]}", title=spec["title"])

    return app
