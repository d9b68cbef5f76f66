"""Browser (Chromium): an admin edits a group's quota in the console; a member's next
spawn respects it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.quotas.db import forget_stores
from tests.quotas.helpers import SERVICE, platform_store, wait_for_service
from tests.support.browser import chromium, login, require_chromium, wait_for
from tests.support.platform import (
    ADMIN_PASSWORD,
    SHARED_PASSWORD,
    HubClient,
    RunningPlatform,
    start_platform,
)

pytestmark = pytest.mark.browser
SETTINGS = {
    "auth": {"type": "shared-password", "admin_users": ["ada"]},  # the workshop password
    "groups": {"students": ["sam"]},
}


@pytest.fixture(scope="module")
def platform() -> Iterator[RunningPlatform]:
    require_chromium()  # skips with the reason before a hub is started for nothing
    with start_platform(SETTINGS) as running:
        wait_for_service(running)
        yield running
    forget_stores()


def test_admin_edits_group_quota_and_member_spawn_respects_it(platform: RunningPlatform) -> None:
    from selenium.webdriver.common.by import By

    with chromium() as driver:
        login(driver, platform.url, "ada", ADMIN_PASSWORD)
        # the hub links the console in its Services menu
        driver.get(f"{platform.url}/hub/home")
        wait_for(
            driver,
            lambda d: d.find_elements(By.XPATH, f"//a[contains(@href, '{SERVICE}')]"),
            30,
            "the quota service in the hub's Services menu",
        )
        driver.get(f"{platform.url}{SERVICE}admin")
        wait_for(
            driver,
            lambda d: d.find_elements(By.ID, "group-students"),
            60,
            "the students group in the admin console",
        )
        driver.find_element(By.CSS_SELECTOR, "#group-students a").click()
        field = wait_for(
            driver, lambda d: d.find_elements(By.ID, "field-max_cpu"), 30, "the policy form"
        )[0]
        field.clear()
        field.send_keys("2")
        driver.find_element(By.ID, "field-allowed_profiles").send_keys("small,medium")
        driver.find_element(By.ID, "save").click()
        row = wait_for(
            driver,
            lambda d: d.find_elements(By.ID, "group-students"),
            30,
            "the console after saving",
        )[0]
        assert "max_cpu 2" in row.text and "allowed_profiles small, medium" in row.text
        sam_row = driver.find_element(By.ID, "user-sam").text
        assert "max_cpu 2" in sam_row, sam_row

    policy = platform_store(platform).policy("group", "students")
    assert policy is not None and policy.set_fields()["max_cpu"] == 2

    sam = HubClient(platform.url)
    assert sam.login("sam", SHARED_PASSWORD).status_code == 200
    refused = sam.api("POST", "/users/sam/server", json={"profile": "medium"})
    assert refused.status_code == 403
    assert "(max_cpu 2, from group students); choose small" in refused.json()["message"]
    assert sam.spawn("sam", {"profile": "small"}).status_code in (201, 202)
