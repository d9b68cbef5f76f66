"""The platform in a real browser: login form → profile choice → JupyterLab.

Headless Chromium (Selenium) against a real `sdl up`. Skipped with the install command
where Chromium or chromedriver is missing. Run on its own:

    python -m pytest tests/test_browser.py -q

The screenshot of the opened workspace is saved to tests/artifacts/jupyterlab.png.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import (
    chromium,
    dismiss_news_popup,
    login,
    require_chromium,
    save_screenshot,
    wait_for,
)
from tests.support.platform import (
    ADMIN_PASSWORD,
    SHARED_PASSWORD,
    HubClient,
    RunningPlatform,
    start_platform,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SPAWN_WAIT = 120  # seconds: generous, as NOTES.md advises (a cold spawn takes ~10 s here)
START_BUTTON = "//form//button[@type='submit'][normalize-space()='Start']"
SETTINGS = {
    "auth": {"type": "shared-password", "admin_users": ["admin"]},  # the workshop password
    "groups": {"gpu-users": ["gina"]},
    "hub": {"spawn_timeout": 120},
}


@pytest.fixture(scope="module")
def platform() -> Iterator[RunningPlatform]:
    require_chromium()  # skip before starting a hub for nothing
    with start_platform(SETTINGS) as running:
        yield running


def profile_choices(driver) -> dict[str, bool]:
    """Profile radio buttons on the spawn page: slug → checked."""
    from selenium.webdriver.common.by import By

    radios = driver.find_elements(By.CSS_SELECTOR, "form input[type=radio][name=profile]")
    return {radio.get_attribute("value"): radio.is_selected() for radio in radios}


def open_spawn_page(driver, base_url: str) -> dict[str, bool]:
    from selenium.webdriver.common.by import By

    driver.get(f"{base_url}/hub/spawn")
    wait_for(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, "input[name=profile]"),
        60,
        "the profile choice on the spawn page",
    )
    return profile_choices(driver)


def test_login_choose_medium_and_open_jupyterlab(platform: RunningPlatform) -> None:
    from selenium.webdriver.common.by import By

    started = time.monotonic()
    with chromium() as driver:
        login(driver, platform.url, "alice", SHARED_PASSWORD)

        choices = open_spawn_page(driver, platform.url)
        assert set(choices) == {"small", "medium", "large"}, choices  # no gpu: not a member
        assert choices["small"], f"small is the default profile: {choices}"
        assert driver.find_elements(By.XPATH, "//*[contains(., 'Medium — 4 CPU, 16 GiB')]")

        driver.find_element(By.CSS_SELECTOR, "input[name=profile][value=medium]").click()
        driver.find_element(By.XPATH, START_BUTTON).click()

        # spawn pending page → (hub OAuth to the server) → JupyterLab
        wait_for(
            driver,
            lambda d: d.find_elements(By.CSS_SELECTOR, "#jp-main-dock-panel"),
            SPAWN_WAIT,
            "JupyterLab's main dock panel",
        )
        assert "/user/alice/lab" in driver.current_url, driver.current_url
        wait_for(
            driver,
            lambda d: d.find_elements(By.CSS_SELECTOR, ".jp-Launcher, .jp-LauncherCard"),
            SPAWN_WAIT,
            "the JupyterLab launcher",
        )
        dismiss_news_popup(driver)

        # the file browser lists the read-only archive link next to the examples
        listed = wait_for(
            driver,
            lambda d: names if "shared" in (names := _listed_names(d)) else False,
            60,
            "'shared' in JupyterLab's file browser",
        )
        assert "examples" in listed, listed
        dismiss_news_popup(driver)
        time.sleep(1)  # let the launcher icons finish painting for the screenshot
        shot = save_screenshot(driver, ARTIFACTS / "jupyterlab.png")
        assert shot.stat().st_size > 10_000

    # the hub recorded the profile the browser chose
    admin = HubClient(platform.url)
    admin.login("admin", ADMIN_PASSWORD)
    user = admin.api("GET", "/users/alice").json()
    assert user["servers"][""]["user_options"] == {"profile": "medium"}, user
    assert time.monotonic() - started < 120


def test_gpu_member_sees_gpu_profile(platform: RunningPlatform) -> None:
    from selenium.webdriver.common.by import By

    with chromium() as driver:
        login(driver, platform.url, "gina", SHARED_PASSWORD)
        choices = open_spawn_page(driver, platform.url)
        assert set(choices) == {"small", "medium", "large", "gpu"}, choices

        # this machine has no GPU: choosing it is refused with a message, not a hang
        driver.find_element(By.CSS_SELECTOR, "input[name=profile][value=gpu]").click()
        driver.find_element(By.XPATH, START_BUTTON).click()
        wait_for(
            driver,
            lambda d: "choose a profile without a GPU" in d.find_element(By.TAG_NAME, "body").text,
            60,
            "the no-GPU refusal on the spawn page",
        )


def _listed_names(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    items = driver.find_elements(By.CSS_SELECTOR, ".jp-DirListing-item .jp-DirListing-itemText")
    return [item.text.strip() for item in items]
