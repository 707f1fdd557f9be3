"""End to end in a real browser: headless Chromium, driven by Selenium, on a 360 px phone screen,
against the app served over HTTP by werkzeug in a thread.

What the HTML-level tests cannot show: that tapping a level's label selects it, that the form
submits with JavaScript off, that the page does not scroll sideways on a narrow phone, that
answers survive a refused submission, and that an open link remembers this browser.

Selenium is given Debian's chromedriver and /usr/bin/chromium explicitly, with SE_OFFLINE=true,
so Selenium Manager never downloads a driver or a browser. The browser part does not depend on
the database, so these tests run on SQLite only.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Ballot, BallotCode, Group, SealedBallot

from .conftest import IN_CI, stored_answers, stored_comments

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # reported by the fixture below: skipped, or failed under CI=true
    webdriver = None

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 360, 800  #: a small Android phone, in CSS pixels
PIXEL_RATIO = 2
RECEIPT_FORMAT = re.compile(r"[2-9A-Z]{4}-[2-9A-Z]{4}")
CHROME_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    f"--window-size={WIDTH},{HEIGHT}",
)

#: what the phone answers on /b/<code> (the staff group sees both subjects): every level once
STAFF_ANSWERS = {
    "a:B01:service": "satisfied",
    "a:B01:conduct": "basic",
    "a:B02:service": "dissatisfied",
    "a:B02:conduct": "unknown",
}


@pytest.fixture(autouse=True)
def _sqlite_and_a_browser(request: pytest.FixtureRequest) -> None:
    """Runs before ``app``, so neither PostgreSQL nor the app is set up for a test that is skipped."""
    if request.node.callspec.params.get("database_url") != "sqlite":
        pytest.skip("browser tests run on SQLite only: what they test is the page in a real browser, "
                    "the storage of ballots is covered on both databases by test_submission.py")
    missing = [what for what, ok in [
        ("the selenium package (pip install -e '.[test]')", webdriver is not None),
        (f"chromium at {CHROMIUM} (apt-get install chromium)", os.access(CHROMIUM, os.X_OK)),
        ("chromedriver (apt-get install chromium-driver)", shutil.which("chromedriver") is not None),
    ] if not ok]
    if missing:
        if IN_CI:
            pytest.fail(f"CI=true but {', '.join(missing)} missing: .ci/run must install them")
        pytest.skip(f"no browser to drive: {', '.join(missing)} missing")


@pytest.fixture
def live_server(app) -> Iterator[str]:  # noqa: ANN001
    """The app behind a real WSGI server on 127.0.0.1, in a daemon thread; its base URL."""
    from werkzeug.serving import make_server

    server = make_server(host="127.0.0.1", port=0, app=app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    db.session.rollback()  # the test's own session must not hold a read transaction open meanwhile
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def laptop_driver(tmp_path: Path, downloads: Path | None = None) -> WebDriver:
    """A headless Chromium with a 1280 × 900 window and no phone emulation (the console on an
    office laptop); saves downloads in ``downloads`` when given."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in CHROME_ARGS:
        if not arg.startswith("--window-size"):
            options.add_argument(arg)
    options.add_argument("--window-size=1280,900")
    options.add_argument(f"--user-data-dir={tmp_path / 'laptop-profile'}")
    if downloads is not None:
        options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                                  "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)
    driver.command_executor.client_config.timeout = 30  # a wedged driver fails the test, not hangs it
    driver.set_page_load_timeout(15)
    if downloads is not None:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    return driver


