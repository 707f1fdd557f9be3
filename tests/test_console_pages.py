"""Console pages an organizer works with: codes (shown once), open links and posters,
organizational ratings, export, the public address setting; and what the audit log keeps."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from .console_helpers import console_token, make_user, sign_in

BASE_URL = "https://survey.example.edu.cn"


@pytest.fixture
def organizer(app, client):  # noqa: ANN001, ANN201
    make_user("org", "organizer")
    sign_in(client, "org")
    return client


def audit_rows() -> list[tuple[str, str]]:
    from survey.extensions import db

    db.session.rollback()
    return [tuple(r) for r in db.session.execute(sa.text("SELECT action, detail FROM audit_log ORDER BY id"))]


def test_issue_codes_as_csv_once_and_audit_count_not_codes(app, organizer, make_round) -> None:  # noqa: ANN001
    make_round(status="open")
    page = organizer.get("/console/rounds/r2012/groups/staff/codes")
    assert page.status_code == 200
    assert "只显示这一次" in page.get_data(as_text=True)
    token = console_token(organizer, "/console/rounds/r2012/groups/staff/codes")
    answer = organizer.post("/console/rounds/r2012/groups/staff/codes",
                            data={"csrf_token": token, "count": "4", "format": "csv"})
    assert answer.status_code == 200
    assert "attachment" in answer.headers["Content-Disposition"]
    body = answer.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 4 and all(r["url"] == f"{BASE_URL}/b/{r['code']}" for r in rows)
    # a code works on a phone
    phone = app.test_client()
    assert phone.get(rows[0]["url"].removeprefix(BASE_URL)).status_code == 200
    # the log has the count and the group, and no code
    actions = audit_rows()
    issued = [d for a, d in actions if a == "codes.issue"]
    assert len(issued) == 1 and '"count":4' in issued[0] and '"group":"staff"' in issued[0]
    assert not any(r["code"] in d or r["code"].replace("-", "") in d for r in rows for _, d in actions)
    # the overview shows them as issued and unused
    overview = organizer.get("/console/rounds/r2012").get_data(as_text=True)
    assert ">4<" in overview


def test_issue_codes_as_pdf_slips(organizer, make_round) -> None:  # noqa: ANN001
    make_round(status="draft")
    token = console_token(organizer)
    answer = organizer.post("/console/rounds/r2012/groups/staff/codes",
                            data={"csrf_token": token, "count": "12", "format": "pdf"})
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.get_data().startswith(b"%PDF")


def test_codes_refused_for_an_open_group_and_a_closed_round(organizer, make_round, spec) -> None:  # noqa: ANN001
    make_round(status="closed")
    token = console_token(organizer)
    assert organizer.post("/console/rounds/r2012/groups/students/codes",
                          data={"csrf_token": token, "count": "3"}).status_code == 400
    refused = organizer.post("/console/rounds/r2012/groups/staff/codes", data={"csrf_token": token, "count": "3"})
    assert refused.status_code == 400
    assert "no more codes" in refused.get_data(as_text=True)


def test_void_unused_codes(app, organizer, make_round, issue_codes) -> None:  # noqa: ANN001
    round_ = make_round(status="open")
    codes = issue_codes(round_, "staff", 3)
    token = console_token(organizer)
    answer = organizer.post("/console/rounds/r2012/groups/staff/codes/void", data={"csrf_token": token, "confirm": "yes"})
    assert answer.status_code == 303
    assert app.test_client().get(f"/b/{codes[0]}").status_code == 404
    assert any(a == "codes.void" and '"count":3' in d for a, d in audit_rows())


def test_issuing_under_a_loopback_address_needs_a_confirmation(app, organizer, make_round) -> None:  # noqa: ANN001
    app.config["BASE_URL"] = "http://localhost:5000"
    make_round(status="open")
    page = organizer.get("/console/rounds/r2012/groups/staff/codes").get_data(as_text=True)
    assert "只有本机能打开" in page
    token = console_token(organizer)
    refused = organizer.post("/console/rounds/r2012/groups/staff/codes", data={"csrf_token": token, "count": "2", "format": "csv"})
    assert refused.status_code == 422
    ok = organizer.post("/console/rounds/r2012/groups/staff/codes",
                        data={"csrf_token": token, "count": "2", "format": "csv", "loopback_ok": "yes"})
    assert ok.status_code == 200


def test_cli_refuses_codes_under_a_loopback_address_and_the_setting_fixes_it(app, runner, make_round, tmp_path) -> None:  # noqa: ANN001
    app.config["BASE_URL"] = "http://127.0.0.1:5000"
    make_round(status="open")
    out = tmp_path / "codes.csv"
    refused = runner.invoke(args=["codes", "issue", "r2012", "--group", "staff", "--count", "2", "--out", str(out)])
    assert refused.exit_code != 0 and "set-base-url" in refused.output and not out.exists()
    assert runner.invoke(args=["config", "set-base-url", "https://pingyi.example.edu.cn/"]).exit_code == 0
    shown = runner.invoke(args=["config"])
    assert "https://pingyi.example.edu.cn\t(stored setting)" in shown.output
    done = runner.invoke(args=["codes", "issue", "r2012", "--group", "staff", "--count", "2", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "https://pingyi.example.edu.cn/b/" in out.read_text(encoding="utf-8-sig")


def zbar(path: Path) -> list[str]:
    result = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_open_link_page_qr_and_a4_poster_scan(organizer, make_round, tmp_path) -> None:  # noqa: ANN001
    make_round(status="open")
    url = f"{BASE_URL}/r/r2012/students"
    page = organizer.get("/console/rounds/r2012/groups/students/link").get_data(as_text=True)
    assert url in page
    png = organizer.get("/console/rounds/r2012/groups/students/qr.png?download=1")
    assert png.mimetype == "image/png" and "attachment" in png.headers["Content-Disposition"]
    svg = organizer.get("/console/rounds/r2012/groups/students/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.get_data()
    poster = organizer.get("/console/rounds/r2012/groups/students/poster.pdf?download=1")
    assert poster.mimetype == "application/pdf"
    assert organizer.get("/console/rounds/r2012/groups/staff/link").status_code == 400
    if not (shutil.which("zbarimg") and shutil.which("pdftoppm")):
        pytest.skip("zbarimg or pdftoppm missing: images not decoded")
    (tmp_path / "qr.png").write_bytes(png.get_data())
    assert zbar(tmp_path / "qr.png") == [url]
    (tmp_path / "poster.pdf").write_bytes(poster.get_data())
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", str(tmp_path / "poster.pdf"), str(tmp_path / "poster")], check=True)
    assert zbar(tmp_path / "poster.png") == [url]
    text = subprocess.run(["pdftotext", str(tmp_path / "poster.pdf"), "-"], capture_output=True, text=True).stdout
    assert url in text
    assert any(a == "qr.download" for a, _ in audit_rows())


def test_org_ratings_from_the_table(organizer, make_round) -> None:  # noqa: ANN001
    from survey.extensions import db

    make_round(status="closed")
    token = console_token(organizer, "/console/rounds/r2012/org")
    answer = organizer.post("/console/rounds/r2012/org", data={
        "csrf_token": token, "rater:0": "张三", "score:B01:0": "90", "score:B02:0": "85.5",
        "rater:1": "李四", "score:B01:1": "80", "rater:2": "", "score:B01:2": ""})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    db.session.rollback()
    stored = db.session.execute(sa.text("SELECT rater, score FROM org_ratings ORDER BY rater, score")).all()
    assert sorted(stored) == sorted([("张三", 90.0), ("张三", 85.5), ("李四", 80.0)])
    page = organizer.get("/console/rounds/r2012/org").get_data(as_text=True)
    assert 'value="85.5"' in page


def test_org_ratings_table_refuses_like_org_import(organizer, make_round) -> None:  # noqa: ANN001
    make_round(status="closed")
    token = console_token(organizer, "/console/rounds/r2012/org")
    answer = organizer.post("/console/rounds/r2012/org", data={
        "csrf_token": token, "rater:0": "张三", "score:B01:0": "120"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "表格有误：计算机学院党总支（评价人“张三”）：分数 120 超出 0–100" in html
    assert "/tmp" not in html and "outside" not in html and "网页表格:" not in html
    marked = re.findall(r'<input[^>]*class="invalid"[^>]*>', html)
    assert len(marked) == 1 and 'name="score:B01:0"' in marked[0] and 'value="120"' in marked[0]


def test_org_ratings_table_marks_the_cell_of_each_kind_of_error(organizer, make_round) -> None:  # noqa: ANN001
    """The cell a refusal points at is marked, what was typed stays, the reason is in words."""
    make_round(status="closed")
    token = console_token(organizer, "/console/rounds/r2012/org")
    cases = [
        ({"rater:0": "张三", "score:B01:0": "90", "rater:1": "李四", "score:B01:1": "80", "score:B02:1": "优"},
         'name="score:B02:1"', "机关党委（评价人“李四”）：分数“优”不是数字"),
        ({"rater:0": "张三", "score:B01:0": "90", "rater:1": "", "score:B02:1": "80"},
         'name="rater:1"', "第 2 列的评价人：评价人为空"),
        ({"rater:0": "张三", "score:B01:0": "90", "rater:1": "张三", "score:B01:1": "80"},
         'name="rater:1"', "第 2 列的评价人：评价人“张三”对“B01”评了两次"),
    ]
    for form, cell, words in cases:
        answer = organizer.post("/console/rounds/r2012/org", data={"csrf_token": token, **form})
        html = answer.get_data(as_text=True)
        assert answer.status_code == 422 and words in html, html
        marked = re.findall(r'<input[^>]*class="invalid"[^>]*>', html)
        assert len(marked) == 1 and cell in marked[0], marked
        for key, value in form.items():
            if value:
                assert f'name="{key}" value="{value}"' in html
    empty = organizer.post("/console/rounds/r2012/org", data={"csrf_token": token, "rater:0": "张三"})
    assert empty.status_code == 422 and "表格中没有填写任何分数" in empty.get_data(as_text=True)


def test_org_ratings_upload_in_gb18030_is_detected_and_said(organizer, make_round) -> None:  # noqa: ANN001
    make_round(status="closed")
    token = console_token(organizer, "/console/rounds/r2012/org")
    data = "subject,rater,score\nB01,王五,88\nB02,王五,77\n".encode("gb18030")
    answer = organizer.post("/console/rounds/r2012/org", data={"csrf_token": token, "file": (io.BytesIO(data), "评价.csv")},
                            content_type="multipart/form-data", follow_redirects=True)
    assert "已保存 2 条组织评价" in answer.get_data(as_text=True)
    assert "GB18030" in answer.get_data(as_text=True)
    bad = "subject,rater,score\nB09,王五,88\n".encode("gb18030")
    refused = organizer.post("/console/rounds/r2012/org", data={"csrf_token": token, "file": (io.BytesIO(bad), "评价.csv")},
                             content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "评价.csv 第2行：代码“B09”不是本轮的评议对象" in refused.get_data(as_text=True)


def test_cli_org_import_reads_gb18030_and_names_the_file(runner, make_round, tmp_path) -> None:  # noqa: ANN001
    make_round(status="closed")
    path = tmp_path / "ratings.csv"
    path.write_bytes("subject,rater,score\nB01,王五,88\n".encode("gb18030"))
    result = runner.invoke(args=["org", "import", "r2012", str(path)])
    assert result.exit_code == 0, result.output
    assert "GB18030" in result.output
    path.write_bytes('subject,rater,score\nB01,王五,"abc"\n'.encode("utf-8"))
    refused = runner.invoke(args=["org", "import", "r2012", str(path)])
    assert refused.exit_code != 0 and str(path) in refused.output and ".tmp" not in refused.output


def test_export_zip_is_sealed_while_open_and_audited_when_closed(app, make_round, runner) -> None:  # noqa: ANN001
    """export.zip is an administrator's download (raw ballots, labelled with their group): sealed
    while open, then served and audit-logged under the administrator's name."""
    make_user("root", "admin")
    admin = app.test_client()
    sign_in(admin, "root")
    make_round(status="open")
    assert admin.get("/console/rounds/r2012/export.zip").status_code == 403
    assert runner.invoke(args=["rounds", "close", "r2012"]).exit_code == 0
    answer = admin.get("/console/rounds/r2012/export.zip")
    assert answer.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(answer.get_data())).namelist()
    assert sorted(names) == ["r2012/answers.csv", "r2012/audit_head.txt", "r2012/comments.csv", "r2012/org.csv",
                             "r2012/spec.json"]
    from survey.extensions import db

    last = db.session.execute(sa.text("SELECT action, actor FROM audit_log ORDER BY id DESC LIMIT 1")).one()
    assert tuple(last) == ("export", "root")


