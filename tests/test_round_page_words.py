"""What a round's console page says about now: a draft whose planned start has passed, an
open round, a closed one (when it closed, not the planned end; no courtesies meant for
respondents); the sealed results page's reason; the respondent's wording beside it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from survey.rounds.lifecycle import accepting_state, organizer_state

from .console_helpers import make_user, sign_in

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing


class FakeRound:
    """The fields the wording reads."""

    def __init__(self, status: str, opens_at=None, closes_at=None, closed_at=None) -> None:  # noqa: ANN001
        from survey.rounds.lifecycle import RoundStatus

        self.state = RoundStatus(status)
        self.opens_at, self.closes_at, self.closed_at = opens_at, closes_at, closed_at


def test_a_draft_whose_start_has_passed_does_not_say_it_will_start_then() -> None:
    draft = FakeRound("draft", opens_at=NOW - timedelta(days=2))

    assert organizer_state(draft, NOW) == "草稿，不接受提交：计划开始时间2026年12月01日 10:00已过，点击“开始评议”后立即接受提交。"
    assert accepting_state(draft, NOW) == (False, "本次评议尚未开始。")
    later = FakeRound("draft", opens_at=NOW + timedelta(days=1))
    assert accepting_state(later, NOW) == (False, "本次评议尚未开始，将于2026年12月04日 10:00开始。")


def test_a_closed_round_says_when_it_closed_and_no_courtesy_to_organizers() -> None:
    closed = FakeRound("closed", closes_at=NOW + timedelta(days=5), closed_at=NOW - timedelta(hours=1))

    words = organizer_state(closed, NOW)
    assert words == "已于2026年12月03日 09:00结束评议，不再接受提交。"
    assert "感谢" not in words
    # a respondent who opens the link later is told the same moment, with thanks
    assert accepting_state(closed, NOW) == (False, "本次评议已于2026年12月03日 09:00结束，感谢您的关注。")


def test_an_open_round_past_its_end_tells_the_organizer_what_to_do() -> None:
    late = FakeRound("open", closes_at=NOW - timedelta(minutes=30))

    assert organizer_state(late, NOW) == "结束时间2026年12月03日 09:30已过，不再接受提交：请点击“结束评议”开箱计票。"


@pytest.fixture
def admin(app, client):  # noqa: ANN001, ANN201
    make_user("boss", "admin")
    sign_in(client, "boss")
    return client


def test_the_round_page_shows_when_it_closed(app, admin, make_round, spec) -> None:  # noqa: ANN001
    from survey.database import unit_of_work
    from survey.models import Round
    from survey.extensions import db

    spec["closes_at"] = "2099-12-15T18:00:00+08:00"
    make_round(spec, status="closed")
    with unit_of_work():
        round_ = db.session.query(Round).filter_by(slug="r2012").one()
        round_.closed_at = datetime(2026, 12, 3, 1, 30, tzinfo=timezone.utc)

    html = admin.get("/console/rounds/r2012").get_data(as_text=True)

    ended = re.search(r'<dd id="ended">(.*?)</dd>', html).group(1)
    assert ended.startswith("2026-12-03 09:30")
    assert "计划 2099-12-15 18:00" in ended
    now = re.search(r'<dd id="now">(.*?)</dd>', html).group(1)
    assert now == "已于2026年12月03日 09:30结束评议，不再接受提交。"
    assert "感谢您的关注" not in html


def test_a_draft_page_whose_start_passed_says_so(app, admin, make_round, spec) -> None:  # noqa: ANN001
    spec["opens_at"] = "2020-01-01T08:00:00+08:00"
    make_round(spec, status="draft")

    html = admin.get("/console/rounds/r2012").get_data(as_text=True)

    assert "将于" not in html
    assert "计划开始时间2020年01月01日 08:00已过" in html


def test_the_sealed_results_page_tells_an_admin_why(app, admin, make_round) -> None:  # noqa: ANN001
    make_round(status="open")

    for page in ("scorecard", "subjects/B01", "rectify"):
        response = admin.get(f"/console/rounds/r2012/{page}")
        html = response.get_data(as_text=True)
        assert response.status_code == 403
        assert "评议进行中，结果封存" in html, page
        assert "没有权限" not in html
