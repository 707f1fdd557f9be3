"""监票人保管 end to end in headless Chromium: the organizer hands the 监票人 a one-time link;
the 监票人's browser makes the key pair (vendored @noble/curves), saves the key file, prints the
key sheet (its QR read back by pdftoppm + zbarimg) and sends only the public key; the organizer
opens the round; phones vote; the organizer closes it with the uploaded key file. The scorecard
equals the scorecard of the same ballots in a round whose key the server keeps.

The app is served on 127.0.0.1, a secure context, as the key page requires. SQLite only (see
``test_browser.py``).
"""

from __future__ import annotations

import base64
import copy
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.ballotbox.keyfile import read_key_path
from survey.ballotbox.keys import fingerprint
from survey.ballotbox.sheet import read_back
from survey.ballotbox.words import key_from_words, mnemonics_in
from survey.extensions import db
from survey.models import Round

from .console_helpers import PASSWORD, make_user
from .test_ballot_box_teller import BALLOTS, EXPECTED_ANSWERS, counted_answers
from .test_browser import (  # noqa: F401  (fixtures are found by name)
    _sqlite_and_a_browser,
    laptop_driver,
    live_server,
    phone,
    shown_receipt,
    tap,
    tap_level,
    webdriver,
)
from .test_browser import submit as submit_page
from .test_console_browser import button, click_and_wait

if webdriver is not None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.print_page_options import PrintOptions
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait


