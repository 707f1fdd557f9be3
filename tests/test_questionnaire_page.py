"""The questionnaire a phone reaches from a QR or a typed code: what it shows, what it weighs,
and what it says when it cannot be answered."""

from __future__ import annotations

import gzip
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from survey.extensions import db

LEVELS = {"satisfied": "满意", "basic": "基本满意", "dissatisfied": "不满意", "unknown": "不了解"}


class Page(HTMLParser):
    """The parts of a questionnaire page the tests look at."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.radios: dict[str, list[str]] = {}  #: field name → offered values, in order
        self.labels: dict[tuple[str, str], str] = {}  #: (field name, value) → label text
        self.checked: dict[str, str] = {}
        self.textareas: list[str] = []
        self.hidden: dict[str, str] = {}
        self.meta: list[dict[str, str]] = []
        self._radio: tuple[str, str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("type") == "radio":
            self.radios.setdefault(a["name"], []).append(a["value"])
            self._radio = (a["name"], a["value"])
            if "checked" in a:
                self.checked[a["name"]] = a["value"]
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self.textareas.append(a["name"])
        elif tag == "meta":
            self.meta.append(a)

    def handle_data(self, data: str) -> None:
        if self._radio and data.strip():
            self.labels[self._radio] = data.strip()
            self._radio = None


@pytest.fixture
def code(make_round, spec, issue_codes) -> str:  # noqa: ANN001
    """An unused ballot code of the open round r2012's staff group."""
    return issue_codes(make_round(spec), "staff", 1)[0]


def html_of(response) -> str:  # noqa: ANN001
    return response.get_data(as_text=True)


# --- what the page shows -------------------------------------------------------------------


def _rated(group: str) -> list[str]:
    return {"staff": ["B01", "B02"], "students": ["B01"]}[group]


@pytest.fixture(params=["staff", "students"], ids=["by code", "open link"])
def questionnaire_url(request, make_round, spec, issue_codes) -> tuple[str, str]:  # noqa: ANN001
    round_ = make_round(spec)
    if request.param == "staff":
        return f"/b/{issue_codes(round_, 'staff', 1)[0]}", "staff"
    return "/r/r2012/students", "students"


def test_the_page_is_a_chinese_mobile_page(client, questionnaire_url) -> None:  # noqa: ANN001
    url, _ = questionnaire_url
    response = client.get(url)

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = html_of(response)
    assert '<html lang="zh-CN">' in html
    viewport = [m for m in Page(html).meta if m.get("name") == "viewport"]
    assert viewport and "width=device-width" in viewport[0]["content"]


def test_the_page_shows_every_subject_the_group_rates_and_only_those(client, questionnaire_url) -> None:  # noqa: ANN001
    url, group = questionnaire_url
    html = html_of(client.get(url))

    assert "计算机学院党总支" in html
    assert "公开承诺：为师生办实事不少于3件" in html
    if group == "staff":
        assert "机关党委" in html
    else:
        assert "机关党委" not in html
    rated = {name.split(":")[1] for name in Page(html).radios}
    assert rated == set(_rated(group))


def test_every_item_offers_every_level_and_dont_know(client, questionnaire_url) -> None:  # noqa: ANN001
    url, group = questionnaire_url
    page = Page(html_of(client.get(url)))

    expected_fields = [f"a:{s}:{i}" for s in _rated(group) for i in ("service", "conduct")]
    assert list(page.radios) == expected_fields
    for name in expected_fields:
        assert page.radios[name] == ["satisfied", "basic", "dissatisfied", "unknown"]
        assert {value: page.labels[(name, value)] for value in page.radios[name]} == LEVELS
    assert page.checked == {}
    html = html_of(client.get(url))
    assert "服务师生" in html and "工作作风" in html


def test_a_round_that_takes_comments_has_a_comment_box_per_subject(client, questionnaire_url) -> None:  # noqa: ANN001
    url, group = questionnaire_url
    page = Page(html_of(client.get(url)))

    assert page.textareas == [f"c:{s}" for s in _rated(group)]


