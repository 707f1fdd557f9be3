"""The round builder: new rounds from templates or copies, the form checked like
``rounds import`` with errors beside their fields, the spec stored once, drafts deleted."""

from __future__ import annotations

import io
import json
import re

import pytest
import sqlalchemy as sa

from survey.rounds.builtin import TEMPLATES

from .console_helpers import console_token, make_user, sign_in

FIELD = re.compile(r'name="([^"]+)"[^>]*value="([^"]*)"')


@pytest.fixture
def organizer(app, client):  # noqa: ANN001, ANN201
    make_user("org", "organizer")
    sign_in(client, "org")
    return client


def form_of(html: str) -> dict[str, str]:
    """The builder form's fields as a browser would send them unchanged."""
    data = dict(FIELD.findall(html))
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        data[name] = body.replace("&#39;", "'").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"')
    for name in re.findall(r'<input type="checkbox" name="([^"]+)"[^>]*checked', html):
        data[name] = "on"
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'value="([^"]*)" selected', options) or re.search(r'value="([^"]*)"', options)
        data[name] = chosen.group(1) if chosen else ""
    return data


def create(client, start: str = "branches", slug: str = "b2026", title: str = "2026年基层党组织群众评议"):  # noqa: ANN001, ANN201
    token = console_token(client, "/console/rounds/new")
    return client.post("/console/rounds/new", data={"csrf_token": token, "start": start, "slug": slug,
                                                     "title": title, "year": "2026"})


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_every_template_makes_a_round_and_saves_unchanged(app, organizer, template) -> None:  # noqa: ANN001
    from survey.extensions import db
    from survey.models import Round

    made = create(organizer, template)
    assert made.status_code == 303, made.get_data(as_text=True)
    page = organizer.get("/console/rounds/b2026/edit")
    assert page.status_code == 200
    db.session.rollback()
    before = db.session.scalar(sa.select(Round.spec).where(Round.slug == "b2026"))
    saved = organizer.post("/console/rounds/b2026/edit", data=form_of(page.get_data(as_text=True)))
    assert saved.status_code == 303, saved.get_data(as_text=True)[:3000]
    db.session.rollback()
    after = db.session.scalar(sa.select(Round.spec).where(Round.slug == "b2026"))
    assert after["items"] == before["items"] and after["subjects"] == before["subjects"]
    assert after["scheme"] == before["scheme"]
    assert [g["key"] for g in after["groups"]] == [g["key"] for g in before["groups"]]


def test_party_member_template_uses_party4_and_sends_a_third_unqualified_to_review(app, organizer) -> None:  # noqa: ANN001
    from survey.extensions import db
    from survey.models import Round

    create(organizer, "members")
    db.session.rollback()
    spec = db.session.scalar(sa.select(Round.spec).where(Round.slug == "b2026"))
    assert spec["scale"] == "party4"
    rule = spec["scheme"]["rules"][0]
    assert rule["metric"] == "negative_share" and rule["above"] == pytest.approx(1 / 3) and rule["review"] is True


def test_add_a_subject_with_commitment_and_report_shown_on_the_questionnaire(app, organizer) -> None:  # noqa: ANN001
    create(organizer)
    form = form_of(organizer.get("/console/rounds/b2026/edit").get_data(as_text=True))
    form["subjects"] += "\nB09 图书馆党支部 | 开馆时间延长到晚上十点"
    assert organizer.post("/console/rounds/b2026/edit", data=form).status_code == 303
    form = form_of(organizer.get("/console/rounds/b2026/edit").get_data(as_text=True))
    assert form["commitment:B09"] == "开馆时间延长到晚上十点"
    form["report:B09"] = "一年来，图书馆党支部……"
    assert organizer.post("/console/rounds/b2026/edit", data=form).status_code == 303
    token = console_token(organizer)
    assert organizer.post("/console/rounds/b2026/open", data={"csrf_token": token}).status_code == 303
    page = app.test_client().get("/r/b2026/students").get_data(as_text=True)
    assert "图书馆党支部" in page and "开馆时间延长到晚上十点" in page
    assert "<details" in page and "一年来，图书馆党支部" in page