@pytest.fixture
def browsers(live_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201, F811
    """``browsers(name)`` → a laptop-sized headless Chromium saving downloads in tmp_path/name."""
    monkeypatch.setenv("SE_OFFLINE", "true")
    started = []

    def start(name: str):  # noqa: ANN202
        downloads = tmp_path / name
        downloads.mkdir()
        driver = laptop_driver(tmp_path / f"{name}-profile", downloads)
        driver.downloads = downloads
        started.append(driver)
        return driver

    yield start
    for driver in started:
        driver.quit()


def downloaded(driver, suffix: str, timeout: float = 15) -> Path:  # noqa: ANN001
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [f for f in driver.downloads.iterdir() if f.name.endswith(suffix)]
        if found and found[0].stat().st_size > 0:
            time.sleep(0.2)  # a file may appear before it is complete
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no {suffix} file was downloaded")


def sign_in(driver, site: str) -> None:  # noqa: ANN001
    driver.get(f"{site}/console/")
    driver.find_element(By.NAME, "username").send_keys("zuzhibu")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    click_and_wait(driver, button(driver, "登录"))


def answer_on_a_phone(handset, url: str, answers: dict[str, str]) -> str:  # noqa: ANN001
    """Answer on the phone; the questionnaire's footer."""
    handset.get(url)
    footer = handset.find_element(By.TAG_NAME, "footer").text
    for field, value in answers.items():
        if field.startswith("a:"):
            tap_level(handset, field, value)
        else:
            box = handset.find_element(By.NAME, field)
            tap(handset, box)
            box.send_keys(value)
    submit_page(handset)
    shown_receipt(handset)
    return footer


def test_a_key_made_in_the_tellers_browser_opens_the_round(app, live_server, browsers, phone, make_round, spec,  # noqa: ANN001, F811
                                                           issue_codes, submit) -> None:  # noqa: F811
    from survey.scorecard.services import round_results, scorecard_csv

    make_user("zuzhibu", "organizer")
    teller_spec = dict(copy.deepcopy(spec), ballot_box="teller")
    make_round(teller_spec, status="draft")
    site = live_server
    organizer = browsers("organizer")

    # the organizer makes the one-time link on the round page
    sign_in(organizer, site)
    organizer.get(f"{site}/console/rounds/r2012")
    assert "尚未收到监票人的公钥" in organizer.page_source
    click_and_wait(organizer, button(organizer, "生成监票人密钥链接…"))
    link = organizer.find_element(By.ID, "keygen-link").text
    path = link.removeprefix("https://survey.example.edu.cn")
    assert path.startswith("/k/")

    # the 监票人's own browser: the key made there, saved and printed, the public key sent
    teller = browsers("teller")
    teller.get(site + path)
    assert teller.execute_script("return window.isSecureContext") is True
    WebDriverWait(teller, 10).until(EC.element_to_be_clickable((By.ID, "generate"))).click()
    WebDriverWait(teller, 30).until(EC.visibility_of_element_located((By.ID, "step2")))
    shown = teller.find_element(By.ID, "fingerprint").text
    teller.find_element(By.LINK_TEXT, "下载密钥文件").click()
    key_file = downloaded(teller, ".key.json")
    private = read_key_path(key_file, private=True)
    public = bytes.fromhex(json.loads(key_file.read_text())["public_key"])
    from nacl.public import PrivateKey

    assert bytes(PrivateKey(private).public_key) == public, "the page's X25519 agrees with libsodium's"
    assert fingerprint(public) == shown

    options = PrintOptions()
    options.page_width, options.page_height = 21.0, 29.7
    sheet = base64.b64decode(teller.print_page(options))
    (teller.downloads / "sheet.pdf").write_bytes(sheet)
    words = read_back(sheet)
    assert words is not None, "pdftoppm and zbarimg are installed where the tests run"
    assert key_from_words(mnemonics_in(words)) == private, "the printed sheet's QR gives the key back"
    printed = teller.find_element(By.CSS_SELECTOR, ".sheet ol").text.split()
    assert key_from_words(mnemonics_in(" ".join(printed))) == private, "and so do its words"

    assert not teller.find_element(By.ID, "send").is_enabled(), "nothing is sent before the key is saved"
    teller.find_element(By.ID, "saved").click()
    teller.find_element(By.ID, "send").click()
    WebDriverWait(teller, 10).until(EC.text_to_be_present_in_element((By.ID, "status"), "服务器已收到公钥"))
    db.session.rollback()
    assert db.session.scalar(select(Round.box_public_key).where(Round.slug == "r2012")) == public.hex()

    # the organizer sees the fingerprint and opens the round
    organizer.get(f"{site}/console/rounds/r2012")
    assert shown in organizer.find_element(By.ID, "ballot-box").text
    click_and_wait(organizer, organizer.find_element(By.PARTIAL_LINK_TEXT, "开始评议"))
    assert shown in organizer.page_source
    click_and_wait(organizer, button(organizer, "确认开始评议"))
    assert "进行中" in organizer.find_element(By.TAG_NAME, "h1").text

    # phones vote
    codes = iter(issue_codes(db.session.scalar(select(Round).where(Round.slug == "r2012")), "staff", 2))
    for group, answers in BALLOTS:
        url = f"{site}/b/{next(codes)}" if group == "staff" else f"{site}/r/r2012/students"
        handset = phone()
        assert shown in answer_on_a_phone(handset, url, answers), "the questionnaire shows the fingerprint"

    # closed with the uploaded key file
    organizer.get(f"{site}/console/rounds/r2012/close")
    organizer.find_element(By.ID, "key").send_keys(str(key_file))
    click_and_wait(organizer, button(organizer, "确认结束评议"))
    assert "已结束" in organizer.find_element(By.TAG_NAME, "h1").text
    assert counted_answers("r2012") == EXPECTED_ANSWERS

    # the same ballots in a round whose key the server keeps score the same
    server_round = make_round(dict(copy.deepcopy(spec), slug="r2013"))
    codes = iter(issue_codes(server_round, "staff", 2))
    for group, answers in BALLOTS:
        url = f"/b/{next(codes)}" if group == "staff" else "/r/r2013/students"
        assert submit(url, answers, with_client=app.test_client()).status_code == 200
    from survey.rounds.services import close_round, get_round

    close_round(get_round("r2013"))
    db.session.rollback()
    teller_card = scorecard_csv(round_results(get_round("r2012")).scorecard)
    server_card = scorecard_csv(round_results(get_round("r2013")).scorecard)
    assert teller_card == server_card
    assert len(teller_card.splitlines()) >= 3


def test_a_tellers_group_gets_three_shares_from_the_key_page(app, live_server, browsers, make_round, spec) -> None:  # noqa: ANN001, F811
    from itertools import combinations

    from nacl.public import PrivateKey

    from survey.ballotbox.custody import create_keygen_link
    from survey.database import unit_of_work
    from survey.rounds.services import get_round

    make_round(dict(copy.deepcopy(spec), ballot_box="teller"), status="draft")
    with unit_of_work():
        token = create_keygen_link(get_round("r2012"), created_by="org")
    teller = browsers("group")
    teller.get(f"{live_server}/k/{token}")
    teller.find_element(By.CSS_SELECTOR, "input[name=mode][value=shares]").click()
    WebDriverWait(teller, 10).until(EC.element_to_be_clickable((By.ID, "generate"))).click()
    WebDriverWait(teller, 30).until(EC.visibility_of_element_located((By.ID, "step2")))
    assert len(teller.find_elements(By.CSS_SELECTOR, ".sheet")) == 3, "one sheet per share"
    files = []
    for number in (1, 2, 3):
        teller.find_element(By.LINK_TEXT, f"下载分片 {number} 的文件").click()
        files.append(json.loads(downloaded(teller, f".share-{number}.json").read_text()))
    public = bytes.fromhex(files[0]["public_key"])

    keys = {key_from_words([a["words"], b["words"]]) for a, b in combinations(files, 2)}

    assert len(keys) == 1, "any two of the three shares give the same key"
    assert bytes(PrivateKey(keys.pop()).public_key) == public
    teller.find_element(By.ID, "saved").click()
    teller.find_element(By.ID, "send").click()
    WebDriverWait(teller, 10).until(EC.text_to_be_present_in_element((By.ID, "status"), "服务器已收到公钥"))
    db.session.rollback()
    assert db.session.scalar(select(Round.box_public_key).where(Round.slug == "r2012")) == public.hex()