def test_a_round_without_comments_has_no_comment_box(client, make_round, spec) -> None:  # noqa: ANN001
    spec["comments"] = False
    make_round(spec)

    html = html_of(client.get("/r/r2012/students"))

    assert "<textarea" not in html
    assert Page(html).radios  # the questions are still there


EXTERNAL_LOAD = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def test_the_page_loads_nothing_from_outside_and_runs_no_script(client, questionnaire_url) -> None:  # noqa: ANN001
    url, _ = questionnaire_url
    html = html_of(client.get(url))

    assert "<script" not in html.lower()
    assert EXTERNAL_LOAD.search(html) is None
    assert "@import" not in html and "url(" not in html


def test_the_page_carries_a_csrf_token_and_a_ticket(client, questionnaire_url) -> None:  # noqa: ANN001
    url, _ = questionnaire_url
    page = Page(html_of(client.get(url)))

    assert len(page.hidden.get("csrf_token", "")) > 20
    assert page.hidden.get("ticket")


def test_each_page_view_gets_its_own_ticket(client, questionnaire_url) -> None:  # noqa: ANN001
    url, _ = questionnaire_url
    first = Page(html_of(client.get(url))).hidden["ticket"]
    second = Page(html_of(client.get(url))).hidden["ticket"]

    assert first != second


def big_spec(spec: dict) -> dict:  # noqa: D103
    """8 subjects, each with a 公开承诺, and the five items of the 2012 work plan."""
    from survey.rounds.builtin import TEMPLATE_ITEMS

    spec["subjects"] = [
        {"code": f"B{n:02d}", "name": f"第{n}党支部（某某学院教工第{n}党支部）",
         "commitment": "每月开放党员服务岗，为师生办实事不少于3件；首问负责、限时办结，师生办事“最多跑一次”"}
        for n in range(1, 9)
    ]
    spec["items"] = TEMPLATE_ITEMS
    spec["groups"] = [{"key": "staff", "name": "教职工", "weight": 1, "access": "open", "expected": 100}]
    return spec


def test_a_round_of_8_subjects_and_5_items_weighs_under_30_kb(client, make_round, spec) -> None:  # noqa: ANN001
    make_round(big_spec(spec))

    zipped = client.get("/r/r2012/staff", headers={"Accept-Encoding": "gzip"})
    plain = client.get("/r/r2012/staff")

    assert zipped.headers["Content-Encoding"] == "gzip"
    assert len(zipped.data) < 30 * 1024
    assert "Content-Encoding" not in plain.headers
    assert len(plain.data) < 30 * 1024
    page = Page(gzip.decompress(zipped.data).decode("utf-8"))
    assert len(page.radios) == 40
    assert page.textareas == [f"c:B{n:02d}" for n in range(1, 9)]


# --- ballot codes as people type them ------------------------------------------------------


def test_a_used_code_is_refused_in_chinese(client, code, submit) -> None:  # noqa: ANN001
    assert submit(f"/b/{code}", {"a:B01:service": "satisfied"}).status_code == 200

    again = client.get(f"/b/{code}")

    assert again.status_code in (404, 409)
    assert "已经使用过" in html_of(again)
    assert "a:B01:service" not in html_of(again)


def test_an_unknown_code_is_not_found(client, code) -> None:  # noqa: ANN001
    response = client.get("/b/ZZZZZ-ZZZZZ")

    assert response.status_code == 404
    assert "评议码" in html_of(response)
    assert "a:B01:service" not in html_of(response)


#: what a Chinese input method types in full-width mode
FULL_WIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


