"""党员民主评议 end to end in the services: the template's round (people as subjects, party4)
scores, the one-third 不合格 rule grades 不合格 and flags review, and the words speak of 党员."""

from __future__ import annotations

import json

from .review_fixtures import cast_ballots

ITEMS = ("political", "discipline", "conduct", "role")


def ballot(group: str, p1: str) -> tuple[str, dict[tuple[str, str], str]]:
    answers = {("P0001", i): p1 for i in ITEMS}
    answers.update({("P0002", i): "excellent" for i in ITEMS[:3]})
    answers[("P0002", "role")] = "qualified"
    return group, answers


def test_party_round_from_the_template(app, runner, tmp_path) -> None:  # noqa: ANN001
    from survey.database import unit_of_work
    from survey.rounds.services import close_round, get_round
    from survey.scorecard.report import ReportInputs, render_report_pdf
    from survey.scorecard.services import round_results
    from survey.scorecard.words import flag_words, vocabulary

    result = runner.invoke(args=["rounds", "template", "--kind", "party"])
    assert result.exit_code == 0, result.output
    spec = json.loads(result.output)
    assert spec["scale"] == "party4"
    del spec["opens_at"], spec["closes_at"]
    (tmp_path / "party.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(args=["rounds", "import", str(tmp_path / "party.json")]).exit_code == 0
    assert runner.invoke(args=["rounds", "open", spec["slug"]]).exit_code == 0
    round_ = get_round(spec["slug"])
    # P0001: 2 of 5 不合格 in each group (share 0.4 > 1/3), the rest 优秀: composite 60
    plan = [ballot(g, "unqualified" if k < 2 else "excellent") for g in ("members", "masses") for k in range(5)]
    cast_ballots(round_, plan, [])
    with unit_of_work():
        close_round(round_)

    results = round_results(round_)
    p1 = results.scorecard.row("P0001")
    assert p1["composite"] == 60.0 and p1["negative_share"] == 0.4
    assert p1["grade"] == "不合格"  # the band says 基本合格; the one-third rule says 不合格
    assert "review:1" in results.scorecard.flags_of("P0001")
    assert flag_words(results.spec, "review:1") == \
        "需复核：第1条规则（「不合格」比例高于三分之一时，等次定为「不合格」）触发，等次需评议委员会确认"
    p2 = results.scorecard.row("P0002")
    assert p2["composite"] == 95.0 and p2["grade"] == "优秀"
    assert vocabulary(results.spec).subject == "党员"

    pdf = tmp_path / "party.pdf"
    pdf.write_bytes(render_report_pdf(results, ReportInputs({}, {})))
    from .test_report_pdf import pdftotext

    text = pdftotext(pdf)
    assert "党员民主评议结果报告" in text and "共2个党员" in text and "张明" in text
