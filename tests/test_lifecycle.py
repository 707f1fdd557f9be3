"""The round's states (rounds/lifecycle.py): what each allows, and the one gate of sealed results."""

from __future__ import annotations

import pytest

from survey.rounds.lifecycle import ResultsSealed, RoundStatus, refuse_while_sealed


@pytest.mark.parametrize(
    ("status", "editable", "takes_codes", "takes_ballots", "sealed", "receipts", "org"),
    [
        ("draft", True, True, False, True, False, True),
        ("open", False, True, True, True, False, True),
        ("closing", False, False, False, True, False, True),
        ("closed", False, False, False, False, False, True),
        ("published", False, False, False, False, True, False),
    ],
)
def test_state_predicates(status, editable, takes_codes, takes_ballots, sealed, receipts, org) -> None:  # noqa: ANN001
    state = RoundStatus(status)
    assert state.editable is editable
    assert state.deletable is editable
    assert state.takes_codes is takes_codes
    assert state.takes_ballots is takes_ballots
    assert state.results_sealed is sealed
    assert state.receipts_public is receipts
    assert state.org_ratings_editable is org


def test_round_state_follows_its_status(make_round) -> None:  # noqa: ANN001
    round_ = make_round(status="closed")
    assert round_.state is RoundStatus.closed
    assert round_.state.label == "已结束"


@pytest.mark.parametrize("status", ["draft", "open", "closing"])
def test_sealed_results_are_refused_in_words_with_a_403(make_round, status) -> None:  # noqa: ANN001
    round_ = make_round(status="draft" if status == "draft" else "open")
    round_.status = status  # a close interrupted while opening the box leaves it closing
    with pytest.raises(ResultsSealed) as refused:
        refuse_while_sealed(round_)
    assert refused.value.http_status == 403
    assert "结果封存" in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("status", ["closed", "published"])
def test_results_of_an_ended_round_pass_the_gate(make_round, status) -> None:  # noqa: ANN001
    refuse_while_sealed(make_round(status=status))