@pytest.fixture
def phone(live_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., WebDriver]]:
    """``phone(javascript=True)`` → a fresh headless Chromium with a 360 px touch screen.

    Each call gets a profile of its own (so cookies are not shared). All are quit before the
    server stops.
    """
    monkeypatch.setenv("SE_OFFLINE", "true")
    started: list[WebDriver] = []

    def start(*, javascript: bool = True) -> WebDriver:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in CHROME_ARGS:
            options.add_argument(arg)
        options.add_argument(f"--user-data-dir={tmp_path / f'profile-{len(started)}'}")
        # Headless Chromium will not make a window narrower than 500 px, whatever --window-size
        # says; the device metrics of mobile emulation give the page a true 360 px phone viewport
        # (one that honours <meta name=viewport>) with a touch screen.
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {
            "width": WIDTH, "height": HEIGHT, "pixelRatio": PIXEL_RATIO, "mobile": True, "touch": True,
        }})
        if not javascript:
            options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
        driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)
        started.append(driver)
        driver.command_executor.client_config.timeout = 30  # a wedged driver fails the test, not hangs it
        driver.set_page_load_timeout(15)
        return driver

    yield start
    for driver in started:
        driver.quit()


# --- helpers -------------------------------------------------------------------------------


def tap(driver: WebDriver, element: WebElement) -> None:
    """A finger's tap on the middle of ``element``: a touch pointer down and up (W3C actions).

    Not ``element.click()``: with touch emulation and JavaScript off, chromedriver's click
    never returns.
    """
    actions = ActionBuilder(driver, mouse=PointerInput(interaction.POINTER_TOUCH, "finger"))
    actions.pointer_action.move_to(element).pointer_down().pointer_up()
    actions.perform()


def tap_level(driver: WebDriver, field: str, value: str) -> None:
    """Tap the whole label of a level (its box), not the small radio inside it."""
    label = driver.find_element(By.XPATH, f"//label[input[@type='radio'][@name='{field}'][@value='{value}']]")
    tap(driver, label)
    assert driver.find_element(By.CSS_SELECTOR, f"input[name='{field}'][value='{value}']").is_selected()


def radio_fields(driver: WebDriver) -> set[str]:
    return {r.get_attribute("name") for r in driver.find_elements(By.CSS_SELECTOR, "input[type=radio]")}


def checked(driver: WebDriver) -> dict[str, str]:
    return {r.get_attribute("name"): r.get_attribute("value")
            for r in driver.find_elements(By.CSS_SELECTOR, "input[type=radio]") if r.is_selected()}


def widths(driver: WebDriver) -> tuple[int, int]:
    """(scrollWidth, clientWidth) of the document, read through the driver (DevTools), which
    works whether or not the page may run scripts: it measures layout, not page behaviour."""
    scroll, client = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    return scroll, client


def assert_fits_the_phone(driver: WebDriver) -> None:
    scroll, client = widths(driver)
    assert client == WIDTH, f"the viewport is {client} px wide, not a {WIDTH} px phone"
    assert scroll <= client, f"the page scrolls sideways: {scroll} px of content in a {client} px screen"


def submit(driver: WebDriver) -> None:
    """Tap the submit button and wait for the next page."""
    button = driver.find_element(By.CSS_SELECTOR, "form button[type=submit]")
    tap(driver, button)
    # while the old page goes, Chromium may answer "node does not belong to the document"
    # instead of a stale element: both mean the next page is on its way
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(EC.staleness_of(button))
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def submit_with(driver: WebDriver, text: str) -> None:
    """Tap the submit button that says ``text`` and wait for the next page."""
    button = driver.find_element(By.XPATH, f"//button[@type='submit'][normalize-space()='{text}']")
    tap(driver, button)
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(EC.staleness_of(button))
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def font_size(driver: WebDriver, selector: str) -> float:
    """The computed font size of the first element ``selector`` finds, in CSS pixels (read
    through the driver, as ``widths`` is: it works with the page's scripts off)."""
    return float(driver.execute_script(
        "return getComputedStyle(document.querySelector(arguments[0])).fontSize", selector).removesuffix("px"))


def shown_receipt(driver: WebDriver) -> str:
    receipt = WebDriverWait(driver, 10).until(EC.visibility_of_element_located((By.ID, "receipt"))).text.strip()
    assert RECEIPT_FORMAT.fullmatch(receipt), receipt
    return receipt