def test_export_zip_is_refused_to_organizers_and_reviewers(app, organizer, make_round, runner) -> None:  # noqa: ANN001
    """Organizers and reviewers get 403 for the raw ballots, and nothing is logged as exported;
    the round page says what the zip holds and why only administrators download it."""
    make_round(status="closed")
    make_user("rev", "reviewer", ["r2012"])
    reviewer = app.test_client()
    sign_in(reviewer, "rev")
    before = len(audit_rows())
    assert organizer.get("/console/rounds/r2012/export.zip").status_code == 403
    assert reviewer.get("/console/rounds/r2012/export.zip").status_code == 403
    assert [a for a, _ in audit_rows()[before:]].count("export") == 0
    page = organizer.get("/console/rounds/r2012").get_data(as_text=True)
    assert "原始选票（export.zip）" in page and "只限管理员下载" in page and "联系管理员" in page
    assert "/console/rounds/r2012/export.zip" not in page
    make_user("root", "admin")
    admin = app.test_client()
    sign_in(admin, "root")
    assert "/console/rounds/r2012/export.zip" in admin.get("/console/rounds/r2012").get_data(as_text=True)


def test_settings_page_sets_the_public_address_for_admins_only(app, client, make_round) -> None:  # noqa: ANN001
    make_user("root", "admin")
    make_user("org", "organizer")
    sign_in(client, "org")
    token = console_token(client, "/console/settings")
    assert client.post("/console/settings", data={"csrf_token": token, "base_url": "https://x.example"}).status_code == 403
    admin = app.test_client()
    sign_in(admin, "root")
    token = console_token(admin, "/console/settings")
    assert admin.post("/console/settings", data={"csrf_token": token, "base_url": "https://pingyi.example.edu.cn"}).status_code == 303
    assert "https://pingyi.example.edu.cn" in client.get("/console/settings").get_data(as_text=True)
    assert admin.post("/console/settings", data={"csrf_token": token, "base_url": "not a url"}).status_code == 422


