"""The console end to end in headless Chromium: an organizer signs in, builds a round from the
群众评议 template, adds a subject with its 公开承诺, issues a batch of codes, opens the round;
phones answer; the turnout page shows them; the organizer closes the round.

Uses the browser setup of ``test_browser.py`` (its fixtures and helpers); SQLite only.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import Round

from .console_helpers import PASSWORD, make_user
from .test_browser import (  # noqa: F401  (fixtures are found by name)
    _sqlite_and_a_browser,
    assert_fits_the_phone,
    laptop_driver,
    live_server,
    phone,
    shown_receipt,
    submit,
    tap_level,
    webdriver,
)

if webdriver is not None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait


@pytest.fixture
def laptop(live_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201, F811
    """A headless Chromium with a laptop-sized window that saves downloads in tmp_path/downloads."""
    monkeypatch.setenv("SE_OFFLINE", "true")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = laptop_driver(tmp_path, downloads)
    driver.downloads = downloads
    yield driver
    driver.quit()


def click_and_wait(driver, element) -> None:  # noqa: ANN001
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.TAG_NAME, "html") != old)
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def button(driver, text: str):  # noqa: ANN001, ANN201
    return driver.find_element(By.XPATH, f"//button[normalize-space()='{text}'] | //a[normalize-space()='{text}']")


def test_an_organizer_runs_a_round_from_the_console(app, live_server, laptop, phone) -> None:  # noqa: ANN001, F811
    make_user("zuzhibu", "organizer")
    site = live_server
    driver = laptop

    # sign in
    driver.get(f"{site}/console/")
    assert "/login" in driver.current_url
    driver.find_element(By.NAME, "username").send_keys("zuzhibu")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    click_and_wait(driver, button(driver, "登录"))
    assert driver.current_url.endswith("/console/")

    # a new round from the 群众评议 template
    click_and_wait(driver, driver.find_element(By.LINK_TEXT, "新建评议"))
    driver.find_element(By.CSS_SELECTOR, "input[name=start][value=branches]").click()
    driver.find_element(By.NAME, "title").send_keys("2026年基层党组织群众评议")
    driver.find_element(By.NAME, "slug").send_keys("b2026")
    year = driver.find_element(By.NAME, "year")
    from survey.timefmt import beijing_today

    assert year.get_attribute("value") == str(beijing_today().year), "the 年度 field starts filled in"
    year.clear()
    year.send_keys("2026")
    click_and_wait(driver, button(driver, "创建草稿"))
    assert driver.current_url.endswith("/console/rounds/b2026/edit")
    items = [driver.find_element(By.NAME, f"items-{i}-text").get_attribute("value") for i in range(5)]
    assert [t.split("：")[0] for t in items] == ["推动科学发展", "服务师生群众", "改进工作作风", "建设和谐校园", "加强基层组织"]

    # add a subject with its 公开承诺
    subjects = driver.find_element(By.NAME, "subjects")
    subjects.send_keys("\nB03 图书馆党支部 | 开馆时间延长到晚上十点")
    click_and_wait(driver, button(driver, "保存"))
    assert "已保存" in driver.page_source
    assert driver.find_element(By.NAME, "commitment:B03").get_attribute("value") == "开馆时间延长到晚上十点"

    # issue a batch of codes for the staff group, downloaded as CSV
    driver.get(f"{site}/console/rounds/b2026")
    click_and_wait(driver, driver.find_element(By.LINK_TEXT, "发放评议码"))
    assert "只显示这一次" in driver.page_source
    count = driver.find_element(By.NAME, "count")
    count.clear()
    count.send_keys("3")
    driver.find_element(By.CSS_SELECTOR, "input[name=format][value=csv]").click()
    button(driver, "生成并下载").click()
    deadline = time.time() + 15
    codes: list[str] = []
    while time.time() < deadline and len(codes) < 3:  # the file may appear before it is written
        for found in (f for f in driver.downloads.iterdir() if f.suffix == ".csv"):
            with found.open(encoding="utf-8-sig", newline="") as fh:
                codes = [row["url"].split("/b/")[1] for row in csv.DictReader(fh)]
        time.sleep(0.2)
    assert len(codes) == 3, "the codes CSV was downloaded with its 3 codes"
    # the page shows the new count without a reload by hand (a second batch is not issued by mistake)
    WebDriverWait(driver, 10).until(lambda d: "已发放 3 个评议码" in d.find_element(By.ID, "issued").text)
    assert "已生成 3 个评议码并下载" in driver.find_element(By.CSS_SELECTOR, ".flash-ok").text

    # open the round, after its confirmation page
    driver.get(f"{site}/console/rounds/b2026")
    click_and_wait(driver, driver.find_element(By.PARTIAL_LINK_TEXT, "开始评议"))
    assert "冻结" in driver.page_source
    click_and_wait(driver, button(driver, "确认开始评议"))
    assert "进行中" in driver.find_element(By.TAG_NAME, "h1").text

    # phones answer: one by a code, one by the students' open link
    answers_done = 0
    for url, group_fields in [(f"{site}/b/{codes[0]}", "staff"), (f"{site}/r/b2026/students", "students")]:
        handset = phone()
        handset.get(url)
        assert "开馆时间延长到晚上十点" in handset.page_source
        for field in {r.get_attribute("name") for r in handset.find_elements(By.CSS_SELECTOR, "input[type=radio]")}:
            tap_level(handset, field, "satisfied")
        assert_fits_the_phone(handset)
        submit(handset)
        shown_receipt(handset)
        answers_done += 1
    assert answers_done == 2

    # the turnout page shows them, and refreshes by itself
    driver.get(f"{site}/console/rounds/b2026")
    assert driver.find_element(By.CSS_SELECTOR, "meta[http-equiv=refresh]")
    rows = {r.text.split()[0]: r.text for r in driver.find_elements(By.CSS_SELECTOR, "table tbody tr")}
    assert " 3 2 1 " in f" {rows['教职工']} "  # 3 codes issued, 2 unused, 1 ballot
    assert "1" in rows["学生"].split()
    driver.get(f"{site}/console/rounds/b2026/projector")
    assert driver.find_element(By.CSS_SELECTOR, ".total").text.startswith("2")

    # close it
    driver.get(f"{site}/console/rounds/b2026/close")
    assert "销毁" in driver.page_source
    click_and_wait(driver, button(driver, "确认结束评议"))
    assert "已结束" in driver.find_element(By.TAG_NAME, "h1").text
    db.session.rollback()
    assert db.session.scalar(select(Round.status).where(Round.slug == "b2026")) == "closed"


def test_the_projector_shows_the_open_links_qr_the_count_and_the_time_left(
    app, make_round, spec, live_server, laptop, tmp_path  # noqa: ANN001, F811
) -> None:
    """On the screen of an on-site session: the students' QR (read back from a screenshot,
    as a phone would read it), how many have answered, how long is left."""
    import re
    import shutil
    import subprocess
    from datetime import datetime, timedelta, timezone

    from .conftest import page_tokens

    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg missing (apt-get install zbar-tools)")
    spec["closes_at"] = (datetime.now(timezone.utc) + timedelta(hours=2, minutes=30)).isoformat()
    make_round(spec)
    phone_client = app.test_client()
    page = phone_client.get("/r/r2012/students").get_data(as_text=True)
    phone_client.post("/r/r2012/students", data={**page_tokens(page), "a:B01:service": "satisfied",
                                                 "a:B01:conduct": "basic"})
    make_user("zuzhibu", "organizer")
    driver = laptop
    driver.get(f"{live_server}/login")
    driver.find_element(By.NAME, "username").send_keys("zuzhibu")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    click_and_wait(driver, button(driver, "登录"))

    driver.get(f"{live_server}/console/rounds/r2012/projector")

    assert re.fullmatch(r"还剩 2 小时 (29|30) 分（\d{4}-\d\d-\d\d \d\d:\d\d 结束）",
                        driver.find_element(By.ID, "time-left").text.replace("\n", ""))
    assert driver.find_element(By.CSS_SELECTOR, ".total").text.startswith("1")
    card = driver.find_element(By.ID, "qr-students")
    assert "学生" in card.text and "https://survey.example.edu.cn/r/r2012/students" in card.text
    assert card.size["width"] >= 250, "large enough to scan from the back of a room"
    shot = tmp_path / "projector-qr.png"
    card.screenshot(str(shot))
    read = subprocess.run(["zbarimg", "--quiet", "--raw", str(shot)], capture_output=True, text=True)
    assert read.stdout.split() == ["https://survey.example.edu.cn/r/r2012/students"]
    assert driver.find_elements(By.ID, "qr-staff") == [], "a codes group has no open link to show"
