"""What a school hands its 党委, seen in a real browser (headless Chromium on a laptop screen, as
in test_review_browser.py): a reviewer merges a roster that Excel saved in GB18030 and headed
代码,名称 into the annual assessment and downloads the workbook; the scorecard page says each
fact once; an organizer's mistyped organizational rating is marked in its cell and said in
Chinese; feedback links carry the public address; the audit log reads in words."""

from __future__ import annotations

import time
from pathlib import Path

from .console_helpers import PASSWORD, make_user
from .review_fixtures import SPEC, closed_round, spec_for
from .test_browser import (  # noqa: F401  (fixtures)
    _sqlite_and_a_browser,
    laptop_driver,
    live_server,
)

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # the autouse fixture skips or fails first
    By = WebDriverWait = None

ROSTER = "代码,名称,日常考核,述职评议\nB01,计算机学院党总支,92,88\nB02,机关党委,85,\n"


def sign_in(driver, base: str, name: str) -> None:  # noqa: ANN001
    driver.get(f"{base}/login")
    driver.find_element(By.NAME, "username").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form[action^='/login'] button[type=submit]").click()
    WebDriverWait(driver, 10).until(lambda d: "/login" not in d.current_url)


def submit(driver, selector: str) -> None:  # noqa: ANN001
    """Click the button ``selector`` names (CSS, or XPath when it starts with //) and wait for
    the next page."""
    button = driver.find_element(By.XPATH if selector.startswith("//") else By.CSS_SELECTOR, selector)
    button.click()
    WebDriverWait(driver, 15).until(lambda d: d.execute_script("return document.readyState") == "complete"
                                    and not _attached(d, button))


def _attached(driver, element) -> bool:  # noqa: ANN001
    try:
        element.is_enabled()
        return True
    except Exception:  # noqa: BLE001  (stale: the next page has come)
        return False


def test_a_reviewer_and_an_organizer_see_chinese_deliverables(make_round, live_server, tmp_path) -> None:  # noqa: ANN001, F811
    from openpyxl import load_workbook

    from survey.database import unit_of_work
    from survey.settings import set_base_url

    spec = spec_for("y2025", 2025)
    spec["scheme"] = dict(SPEC["scheme"], min_group_responses=3, min_participation=0.6)
    closed_round(make_round, spec)
    make_user("rev", "reviewer", ["y2025"])
    make_user("root", "admin")
    with unit_of_work():
        set_base_url("https://pingyi.example.edu.cn")
    roster = tmp_path / "名册.csv"
    roster.write_bytes(ROSTER.encode("gb18030"))
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    driver = laptop_driver(tmp_path, downloads)
    try:
        sign_in(driver, live_server, "rev")
        # the scorecard: one note per fact, none saying a left-out group still counts
        driver.get(f"{live_server}/console/rounds/y2025/scorecard")
        notes = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "tr.notes-row ul.flags li")]
        assert "未计入学生：该群体有效票少于3张，其权重按比例分给其余群体；其分项数据也不予显示" in notes
        assert notes.count("教职工、学生、离退休同志参与率低于60%") == 1
        assert "仍计入公众评分" not in driver.page_source

        # the annual merge with the page's own defaults and a GB18030 roster headed 代码,名称
        driver.get(f"{live_server}/console/rounds/y2025/annual")
        assert driver.find_element(By.NAME, "name0").get_attribute("value") == "日常考核"
        driver.find_element(By.ID, "roster").send_keys(str(roster))
        submit(driver, "//button[text()='预览']")
        header = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "table.annual th")]
        assert header == ["代码", "名称", "日常考核", "述职评议", "群众评议", "年度得分", "等次", "名次", "说明"]
        b01 = driver.find_element(By.CSS_SELECTOR, 'tr[data-subject="B01"] [data-col="年度得分"]').text
        assert b01 == f"{0.4 * 92 + 0.3 * 88 + 0.3 * 70.79:.2f}"
        assert "缺少「述职评议」得分" in driver.find_element(By.CSS_SELECTOR, 'tr[data-subject="B02"]').text
        driver.find_element(By.CSS_SELECTOR, "button[name=download]").click()  # from the kept copy
        deadline = time.time() + 15
        while time.time() < deadline and not [p for p in downloads.iterdir() if p.suffix == ".xlsx"]:
            time.sleep(0.2)
        book = load_workbook(next(p for p in downloads.iterdir() if p.suffix == ".xlsx"))
        assert book.sheetnames[:2] == ["年度考核", "data"]
        assert [c.value for c in book["年度考核"][1]][:2] == ["代码", "名称"]
        assert [c.value for c in book["data"][1]][:2] == ["subject", "name"]
        driver.delete_all_cookies()

        # an organizer's table: the mistyped score is marked in its own cell, said in Chinese
        sign_in(driver, live_server, "root")
        driver.get(f"{live_server}/console/rounds/y2025/org")
        driver.find_element(By.NAME, "rater:0").send_keys("张三")
        driver.find_element(By.NAME, "score:B01:0").send_keys("90")
        driver.find_element(By.NAME, "score:B02:0").send_keys("105")
        submit(driver, "//button[text()='保存表格']")
        marked = driver.find_elements(By.CSS_SELECTOR, "input.invalid")
        assert [m.get_attribute("name") for m in marked] == ["score:B02:0"]
        assert marked[0].get_attribute("value") == "105"
        assert "机关党委（评价人“张三”）：分数 105 超出 0–100" in driver.find_element(By.CSS_SELECTOR, ".flash-error").text
        Path(tmp_path / "org-marked.png").write_bytes(driver.get_screenshot_as_png())

        # a feedback link carries the stored public address, not 127.0.0.1
        driver.get(f"{live_server}/console/rounds/y2025/feedback")
        driver.find_element(By.CSS_SELECTOR, "input[name=subject][value=B01]").click()
        submit(driver, "//button[text()='生成链接']")
        link = driver.find_element(By.CSS_SELECTOR, "input[aria-label=反馈链接]").get_attribute("value")
        assert link.startswith("https://pingyi.example.edu.cn/feedback/")
        driver.get(live_server + link.removeprefix("https://pingyi.example.edu.cn"))
        assert "计算机学院党总支" in driver.page_source

        # the audit log in words
        driver.get(f"{live_server}/console/audit")
        log = driver.find_element(By.CSS_SELECTOR, "table tbody").text
        assert "生成反馈链接" in log and "反馈链接被打开" in log
        assert "feedback." not in log and "其他操作" not in log
    finally:
        driver.quit()
