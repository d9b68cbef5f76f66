"""`sdl workshop` verbs and the instructor page in a real browser (headless Chromium)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.workshops.cli import workshop
from tests.support.browser import chromium, login, require_chromium, wait_for
from tests.support.platform import SHARED_PASSWORD, RunningPlatform
from tests.workshops.conftest import Service
from tests.workshops.helpers import make_zip


def test_cli_verbs(platform: RunningPlatform, tmp_path: Path) -> None:
    iris = Service(platform, "iris")
    runner = CliRunner()
    base = ["--url", platform.url, "--token", iris.token]
    made = runner.invoke(workshop, [*base, "create", "cli-ws", "--ends", "+2h"])
    assert made.exit_code == 0, made.output
    folder = tmp_path / "set"
    (folder / "nb").mkdir(parents=True)
    (folder / "nb" / "a.ipynb").write_text("{}")
    assert runner.invoke(workshop, [*base, "upload", "cli-ws", str(folder)]).exit_code == 0
    sheet = tmp_path / "accounts.csv"
    result = runner.invoke(workshop, [*base, "accounts", "cli-ws", "-n", "2", "--csv", str(sheet)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(sheet.read_text())))
    assert [r["username"] for r in rows] == ["cli-ws-01", "cli-ws-02"]
    assert oct(sheet.stat().st_mode & 0o777) == "0o600"
    handed = runner.invoke(workshop, [*base, "handout", "cli-ws"])
    assert handed.exit_code == 0 and '"version": 1' in handed.output
    listed = runner.invoke(workshop, [*base, "list"])
    assert "cli-ws" in listed.output
    ivan = Service(platform, "ivan")
    ivan.call("POST", "/workshops", json={"name": "ivan-cli", "starts_at": "+0m", "ends_at": "+1h"})
    refused = runner.invoke(workshop, [*base, "handout", "ivan-cli"])
    assert refused.exit_code != 0 and "belongs to ivan" in str(refused.exception)


def says(driver, text: str) -> bool:
    """The page shows `text` (False while it is being replaced by the next one)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    try:
        return text in driver.find_element(By.TAG_NAME, "body").text
    except WebDriverException:
        return False


@pytest.mark.browser
def test_instructor_page_flow(platform: RunningPlatform, tmp_path: Path) -> None:
    require_chromium()
    from selenium.webdriver.common.by import By

    zipped = tmp_path / "course.zip"
    zipped.write_bytes(make_zip({"course/hello.ipynb": "{}", "course/notes.md": "n"}))
    page = f"{platform.url}/services/workshops/"
    with chromium() as driver:
        login(driver, platform.url, "ivan", SHARED_PASSWORD)
        driver.get(page)
        wait_for(driver, lambda d: d.find_elements(By.ID, "create-form"), 60, "the create form")
        driver.find_element(By.NAME, "name").send_keys("web-ws")
        driver.find_element(By.NAME, "title").send_keys("Made in a browser")
        driver.find_element(By.ID, "create-button").click()
        wait_for(driver, lambda d: says(d, "Workshop web-ws created"), 30, "the workshop page")

        driver.find_element(By.CSS_SELECTOR, "input[name=zip]").send_keys(str(zipped))
        driver.find_element(By.ID, "upload-button").click()
        wait_for(driver, lambda d: says(d, "uploaded"), 30, "the upload to finish")

        count = driver.find_element(By.CSS_SELECTOR, "input[name=count]")
        count.clear()
        count.send_keys("2")
        driver.find_element(By.ID, "accounts-button").click()
        wait_for(driver, lambda d: d.find_elements(By.ID, "accounts"), 30, "the accounts table")
        cells = driver.find_elements(By.CSS_SELECTOR, "#accounts td")
        accounts = {cells[i].text: cells[i + 1].text for i in range(0, len(cells), 2)}
        assert sorted(accounts) == ["web-ws-01", "web-ws-02"]
        link = driver.find_element(By.ID, "csv-download").get_attribute("href")
        assert link.startswith("data:text/csv;base64,")
        driver.find_element(By.LINK_TEXT, "Back to the workshop").click()

        wait_for(driver, lambda d: d.find_elements(By.ID, "handout-button"), 30, "the page")
        driver.find_element(By.ID, "handout-button").click()
        wait_for(driver, lambda d: says(d, "Version 1 handed out"), 60, "the hand-out message")
        assert driver.find_element(By.ID, "version").text == "1"
        table = driver.find_element(By.ID, "participants").text
        assert "web-ws-01" in table and "account" in table

    # a participant logs in with a generated password and finds the notebooks
    participant = Service(platform, "web-ws-01", accounts["web-ws-01"])
    participant.spawn()
    from tests.support.platform import wait_until as eventually

    listing = eventually(
        lambda: (r := participant.contents("workshops/web-ws")).status_code == 200 and r.json(),
        30,
        "the notebooks at spawn",
    )
    assert {i["name"] for i in listing["content"]} == {"hello.ipynb", "notes.md"}
