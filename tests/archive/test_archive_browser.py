"""Browser (Chromium): the status map draws the archive's tiles with the bundled Leaflet,
offline; the screenshot is saved to tests/artifacts/archive-status.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.archive.conftest import PASSWORD, SERVICE, TILES
from tests.support.browser import chromium, login, require_chromium, save_screenshot, wait_for
from tests.support.platform import RunningPlatform

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def test_the_map_draws_every_tile_on_the_outline(platform: RunningPlatform) -> None:
    require_chromium()
    from selenium.webdriver.common.by import By

    with chromium() as driver:
        login(driver, platform.url, "rita", PASSWORD)
        driver.get(f"{platform.url}/hub/home")
        link = wait_for(
            driver,
            lambda d: d.find_elements(By.XPATH, f"//a[contains(@href, '{SERVICE}')]"),
            30,
            "the archive in the hub's Services menu",
        )
        assert link
        driver.get(f"{platform.url}{SERVICE}")
        ready = wait_for(
            driver,
            lambda d: d.find_element(By.ID, "map").get_attribute("data-ready"),
            60,
            "Leaflet to draw the tiles",
        )
        assert ready == str(len(TILES))
        # one yellow polygon per tile, the outline under them, a label with the next pass
        paths = driver.find_elements(By.CSS_SELECTOR, "#map path.leaflet-interactive")
        assert len(paths) == len(TILES)
        labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".tile-label")]
        assert sorted(label.split(" ")[0] for label in labels) == TILES
        assert all("next 20" in label for label in labels)  # the green of the lab's map
        assert not driver.find_elements(By.CSS_SELECTOR, "#map img.leaflet-tile")  # no web tiles
        paths[0].click()
        popup = wait_for(
            driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content"), 10
        )
        assert "products" in popup[0].text and "next:" in popup[0].text
        shot = save_screenshot(driver, ARTIFACTS / "archive-status.png")
        assert shot.stat().st_size > 10_000