def stored_ballots() -> list[tuple[str, str]]:
    """(receipt, group key) when exactly one ballot is stored (receipts name no ballot, so the
    pair is only known when there is one of each); else every receipt and every group apart."""
    from survey.models import Receipt

    db.session.rollback()
    receipts = list(db.session.scalars(select(Receipt.receipt)))
    groups = [key for table in (SealedBallot, Ballot)
              for key in db.session.scalars(select(Group.key).join(table, table.group_id == Group.id))]
    if len(receipts) == len(groups) <= 1:
        return list(zip(receipts, groups))
    return [(*receipts,), (*groups,)]


def stored_fields() -> dict[str, str]:
    """The stored answers as the form fields that sent them."""
    return {f"a:{subject}:{item}": level for subject, item, level in stored_answers()}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


# --- tests ---------------------------------------------------------------------------------


def test_a_phone_without_javascript_answers_by_tapping_labels(
    make_round, spec, issue_codes, phone, live_server, tmp_path  # noqa: ANN001
) -> None:
    code = issue_codes(make_round(spec), "staff", 1)[0]
    driver = phone(javascript=False)

    # the preference really is in force: a page's own script does not run
    driver.get("data:text/html,<title>off</title><script>document.title='on'</script>")
    assert driver.title == "off"

    driver.get(f"{live_server}/b/{code}")
    assert radio_fields(driver) == set(STAFF_ANSWERS), "the staff questionnaire asks every item of both subjects"
    assert checked(driver) == {}
    for field, value in STAFF_ANSWERS.items():
        tap_level(driver, field, value)
    comment = "希望多听取一线教师意见"
    box = driver.find_element(By.NAME, "c:B01")
    tap(driver, box)
    box.send_keys(comment)
    assert box.get_attribute("value") == comment
    assert checked(driver) == STAFF_ANSWERS
    assert_fits_the_phone(driver)

    submit(driver)
    receipt = shown_receipt(driver)
    assert "提交成功" in driver.find_element(By.TAG_NAME, "h2").text
    assert_fits_the_phone(driver)
    shot = tmp_path / "receipt.png"
    assert driver.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert len(data) > 1000
    assert png_size(data) == (WIDTH * PIXEL_RATIO, HEIGHT * PIXEL_RATIO)

    assert stored_ballots() == [(receipt, "staff")]
    assert stored_fields() == STAFF_ANSWERS
    assert stored_comments() == [("B01", "staff", comment)]
    assert db.session.scalar(select(func.count()).select_from(BallotCode)) == 0, "the code is spent"


def test_a_too_long_comment_comes_back_with_the_answers_kept(
    make_round, spec, issue_codes, phone, live_server  # noqa: ANN001
) -> None:
    code = issue_codes(make_round(spec), "staff", 1)[0]
    driver = phone(javascript=True)
    driver.get(f"{live_server}/b/{code}")
    assert_fits_the_phone(driver)

    answers = {"a:B01:service": "basic", "a:B02:conduct": "satisfied"}
    for field, value in answers.items():
        tap_level(driver, field, value)
    box = driver.find_element(By.NAME, "c:B01")
    assert box.get_attribute("maxlength") == "1000"  # typing cannot go past it: set the value as a script could
    driver.execute_script("arguments[0].value = arguments[1]", box, "长" * 1001)
    submit(driver)

    assert driver.find_elements(By.ID, "receipt") == []
    assert "提交未成功" in driver.find_element(By.CSS_SELECTOR, ".card .err").text
    errors = driver.find_elements(By.CSS_SELECTOR, "fieldset.errors .err")
    assert [e.text for e in errors] == ["意见建议最多1000字。"]
    assert all(e.is_displayed() for e in errors)
    assert checked(driver) == answers, "the answers already given are still selected"
    assert len(driver.find_element(By.NAME, "c:B01").get_attribute("value")) == 1001
    assert_fits_the_phone(driver)
    assert stored_ballots() == []

    # the code was not spent: shorten the comment and send again; two items are left
    # unanswered, so the next page lists them, and 仍然提交 stores the ballot as it is
    box = driver.find_element(By.NAME, "c:B01")
    box.clear()
    box.send_keys("意见已精简")
    submit(driver)
    assert "还有 2 题未作答" in driver.find_element(By.ID, "unanswered").text
    submit_with(driver, "仍然提交")
    receipt = shown_receipt(driver)
    assert stored_ballots() == [(receipt, "staff")]
    assert stored_fields() == answers
    assert stored_comments() == [("B01", "staff", "意见已精简")]