@pytest.mark.parametrize("typed", [
    lambda c: c.lower(),  # abcde-fghjk
    lambda c: c.replace("-", ""),  # ABCDEFGHJK
    lambda c: c.replace("-", "").lower(),
    lambda c: quote(f"{c[:2]} {c[2:5]} {c[6:]}".lower()),  # ab cde fghjk
    lambda c: quote(f" {c} "),
    lambda c: quote(c.lower().translate(FULL_WIDTH)),  # ａｂｃｄｅ－ｆｇｈｊｋ
    lambda c: quote(c.replace("-", "—")),  # an em dash from a phone keyboard
], ids=["lower case", "no dash", "lower case, no dash", "spaces", "padded", "full-width", "em dash"])
def test_a_code_typed_by_hand_opens_the_questionnaire(client, code, typed) -> None:  # noqa: ANN001
    response = client.get(f"/b/{typed(code)}")

    assert response.status_code == 200
    assert "a:B01:service" in html_of(response)


def test_the_code_entry_form_redirects_to_the_questionnaire(client, code) -> None:  # noqa: ANN001
    typed = code.replace("-", " ").lower()

    response = client.get("/b/", query_string={"code": typed})

    assert response.status_code in (301, 302, 303)
    assert response.headers["Location"].endswith(f"/b/{code}")
    assert client.get(response.headers["Location"]).status_code == 200


def test_the_code_entry_form_shows_itself_without_a_code(client) -> None:  # noqa: ANN001
    response = client.get("/b/")

    assert response.status_code == 200
    assert 'name="code"' in html_of(response)


# --- a round that is not open ------------------------------------------------------------


def test_a_draft_round_that_opens_later_says_when(client, make_round, spec, issue_codes) -> None:  # noqa: ANN001
    spec.update(opens_at="2099-06-01T08:00:00+08:00", closes_at="2099-06-15T18:00:00+08:00")
    (code,) = issue_codes(make_round(spec, status="draft"), "staff", 1)

    for url in ("/r/r2012/students", f"/b/{code}"):
        response = client.get(url)
        assert response.status_code == 403
        assert "本次评议尚未开始，将于2099年06月01日 08:00开始" in html_of(response)
        assert "a:B01:service" not in html_of(response)


def test_an_open_round_before_its_opening_time_says_when(client, make_round, spec) -> None:  # noqa: ANN001
    spec.update(opens_at="2099-06-01T08:00:00+08:00", closes_at="2099-06-15T18:00:00+08:00")
    make_round(spec, status="open")

    response = client.get("/r/r2012/students")

    assert response.status_code == 403
    assert "将于2099年06月01日 08:00开始" in html_of(response)


def test_an_open_round_past_its_closing_time_says_when_it_ended(client, make_round, spec) -> None:  # noqa: ANN001
    round_ = make_round(spec, status="open")
    round_.closes_at = datetime(2020, 6, 15, 10, 0, tzinfo=timezone.utc)  # 18:00 in Beijing
    round_.opens_at = round_.closes_at - timedelta(days=14)
    db.session.commit()

    response = client.get("/r/r2012/students")

    assert response.status_code == 403
    assert "本次评议已于2020年06月15日 18:00结束" in html_of(response)


@pytest.mark.parametrize("status", ["closed", "published"])
def test_a_round_that_has_ended_says_so(client, make_round, spec, status) -> None:  # noqa: ANN001
    make_round(spec, status=status)

    response = client.get("/r/r2012/students")

    assert response.status_code == 403
    # when it closed, not when it was planned to end
    assert re.search(r"本次评议已于\d{4}年\d\d月\d\d日 \d\d:\d\d结束", html_of(response))
    assert "a:B01:service" not in html_of(response)


def test_an_unknown_round_or_group_is_not_found(client, make_round, spec) -> None:  # noqa: ANN001
    make_round(spec)

    assert client.get("/r/nosuch/students").status_code == 404
    assert client.get("/r/r2012/parents").status_code == 404


def test_the_open_link_of_a_codes_group_asks_for_a_code(client, make_round, spec) -> None:  # noqa: ANN001
    make_round(spec)

    response = client.get("/r/r2012/staff")

    assert response.status_code == 403
    assert "评议码" in html_of(response)
    assert "a:B01:service" not in html_of(response)
