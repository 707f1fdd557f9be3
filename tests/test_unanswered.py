"""A ballot with unanswered items is not stored at once: a server page lists them first, with
返回修改 (back to the form, answers kept) and 仍然提交 (store it as it is). A complete ballot is
stored on its first POST. The 大字 (large type) page, chosen by a link, stays large through
the unanswered-items page and the receipt."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from survey.extensions import db
from survey.models import BallotCode

from .conftest import ballot_count, page_tokens, receipt_of, stored_answers, stored_comments

#: the staff group of the test round rates B01 and B02 on two items: four questions
STAFF_ALL = {"a:B01:service": "satisfied", "a:B01:conduct": "basic",
             "a:B02:service": "dissatisfied", "a:B02:conduct": "unknown"}


class Forms(HTMLParser):
    """The forms of a page: each form's hidden fields and the text of its button."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._button = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": [], "button": ""})
        elif tag == "input" and a.get("type") == "hidden" and self.forms:
            self.forms[-1]["fields"].append((a["name"], a.get("value", "")))
        elif tag == "button" and self.forms:
            self._button = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._button = False

    def handle_data(self, data: str) -> None:
        if self._button:
            self.forms[-1]["button"] += data.strip()

    def by_button(self, text: str) -> dict:
        (form,) = [f for f in self.forms if f["button"] == text]
        return form


def html(response) -> str:  # noqa: ANN001
    return response.get_data(as_text=True)


def listed(response) -> list[str]:  # noqa: ANN001
    """The unanswered items the page lists, as "number subject：item"."""
    items = re.findall(r'<li value="(\d+)"><span class="who">([^<]+)</span>：([^<]+)</li>', html(response))
    return [f"{n} {who}：{what}" for n, who, what in items]


@pytest.fixture
def code(make_round, spec, issue_codes) -> str:  # noqa: ANN001
    return issue_codes(make_round(spec), "staff", 1)[0]


def codes_left() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(BallotCode))


def test_a_complete_ballot_is_stored_on_its_first_post(client, code) -> None:  # noqa: ANN001
    page = client.get(f"/b/{code}")

    response = client.post(f"/b/{code}", data={**page_tokens(html(page)), **STAFF_ALL})

    assert response.status_code == 200
    assert receipt_of(response) is not None
    assert ballot_count() == 1 and codes_left() == 0


def test_the_page_says_how_many_questions_it_asks(client, code) -> None:  # noqa: ANN001
    text = html(client.get(f"/b/{code}"))
    assert re.search(r"本问卷共 <b>4</b> 题（2 个评议对象，每个 2 题）", text)
    assert [int(n) for n in re.findall(r'<span class="qn">(\d+)\.</span>', text)] == [1, 2, 3, 4]


def test_a_partial_ballot_lists_what_is_unanswered_and_stores_nothing(client, code) -> None:  # noqa: ANN001
    page = client.get(f"/b/{code}")

    response = client.post(f"/b/{code}", data={**page_tokens(html(page)), "a:B01:conduct": "basic",
                                                "c:B02": "办事效率有待提高"})

    assert response.status_code == 200
    assert receipt_of(response) is None
    assert "还有 3 题未作答（共 4 题）" in html(response)
    assert listed(response) == ["1 计算机学院党总支：服务师生", "3 机关党委：服务师生", "4 机关党委：工作作风"]
    assert ballot_count() == 0 and codes_left() == 1, "nothing stored, the code not spent"


def test_still_submit_stores_the_ballot_as_it_is(client, code) -> None:  # noqa: ANN001
    page = client.get(f"/b/{code}")
    listing = client.post(f"/b/{code}", data={**page_tokens(html(page)), "a:B01:conduct": "basic",
                                               "c:B02": "办事效率\n有待提高"})
    still = Forms(html(listing)).by_button("仍然提交")
    assert ("confirm_partial", "1") in still["fields"]

    response = client.post(f"/b/{code}", data=MultiDict(still["fields"]))

    assert response.status_code == 200
    assert receipt_of(response) is not None
    assert stored_answers() == {("B01", "conduct", "basic")}
    assert stored_comments() == [("B02", "staff", "办事效率\n有待提高")]
    assert codes_left() == 0


def test_back_to_the_form_keeps_every_answer_and_comment(client, code) -> None:  # noqa: ANN001
    page = client.get(f"/b/{code}")
    listing = client.post(f"/b/{code}", data={**page_tokens(html(page)), "a:B01:conduct": "basic",
                                               "a:B02:service": "unknown", "c:B01": "多听取意见"})
    back = Forms(html(listing)).by_button("返回修改")
    assert back["action"] == "#q1", "the form opens at the first unanswered question"

    form_again = client.post(f"/b/{code}", data=MultiDict(back["fields"]))

    text = html(form_again)
    assert form_again.status_code == 200
    assert re.search(r'name="a:B01:conduct" value="basic" checked', text)
    assert re.search(r'name="a:B02:service" value="unknown" checked', text)
    assert len(re.findall(r"\" checked>", text)) == 2
    assert ">多听取意见</textarea>" in text
    assert re.findall(r'<fieldset id="q(\d)" class=" todo"', text) == ["1", "4"], "the unanswered marked"
    assert ballot_count() == 0 and codes_left() == 1

    # answering the rest stores the ballot on the next POST, with no further page
    tokens = page_tokens(text)
    done = client.post(f"/b/{code}", data={**tokens, **STAFF_ALL, "c:B01": "多听取意见"})
    assert receipt_of(done) is not None
    assert stored_answers() == {tuple(k.split(":")[1:]) + (v,) for k, v in STAFF_ALL.items()}


def test_an_open_link_lists_unanswered_items_too(client, make_round, spec) -> None:  # noqa: ANN001
    make_round(spec)
    url = "/r/r2012/students"
    page = client.get(url)

    response = client.post(url, data={**page_tokens(html(page)), "a:B01:service": "satisfied"})

    assert response.status_code == 200 and receipt_of(response) is None
    assert listed(response) == ["2 计算机学院党总支：工作作风"]
    assert client.get(url).status_code == 200 and "您已在本设备上提交过" not in html(client.get(url))


def test_the_large_type_page_stays_large_to_the_receipt(client, code) -> None:  # noqa: ANN001
    normal = html(client.get(f"/b/{code}"))
    assert '<html lang="zh-CN">' in normal and 'href="?large=1"' in normal

    page = client.get(f"/b/{code}?large=1")
    assert '<html lang="zh-CN" class="large">' in html(page)
    assert 'href="?"' in html(page), "a link back to the standard size"

    listing = client.post(f"/b/{code}?large=1", data={**page_tokens(html(page)), "a:B01:service": "basic"})
    assert '<html lang="zh-CN" class="large">' in html(listing)
    still = Forms(html(listing)).by_button("仍然提交")
    assert still["action"] == "", "posted to the page's own address, ?large=1 included"

    receipt = client.post(f"/b/{code}?large=1", data=MultiDict(still["fields"]))
    assert receipt_of(receipt) is not None
    assert '<html lang="zh-CN" class="large">' in html(receipt)