def test_an_open_link_takes_one_ballot_per_browser(make_round, spec, phone, live_server) -> None:  # noqa: ANN001
    make_round(spec)
    url = f"{live_server}/r/{spec['slug']}/students"
    driver = phone()
    driver.get(url)
    assert "学生" in driver.find_element(By.CSS_SELECTOR, "main .card").text
    assert radio_fields(driver) == {"a:B01:service", "a:B01:conduct"}
    assert_fits_the_phone(driver)
    tap_level(driver, "a:B01:service", "satisfied")
    tap_level(driver, "a:B01:conduct", "dissatisfied")
    submit(driver)
    receipt = shown_receipt(driver)

    driver.get(url)
    assert driver.find_elements(By.TAG_NAME, "form") == []
    assert "您已在本设备上提交过本次评议" in driver.find_element(By.TAG_NAME, "main").text
    assert_fits_the_phone(driver)

    # another browser (another phone) still gets the questionnaire: it is this browser that is known
    other = phone()
    other.get(url)
    assert radio_fields(other) == {"a:B01:service", "a:B01:conduct"}

    assert stored_ballots() == [(receipt, "students")]
    assert stored_fields() == {"a:B01:service": "satisfied", "a:B01:conduct": "dissatisfied"}


def test_unanswered_items_are_listed_before_the_ballot_is_stored_in_large_type(
    make_round, spec, issue_codes, phone, live_server  # noqa: ANN001
) -> None:
    """A retiree opens the 大字 page, answers one item and presses 提交: a page lists the three
    left, 返回修改 brings the form back with the answer kept, 仍然提交 stores it as it is;
    the type stays large throughout and nothing scrolls sideways."""
    code = issue_codes(make_round(spec), "staff", 1)[0]
    driver = phone(javascript=False)
    driver.get(f"{live_server}/b/{code}")
    assert "本问卷共 4 题" in driver.find_element(By.ID, "question-count").text
    normal = font_size(driver, "legend")

    # the link is followed by its address: chromedriver's click() hangs with touch and no JavaScript
    driver.get(driver.find_element(By.LINK_TEXT, "看不清？用大字版").get_attribute("href"))
    assert driver.current_url.endswith("?large=1")
    assert font_size(driver, "legend") >= normal * 1.25
    assert font_size(driver, ".opts label") >= 20
    assert_fits_the_phone(driver)

    tap_level(driver, "a:B01:conduct", "basic")
    submit(driver)
    listing = driver.find_element(By.ID, "unanswered").text
    assert "还有 3 题未作答（共 4 题）" in listing
    assert [li.text for li in driver.find_elements(By.CSS_SELECTOR, "ol.missing li")] == [
        "计算机学院党总支：服务师生", "机关党委：服务师生", "机关党委：工作作风"]
    assert font_size(driver, "ol.missing li") >= normal * 1.25
    assert_fits_the_phone(driver)
    assert stored_ballots() == []

    submit_with(driver, "返回修改")
    assert checked(driver) == {"a:B01:conduct": "basic"}, "the answer given is kept"
    assert driver.current_url.endswith("?large=1#q1")
    assert "未作答" in driver.find_element(By.ID, "q1").text
    assert font_size(driver, "legend") >= normal * 1.25
    tap_level(driver, "a:B02:service", "unknown")
    submit(driver)
    assert "还有 2 题未作答" in driver.find_element(By.ID, "unanswered").text

    submit_with(driver, "仍然提交")
    receipt = shown_receipt(driver)
    assert font_size(driver, "#receipt") >= 34
    assert_fits_the_phone(driver)
    assert stored_ballots() == [(receipt, "staff")]
    assert stored_fields() == {"a:B01:conduct": "basic", "a:B02:service": "unknown"}
