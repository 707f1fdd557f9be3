"""A reviewer in a real browser (headless Chromium via Selenium, as in test_browser.py): signs
in, reads the scorecard, opens a subject, writes a 领导点评, downloads the PDF; at 360 px no page
scrolls sideways. Screenshots are saved beside the test's temporary files."""

from __future__ import annotations

import time
from pathlib import Path

from .console_helpers import PASSWORD, make_user
from .review_fixtures import closed_round
from .test_browser import (  # noqa: F401  (fixtures)
    _sqlite_and_a_browser,
    assert_fits_the_phone,
    laptop_driver,
    live_server,
    phone,
    tap,
)

try:
    from selenium.webdriver.common.by import By
except ImportError:  # the autouse fixture skips or fails first
    By = None


def full_page(driver, path: Path) -> None:  # noqa: ANN001
    """A screenshot of the whole page, not only the visible screen, for a person to look at."""
    import base64

    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.execute_script("return document.documentElement.clientWidth")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))


def submit(driver, selector: str) -> None:  # noqa: ANN001
    """Tap the submit button ``selector`` names and wait for the next page."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    button = driver.find_element(By.CSS_SELECTOR, selector)
    tap(driver, button)
    # while the old page goes, Chromium may answer "node does not belong to the document"
    # instead of a stale element: both mean the next page is on its way
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(EC.staleness_of(button))
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def test_reviewer_reads_scorecard_writes_remark_downloads_pdf(make_round, live_server, phone, tmp_path, monkeypatch) -> None:  # noqa: ANN001, F811
    closed_round(make_round)
    make_user("rev", "reviewer", ["y2025"])
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = phone(javascript=False)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})

    driver.get(f"{live_server}/console/rounds/y2025/scorecard")
    assert "/login" in driver.current_url
    driver.find_element(By.NAME, "username").send_keys("rev")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    submit(driver, "form[action^='/login'] button[type=submit]")
    driver.get(f"{live_server}/console/rounds/y2025/scorecard")
    assert "评议结果表" in driver.page_source
    assert driver.find_element(By.CSS_SELECTOR, 'tr[data-subject="B01"] [data-col="composite"]').text == "70.56"
    assert_fits_the_phone(driver)
    full_page(driver, tmp_path / "scorecard-360.png")

    # a link is followed by its address: chromedriver's click() hangs with touch and no JavaScript
    driver.get(driver.find_element(By.LINK_TEXT, "计算机学院党总支").get_attribute("href"))
    assert "/subjects/B01" in driver.current_url and "各项评价与答案分布" in driver.page_source
    assert_fits_the_phone(driver)
    full_page(driver, tmp_path / "subject-360.png")

    driver.find_element(By.ID, "remark-text").send_keys("作风建设要常抓不懈")
    driver.find_element(By.ID, "remark-name").send_keys("王书记")
    submit(driver, "form[action$='/remark'] button[type=submit]")
    assert "作风建设要常抓不懈" in driver.page_source and "领导点评已保存" in driver.page_source
    assert_fits_the_phone(driver)

    driver.get(f"{live_server}/console/rounds/y2025/scorecard.pdf")
    deadline = time.time() + 15
    while time.time() < deadline and not [p for p in downloads.iterdir() if p.suffix == ".pdf"]:
        time.sleep(0.2)
    pdfs = [p for p in downloads.iterdir() if p.suffix == ".pdf"]
    assert pdfs and pdfs[0].read_bytes().startswith(b"%PDF-")

    from .test_report_pdf import pdftotext

    printed = pdftotext(pdfs[0])
    assert "作风建设要常抓不懈" in printed
    assert "附录：意见建议" in printed and "希望多开展师生座谈" in printed
    assert "审核人（签字）" in printed and "单位（盖章）" in printed
    for page in ("rectify", "annual"):
        driver.get(f"{live_server}/console/rounds/y2025/{page}")
        assert_fits_the_phone(driver)
        full_page(driver, tmp_path / f"{page}-360.png")
    # the rated subject's own feedback page, opened from its link on a phone
    from survey.database import unit_of_work
    from survey.rounds.services import get_round
    from survey.scorecard.feedback import create_link, token_for

    with unit_of_work():
        token = token_for(create_link(get_round("y2025"), "B01", days=7, created_by="org"))
    driver.get(f"{live_server}/feedback/{token}")
    assert "计算机学院党总支" in driver.page_source and "机关党委" not in driver.page_source
    assert_fits_the_phone(driver)
    full_page(driver, tmp_path / "feedback-360.png")

    # the same pages on a 1280 px laptop screen (a second browser, without phone emulation)
    laptop = laptop_driver(tmp_path)
    try:
        laptop.get(f"{live_server}/login")
        laptop.find_element(By.NAME, "username").send_keys("rev")
        laptop.find_element(By.NAME, "password").send_keys(PASSWORD)
        laptop.find_element(By.CSS_SELECTOR, "form[action^='/login'] button[type=submit]").click()
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(laptop, 10).until(lambda d: "/login" not in d.current_url)  # signed in before moving on
        for page in ("scorecard", "subjects/B01"):
            laptop.get(f"{live_server}/console/rounds/y2025/{page}")
            scroll, client = laptop.execute_script(
                "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert client >= 1200 and scroll <= client, (page, scroll, client)
            full_page(laptop, tmp_path / f"{page.replace('/', '-')}-1280.png")
            # printed (A4 through the browser): navigation and forms are left off the paper
            import base64

            from .test_report_pdf import pdftotext

            printed = tmp_path / f"{page.replace('/', '-')}-print.pdf"
            printed.write_bytes(base64.b64decode(laptop.print_page()))
            text = pdftotext(printed)
            assert "70.56" in text and "退出" not in text and "保存点评" not in text, page
    finally:
        laptop.quit()


def test_a_rectification_item_added_by_hand_shows_its_unit(make_round, live_server, tmp_path, monkeypatch) -> None:  # noqa: ANN001, F811
    """From a meeting's decision: an organizer adds a 整改 item by hand on a laptop; the list
    shows it with its 单位, so two rows about the same item still read apart."""
    from selenium.webdriver.support.ui import Select, WebDriverWait

    closed_round(make_round)
    make_user("org", "organizer")
    monkeypatch.setenv("SE_OFFLINE", "true")
    laptop = laptop_driver(tmp_path)
    try:
        laptop.get(f"{live_server}/login")
        laptop.find_element(By.NAME, "username").send_keys("org")
        laptop.find_element(By.NAME, "password").send_keys(PASSWORD)
        laptop.find_element(By.CSS_SELECTOR, "form[action^='/login'] button[type=submit]").click()
        WebDriverWait(laptop, 10).until(lambda d: "/login" not in d.current_url)
        laptop.get(f"{live_server}/console/rounds/y2025/rectify")
        for code in ("B01", "B02"):
            Select(laptop.find_element(By.ID, "add-subject")).select_by_value(code)
            Select(laptop.find_element(By.ID, "add-item")).select_by_index(1)
            Select(laptop.find_element(By.ID, "add-reason")).select_by_visible_text("来自会议")
            laptop.find_element(By.ID, "add-problem").send_keys("党委会要求：办事流程公开不够")
            laptop.find_element(By.ID, "add-responsible").send_keys("办公室")
            old = laptop.find_element(By.TAG_NAME, "html")
            laptop.find_element(By.CSS_SELECTOR, "#add button[type=submit]").click()
            WebDriverWait(laptop, 10).until(lambda d: d.find_element(By.TAG_NAME, "html") != old)
            assert "已添加整改事项" in laptop.page_source
        rows = laptop.find_elements(By.CSS_SELECTOR, "table.entries tbody tr")
        units = [r.find_element(By.CSS_SELECTOR, "[data-col=unit]").text for r in rows
                 if "办事流程公开不够" in r.text]
        assert units == ["计算机学院党总支", "机关党委"]
        assert laptop.find_element(By.CSS_SELECTOR, "table.entries thead th").text == "单位"
    finally:
        laptop.quit()