def test_reviewer_cannot_issue_codes_or_posters(app, client, make_round) -> None:  # noqa: ANN001
    make_round(status="open")
    make_user("rev", "reviewer", ["r2012"])
    sign_in(client, "rev")
    for url in ["/console/rounds/r2012/groups/staff/codes", "/console/rounds/r2012/groups/students/link",
                "/console/rounds/r2012/groups/students/poster.pdf", "/console/rounds/r2012/org"]:
        assert client.get(url).status_code == 403, url


def test_a_second_batch_from_a_page_showing_a_stale_count_needs_a_confirmation(app, organizer, make_round) -> None:  # noqa: ANN001
    """Without scripts the page still says 已发放 0 个 after the file downloads; a second click
    there is stopped and told the count, then issues once confirmed."""
    make_round(status="open")
    page = organizer.get("/console/rounds/r2012/groups/staff/codes").get_data(as_text=True)
    assert 'name="issued_before" value="0"' in page
    token = console_token(organizer, "/console/rounds/r2012/groups/staff/codes")
    form = {"csrf_token": token, "count": "2", "format": "csv", "issued_before": "0", "nonce": "0123456789abcdef"}

    first = organizer.post("/console/rounds/r2012/groups/staff/codes", data=form)
    assert first.status_code == 200 and "attachment" in first.headers["Content-Disposition"]
    assert "issued-0123456789abcdef=1" in first.headers["Set-Cookie"]

    stale = organizer.post("/console/rounds/r2012/groups/staff/codes", data=form)
    html = stale.get_data(as_text=True)
    assert stale.status_code == 422 and "Content-Disposition" not in stale.headers
    assert "本群体已经发放过评议码（现共 2 个）" in html
    assert "已发放 2 个评议码" in html and 'name="issued_before" value="2"' in html

    again = organizer.post("/console/rounds/r2012/groups/staff/codes", data={**form, "again": "yes"})
    assert "attachment" in again.headers["Content-Disposition"]
    assert "已发放 4 个评议码" in organizer.get("/console/rounds/r2012/groups/staff/codes").get_data(as_text=True)