@pytest.mark.parametrize(("change", "field", "says"), [
    (lambda f: f.update({"items-0-weight": "abc"}), "items-0-weight", "须为数字"),
    (lambda f: f.update({"items-1-key": f["items-0-key"]}), "items-1-key", "重复"),
    (lambda f: f.update({"subjects": f["subjects"] + "\nB01 又一个"}), "subjects", "重复"),
    (lambda f: f.update({"groups-0-subjects": "ZZZ"}), "groups-0-subjects", "ZZZ 不存在"),
    (lambda f: f.update({"opens_at": "2026-12-01T08:00", "closes_at": "2020-01-01T08:00"}), "closes_at", "须晚于开始时间"),
    (lambda f: f.update({"grades": "优秀 60\n良好 80"}), "grades", "从高到低"),
    (lambda f: f.update({"rules": "negative_share above 0.3 grade 极差"}), "rules", "不是已设定的等次"),
])
def test_errors_are_shown_beside_their_field_in_chinese(app, organizer, change, field, says) -> None:  # noqa: ANN001
    create(organizer)
    form = form_of(organizer.get("/console/rounds/b2026/edit").get_data(as_text=True))
    change(form)
    answer = organizer.post("/console/rounds/b2026/edit", data=form)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert says in html
    # the message sits right after the field it is about
    position = html.index(f'name="{field}"')
    assert says in html[position:position + 1500]


def test_only_a_draft_is_edited_and_opening_freezes_the_spec(app, organizer, runner) -> None:  # noqa: ANN001
    create(organizer)
    form = form_of(organizer.get("/console/rounds/b2026/edit").get_data(as_text=True))
    assert runner.invoke(args=["rounds", "open", "b2026"]).exit_code == 0
    assert organizer.get("/console/rounds/b2026/edit").status_code == 403
    assert organizer.post("/console/rounds/b2026/edit", data=form).status_code == 403


def test_spec_downloads_and_uploads_as_json(app, organizer) -> None:  # noqa: ANN001
    create(organizer)
    spec = json.loads(organizer.get("/console/rounds/b2026/spec.json").get_data())
    spec["title"] = "改过的名称"
    spec["subjects"].append({"code": "X1", "name": "新对象", "commitment": "承诺"})
    token = console_token(organizer)
    answer = organizer.post("/console/rounds/b2026/spec.json", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(json.dumps(spec, ensure_ascii=False).encode()), "mine.json")})
    assert answer.status_code == 303
    overview = organizer.get("/console/rounds/b2026").get_data(as_text=True)
    assert "改过的名称" in overview and "新对象" in overview
    spec["items"][0]["weight"] = -1
    refused = organizer.post("/console/rounds/b2026/spec.json", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(json.dumps(spec).encode()), "mine.json")})
    assert refused.status_code == 400
    assert "mine.json" in refused.get_data(as_text=True) and "须为不小于 0 的数" in refused.get_data(as_text=True)


def test_copy_an_earlier_round_keeps_subject_codes(app, organizer, make_round) -> None:  # noqa: ANN001
    from survey.extensions import db
    from survey.models import Round

    make_round(status="published")
    token = console_token(organizer, "/console/rounds/new")
    made = organizer.post("/console/rounds/new", data={"csrf_token": token, "start": "branches", "start_copy": "copy:r2012",
                                                        "slug": "r2013", "title": "2013年评议", "year": "2013"})
    assert made.status_code == 303
    db.session.rollback()
    spec = db.session.scalar(sa.select(Round.spec).where(Round.slug == "r2013"))
    assert [s["code"] for s in spec["subjects"]] == ["B01", "B02"]
    assert spec["year"] == 2013 and spec["title"] == "2013年评议"
    assert db.session.scalar(sa.select(Round.status).where(Round.slug == "r2013")) == "draft"


def test_codes_issued_in_a_draft_survive_an_edit(app, organizer, issue_codes) -> None:  # noqa: ANN001
    from survey.extensions import db
    from survey.models import Round

    create(organizer)
    db.session.rollback()
    round_ = db.session.scalar(sa.select(Round).where(Round.slug == "b2026"))
    codes = issue_codes(round_, "staff", 2)
    form = form_of(organizer.get("/console/rounds/b2026/edit").get_data(as_text=True))
    form["groups-0-name"] = "全体教职工"
    assert organizer.post("/console/rounds/b2026/edit", data=form).status_code == 303
    token = console_token(organizer)
    organizer.post("/console/rounds/b2026/open", data={"csrf_token": token})
    page = app.test_client().get(f"/b/{codes[0]}")  # the template has no window: open now
    assert page.status_code == 200
    assert "全体教职工" in page.get_data(as_text=True)


