"""A headless Chromium driven by Selenium, for tests that click through the real UI.

Skips (with the command that fixes it) where Chromium, its driver or Selenium is missing.
Flags follow /work/shared/NOTES.md ("Browser tests"): headless, no sandbox (we run as
root; the single-user servers run as their own OS users), no background traffic, and
a fresh profile folder per browser so runs never share cookies.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.support.optional import missing as missing_part

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL_HINT = "apt-get install chromium chromium-driver"

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1400,900",
)


def require_chromium() -> None:
    """Skip the calling test with a clear reason unless a browser can be driven."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        missing_part(
            "browser", f"Chromium not installed ({', '.join(missing)} missing): {INSTALL_HINT}"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing_part("browser", "selenium not installed: pip install 'selenium>=4.20,<5'")


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (selenium WebDriver) with its own throw-away profile."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = Path(tempfile.mkdtemp(prefix="sdl-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(
    driver: Any, condition: Callable[[Any], Any], timeout: float = 30, what: str = ""
) -> Any:
    """WebDriverWait with a message that says what we waited for and where we were."""
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        TimeoutException,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    # a page that is being replaced answers with stale or missing elements: poll again
    ignored = (NoSuchElementException, StaleElementReferenceException)
    try:
        return WebDriverWait(
            driver, timeout, poll_frequency=0.25, ignored_exceptions=ignored
        ).until(condition)
    except TimeoutException:
        raise AssertionError(
            f"timed out after {timeout:.0f}s waiting for {what or condition!r} "
            f"at {driver.current_url} (title {driver.title!r})"
        ) from None


def login(driver: Any, base_url: str, username: str, password: str) -> None:
    """Fill in JupyterHub's login form and submit it, as a person would."""
    from selenium.webdriver.common.by import By

    driver.get(f"{base_url}/hub/login")
    wait_for(driver, lambda d: d.find_elements(By.ID, "username_input"), 30, "the login form")
    driver.find_element(By.ID, "username_input").send_keys(username)
    driver.find_element(By.ID, "password_input").send_keys(password)
    driver.find_element(By.ID, "login_submit").click()
    wait_for(driver, lambda d: "/hub/login" not in d.current_url, 60, "the login to go through")


def dismiss_news_popup(driver: Any) -> None:
    """JupyterLab asks "Would you like to get notified about official Jupyter news?";
    the toast can cover clicks. Say no when it is there (never fails when it is not)."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.XPATH, "//button[normalize-space()='No']"):
        with contextlib.suppress(Exception):
            if button.is_displayed():
                button.click()


def save_screenshot(driver: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path


def elapsed(start: float) -> str:
    return f"{time.monotonic() - start:.1f}s"
