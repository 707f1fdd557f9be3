"""The round builder's console pages: a new round from a template or a copy, the builder
form of a draft, the spec as JSON (download and upload), deleting a draft."""

from __future__ import annotations

import json
import re

from flask import Response, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from scoring.input_limits import InputTooLarge, load_json_text

from ..auth.access import requires, round_for
from ..console import bp
from ..database import unit_of_work
from ..errors import Forbidden, ServiceError
from ..extensions import db
from ..models import Round
from .builder import (
    SCALE_CHOICES,
    SCHEME_HELP,
    BuilderErrors,
    BuilderRefused,
    chinese,
    create_round,
    delete_draft,
    effective_shares,
    form_values,
    shares_words,
    issued_codes,
    new_round_spec,
    replace_spec,
    spec_from_form,
    spec_json,
)
from ..timefmt import beijing_today
from .builtin import TEMPLATES
from .services import SpecRefused

SLUG = re.compile(r"[A-Za-z0-9_-]{1,32}")


@bp.route("/rounds/new", methods=["GET", "POST"])
@requires("manage_rounds")
def new_round():  # noqa: ANN201
    rounds = db.session.scalars(select(Round).order_by(Round.id.desc())).all()
    errors = BuilderErrors()
    if request.method == "POST":
        slug = request.form.get("slug", "").strip()
        title = request.form.get("title", "").strip()
        year_text = request.form.get("year", "").strip()
        start = request.form.get("start_copy") or request.form.get("start", "")
        if not SLUG.fullmatch(slug) or slug == "new":
            errors.add("slug", "标识只能用英文字母、数字、- 和 _，最多 32 个字符，例如 2026-branches")
        if not title:
            errors.add("title", "请填写评议名称")
        year = int(year_text) if year_text.isdigit() else None
        if year_text and year is None:
            errors.add("year", "须为年份，例如 2026")
        copy_of = None
        if start.startswith("copy:"):
            copy_of = db.session.scalar(select(Round).where(Round.slug == start[5:]))
            if copy_of is None:
                errors.add("start", "请选择要复制的评议")
        elif start not in TEMPLATES:
            errors.add("start", "请选择一个模板或要复制的评议")
        if not errors:
            try:
                with unit_of_work():
                    spec = new_round_spec(slug=slug, title=title, year=year, template=start, copy_of=copy_of)
                    create_round(spec)
            except SpecRefused as exc:
                errors.add("slug" if "slug" in str(exc) else "general", chinese(str(exc).removeprefix("spec refused: ")))
            else:
                flash("已创建草稿，请检查并修改各项内容。", "ok")
                return redirect(url_for("console.edit_round", slug=slug), 303)
    return render_template("console/new_round.html", templates=TEMPLATES, rounds=rounds, errors=errors,
                           this_year=beijing_today().year), (422 if errors else 200)


@bp.route("/rounds/<slug>/edit", methods=["GET", "POST"])
def edit_round(slug: str):  # noqa: ANN201
    round_ = round_for(slug, "manage_rounds")
    if not round_.state.editable:
        raise Forbidden(f"评议“{round_.title}”已{round_.state.label}，只有草稿可以修改。")
    errors = BuilderErrors()
    values = form_values(round_.spec)
    if request.method == "POST":
        try:
            spec = spec_from_form(request.form, round_.spec)
            with unit_of_work():
                replace_spec(round_, spec)
        except BuilderRefused as exc:
            errors = exc.errors
            values = _typed_values(values)
        except ServiceError as exc:
            errors.add("general", chinese(str(exc).removeprefix("spec refused: ")))
            values = _typed_values(values)
        else:
            shares = effective_shares(spec)
            flash("已保存。" + (shares_words(shares) if shares else ""), "warn" if shares else "ok")
            return redirect(url_for("console.edit_round", slug=slug), 303)
    return render_template(
        "console/builder.html", round=round_, v=values, errors=errors, scales=SCALE_CHOICES, help=SCHEME_HELP,
        codes=issued_codes(round_), shares=effective_shares(round_.spec),
    ), (422 if errors else 200)


def _typed_values(values: dict) -> dict:
    """The form as typed, to show again beside its errors."""
    form = request.form
    typed = dict(values)
    for key in ("title", "year", "opens_at", "closes_at", "scale", "subjects", "combine_org", "combine_public",
                "org_trim", "min_group_responses", "display_min", "uniform_ballots", "grades", "rules", "top_share_cap",
                "ballot_box"):
        typed[key] = form.get(key, "")
    typed["comments"] = form.get("comments") == "on"
    typed["items"] = [{"key": form.get(f"items-{i}-key", ""), "text": form.get(f"items-{i}-text", ""),
                       "weight": form.get(f"items-{i}-weight", "")} for i in range(int(form.get("item_rows", 0) or 0))]
    typed["groups"] = [{
        "key": form.get(f"groups-{i}-key", ""), "name": form.get(f"groups-{i}-name", ""),
        "weight": form.get(f"groups-{i}-weight", ""), "access": form.get(f"groups-{i}-access", "codes"),
        "expected": form.get(f"groups-{i}-expected", ""),
        "subjects": [c for c in re.split(r"[\s,，、]+", form.get(f"groups-{i}-subjects", "")) if c],
        "once_per_device": form.get(f"groups-{i}-once") == "on",
        "on_site": form.get(f"groups-{i}-on-site") == "on",
    } for i in range(int(form.get("group_rows", 0) or 0))]
    rows = []
    for line in form.get("subjects", "").splitlines():
        parts = line.split("|")[0].split(None, 1)
        if parts:
            code = parts[0]
            rows.append({"code": code, "name": parts[1] if len(parts) > 1 else "",
                         "commitment": form.get(f"commitment:{code}", ""), "report": form.get(f"report:{code}", "")})
    typed["subject_rows"] = rows
    return typed


@bp.get("/rounds/<slug>/spec.json")
def round_spec(slug: str):  # noqa: ANN201
    round_ = round_for(slug, "manage_rounds")
    response = Response(spec_json(round_), mimetype="application/json")
    response.headers["Content-Disposition"] = f"attachment; filename={slug}.json"
    return response


@bp.post("/rounds/<slug>/spec.json")
def upload_spec(slug: str):  # noqa: ANN201
    """Replace a draft's spec by an uploaded JSON file (checked as ``rounds import`` checks it)."""
    round_ = round_for(slug, "manage_rounds")
    upload = request.files.get("file")
    name = upload.filename if upload is not None and upload.filename else "spec.json"
    try:
        data = load_json_text((upload.read() if upload else b"").decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecRefused(f"{name}: 不是有效的 JSON（not valid JSON: {exc}）") from None
    except InputTooLarge as exc:
        raise SpecRefused(f"{name}: 文件嵌套过深或过大，未导入（the JSON is {exc}）") from None
    try:
        with unit_of_work():
            replace_spec(round_, data)
    except SpecRefused as exc:
        raise SpecRefused(f"{name}: {chinese(str(exc).removeprefix('spec refused: '))}") from None
    flash(f"已用 {name} 替换评议设置。", "ok")
    return redirect(url_for("console.edit_round", slug=slug), 303)


@bp.route("/rounds/<slug>/delete", methods=["GET", "POST"])
def delete_round(slug: str):  # noqa: ANN201
    round_ = round_for(slug, "manage_rounds")
    if request.method == "POST":
        with unit_of_work():
            delete_draft(round_)
        flash(f"已删除草稿“{round_.title}”。", "ok")
        return redirect(url_for("console.home"), 303)
    return render_template("console/delete_round.html", round=round_, codes=issued_codes(round_))