def test_delete_a_draft_in_the_console_and_the_cli(app, organizer, runner, make_round) -> None:  # noqa: ANN001
    create(organizer)
    token = console_token(organizer)
    assert "确认删除" in organizer.get("/console/rounds/b2026/delete").get_data(as_text=True)
    assert organizer.post("/console/rounds/b2026/delete", data={"csrf_token": token}).status_code == 303
    assert organizer.get("/console/rounds/b2026").status_code == 404
    make_round(status="draft")
    assert runner.invoke(args=["rounds", "delete", "r2012", "--yes"]).exit_code == 0
    assert "r2012" not in runner.invoke(args=["rounds", "list"]).output
    make_round(status="open")
    refused = runner.invoke(args=["rounds", "delete", "r2012", "--yes"])
    assert refused.exit_code != 0 and "only a draft" in refused.output
    assert organizer.post("/console/rounds/r2012/delete", data={"csrf_token": token}).status_code == 409


def test_every_mistake_of_a_save_is_shown_at_once(app, organizer) -> None:  # noqa: ANN001
    """A year typed as words, an item weight of −1, a duplicate subject and a group weight as
    text: all four on the first save, not one per save."""
    create(organizer)
    form = form_of(organizer.get("/console/rounds/b2026/edit").get_data(as_text=True))
    form.update({"year": "二〇二六", "items-2-weight": "-1", "groups-1-weight": "很多",
                 "subjects": form["subjects"] + "\nB02 又一个机关党委"})

    answer = organizer.post("/console/rounds/b2026/edit", data=form)

    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "有 4 处需要修改" in html
    for field, says in [("year", "须为数字"), ("items-2-weight", "须为不小于 0 的数"),
                        ("groups-1-weight", "须为数字"), ("subjects", "（B02）的代码与前面的评议对象重复")]:
        position = html.index(f'name="{field}"')
        assert says in html[position:position + 1500], field


def test_a_duplicate_subject_code_is_named_once(app, organizer) -> None:  # noqa: ANN001
    create(organizer)
    form = form_of(organizer.get("/console/rounds/b2026/edit").get_data(as_text=True))
    form["subjects"] += "\nB03 图书馆党支部\nB03 后勤党支部"

    html = organizer.post("/console/rounds/b2026/edit", data=form).get_data(as_text=True)

    assert "第 4 个对象（B03）的代码与前面的评议对象重复" in html
    assert "代码代码" not in html


def test_group_weights_that_do_not_add_up_show_their_effective_shares(app, organizer) -> None:  # noqa: ANN001
    create(organizer)
    form = form_of(organizer.get("/console/rounds/b2026/edit").get_data(as_text=True))
    form.update({"groups-0-weight": "0.5", "groups-1-weight": "0.3", "groups-2-weight": "0.3"})

    saved = organizer.post("/console/rounds/b2026/edit", data=form, follow_redirects=True)

    html = saved.get_data(as_text=True)
    # 0.5 / 1.1 = 45.45 %, 0.3 / 1.1 = 27.27 %
    assert "群体权重之和为 1.1，不是 1：计分时按比例折算，实际占比为 教职工 45.5%、学生 27.3%、离退休同志 27.3%。" in html
    assert re.search(r'id="group-shares".*教职工 45.5%、学生 27.3%、离退休同志 27.3%', html)
    form = form_of(html)
    form.update({"groups-0-weight": "0.5", "groups-1-weight": "0.3", "groups-2-weight": "0.2"})
    html = organizer.post("/console/rounds/b2026/edit", data=form, follow_redirects=True).get_data(as_text=True)
    assert "group-shares" not in html and "实际占比" not in html


def test_the_new_round_form_starts_with_this_year(app, organizer) -> None:  # noqa: ANN001
    from survey.timefmt import beijing_today

    page = organizer.get("/console/rounds/new").get_data(as_text=True)
    assert f'name="year" value="{beijing_today().year}"' in page
