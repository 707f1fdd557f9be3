"""Commands added with the console: the demo's sign-in and its removal, rounds open saying
when ballots start, config."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .console_helpers import sign_in


def test_demo_prints_a_demo_sign_in_and_remove_takes_round_and_account(app, runner) -> None:  # noqa: ANN001
    seeded = runner.invoke(args=["demo"])
    assert seeded.exit_code == 0, seeded.output
    found = re.search(r"DEMO console sign-in.*user: (\S+)\s+password: (\S+)", seeded.output)
    assert found, seeded.output
    assert sign_in(app.test_client(), found.group(1), found.group(2)).status_code == 303
    again = runner.invoke(args=["demo"])
    assert "password" not in again.output  # printed once only
    removed = runner.invoke(args=["demo", "--remove"])
    assert removed.exit_code == 0 and "removed" in removed.output
    assert runner.invoke(args=["rounds", "list"]).output == ""
    assert runner.invoke(args=["users", "list"]).output == ""
    assert sign_in(app.test_client(), found.group(1), found.group(2)).status_code == 401
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_rounds_open_says_when_it_starts_taking_ballots(runner, make_round, spec) -> None:  # noqa: ANN001
    later = datetime.now(timezone.utc) + timedelta(days=3)
    spec["opens_at"] = later.isoformat()
    make_round(spec, status="draft")
    result = runner.invoke(args=["rounds", "open", "r2012"])
    assert result.exit_code == 0, result.output
    shown = later.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    assert f"自北京时间 {shown}（评议设定的开始时间）起接受提交" in result.output


def test_rounds_open_without_a_window_takes_ballots_now(runner, make_round) -> None:  # noqa: ANN001
    make_round(status="draft")
    result = runner.invoke(args=["rounds", "open", "r2012"])
    assert "现在起接受提交" in result.output
    assert re.search(r"投票箱密钥指纹 [0-9A-F]{4}(-[0-9A-F]{4}){3}，服务器保管", result.output)


def test_config_masks_the_database_password(app, runner) -> None:  # noqa: ANN001
    shown = runner.invoke(args=["config"])
    assert shown.exit_code == 0
    assert "base_url\thttps://survey.example.edu.cn" in shown.output
    from survey.console.cli import masked_url

    assert masked_url("postgresql+psycopg://survey:s3cret@db/survey") == "postgresql+psycopg://survey:***@db/survey"


def test_a_quoted_number_in_a_spec_says_it_is_text(runner, spec, tmp_path) -> None:  # noqa: ANN001
    import json

    spec["items"][0]["weight"] = "1"
    path = tmp_path / "round.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    result = runner.invoke(args=["rounds", "import", str(path)])
    assert result.exit_code != 0
    assert "items[0].weight: must be a number, not text" in result.output


def test_write_errors_name_the_file_the_user_gave_not_its_temporary_sibling() -> None:
    from survey.commands import as_typed

    assert as_typed("/data/out/.codes.csv.tmp") == "/data/out/codes.csv"
    assert as_typed("out/.slips.pdf.1a2b3c4d.tmp") == "out/slips.pdf"
    assert as_typed("plain.csv") == "plain.csv"


def test_codes_void_from_the_cli(app, runner, make_round, issue_codes) -> None:  # noqa: ANN001
    round_ = make_round(status="open")
    codes = issue_codes(round_, "staff", 3)
    result = runner.invoke(args=["codes", "void", "r2012", "--group", "staff", "--yes"])
    assert result.exit_code == 0, result.output
    assert "3 unused codes" in result.output
    assert app.test_client().get(f"/b/{codes[0]}").status_code == 404
    assert runner.invoke(args=["codes", "void", "r2012", "--group", "nope", "--yes"]).exit_code != 0


def test_make_run_prints_one_address_the_stored_one_and_config_agrees(app, runner) -> None:  # noqa: ANN001
    """make run stores SURVEY_BASE_URL the first time (config set-base-url --if-unset), then
    the demo prints the landing page, the links and the sign-in under that one address."""
    first = runner.invoke(args=["config", "set-base-url", "--if-unset", "http://192.0.2.7:5000"])
    assert first.exit_code == 0, first.output
    kept = runner.invoke(args=["config", "set-base-url", "--if-unset", "http://198.51.100.9:5000"])
    assert "http://192.0.2.7:5000\t(stored setting, kept)" in kept.output

    shown = runner.invoke(args=["demo"]).output

    addresses = set(re.findall(r"https?://[^/\s]+", shown))
    assert addresses == {"http://192.0.2.7:5000"}, shown
    assert "Landing page: http://192.0.2.7:5000/" in shown
    assert "开放链接: http://192.0.2.7:5000/r/demo/students" in shown
    assert "http://192.0.2.7:5000/login" in shown
    assert "base_url\thttp://192.0.2.7:5000\t(stored setting)" in runner.invoke(args=["config"]).output


def test_demo_remove_takes_the_codes_file_and_make_run_still_says_where_to_sign_in(app, runner) -> None:  # noqa: ANN001
    from pathlib import Path

    runner.invoke(args=["users", "create", "boss", "--role", "admin", "--password-stdin"], input="a long password 1\n")
    seeded = runner.invoke(args=["demo"])
    codes_file = Path(app.instance_path) / "demo-codes.csv"
    assert codes_file.exists() and str(codes_file) in seeded.output

    removed = runner.invoke(args=["demo", "--remove"])

    assert removed.exit_code == 0 and not codes_file.exists()
    assert f"removed {codes_file}" in removed.output
    from survey.database import unit_of_work
    from survey.rounds.services import import_round
    from .conftest import BASE_SPEC

    with unit_of_work():
        import_round(dict(BASE_SPEC))  # a real round now: the demo is not seeded again
    again = runner.invoke(args=["demo"]).output
    assert "Landing page: https://survey.example.edu.cn/" in again
    assert "Console sign-in: https://survey.example.edu.cn/login" in again
    assert "demo-codes.csv" not in again