def test_org_ratings_table_starts_with_nine_rater_columns(organizer, make_round) -> None:  # noqa: ANN001
    make_round(status="closed")
    page = organizer.get("/console/rounds/r2012/org").get_data(as_text=True)
    assert len(re.findall(r'name="rater:\d+"', page)) == 9


def test_org_ratings_pasted_from_excel(organizer, make_round) -> None:  # noqa: ANN001
    """Cells copied out of Excel arrive tab-separated: a row of raters, then a row per subject
    by code and name (or either), blanks for a rater who did not rate that subject."""
    from survey.extensions import db

    make_round(status="closed")
    token = console_token(organizer, "/console/rounds/r2012/org")
    pasted = "代码\t名称\t张三\t李四\t王五\r\nB01\t计算机学院党总支\t90\t\t85.5\r\n机关党委\t80\t70\t\r\n"

    answer = organizer.post("/console/rounds/r2012/org", data={"csrf_token": token, "paste": pasted})

    assert answer.status_code == 303, answer.get_data(as_text=True)
    db.session.rollback()
    stored = db.session.execute(sa.text(
        "SELECT s.code, o.rater, o.score FROM org_ratings o JOIN round_subjects s ON s.id = o.subject_id")).all()
    assert sorted(stored) == sorted([("B01", "张三", 90.0), ("B01", "王五", 85.5), ("B02", "张三", 80.0),
                                     ("B02", "李四", 70.0)])
    # the first line has name and code columns, the third only the name: both placed by what they say
    bad = organizer.post("/console/rounds/r2012/org", data={"csrf_token": token, "paste": "代码\t张三\nB09\t90\n"})
    assert bad.status_code == 422
    assert "粘贴的第 2 行：“B09”不是本轮的评议对象" in bad.get_data(as_text=True)
    marked = organizer.post("/console/rounds/r2012/org", data={"csrf_token": token, "paste": "代码\t张三\nB01\t190\n"})
    html = marked.get_data(as_text=True)
    assert "分数 190 超出 0–100" in html
    assert re.search(r'name="score:B01:0" value="190"[^>]*class="invalid"', html)


def test_the_poster_shows_the_window_in_beijing_time_and_still_scans(organizer, make_round, spec, tmp_path) -> None:  # noqa: ANN001
    if not (shutil.which("zbarimg") and shutil.which("pdftoppm") and shutil.which("pdftotext")):
        pytest.skip("zbarimg, pdftoppm or pdftotext missing")
    spec.update(opens_at="2099-12-01T00:00:00+00:00", closes_at="2099-12-15T10:00:00+00:00")
    make_round(spec, status="open")
    poster = organizer.get("/console/rounds/r2012/groups/students/poster.pdf").get_data()
    (tmp_path / "poster.pdf").write_bytes(poster)

    text = subprocess.run(["pdftotext", str(tmp_path / "poster.pdf"), "-"], capture_output=True, text=True).stdout

    assert "评议时间：2099年12月01日08:00至12月15日18:00（北京时间）" in "".join(text.split())
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", str(tmp_path / "poster.pdf"), str(tmp_path / "poster")],
                   check=True)
    assert zbar(tmp_path / "poster.png") == [f"{BASE_URL}/r/r2012/students"]
