"""Policies and usage records live in PostgreSQL: they survive a hub and service restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.quotas.db import forget_stores
from hub.quotas.store import UsageRecord
from tests.quotas.helpers import platform_store, quota_api, token_for, wait_for_service
from tests.support.platform import ADMIN_PASSWORD, SHARED_PASSWORD, HubClient, start_platform

SETTINGS = {
    "auth": {"type": "shared-password", "admin_users": ["ada"]},  # the workshop password
    "groups": {"students": ["sam"]},
}


def admin_token(url: str) -> str:
    ada = HubClient(url)
    assert ada.login("ada", ADMIN_PASSWORD).status_code == 200
    return token_for(ada, "ada")


def test_quotas_and_usage_survive_a_restart() -> None:
    with start_platform(SETTINGS) as first:
        wait_for_service(first)
        token = admin_token(first.url)
        policy = {"max_cpu": 2, "budget_cpu_hours": 50}
        assert quota_api(first, token, "PUT", "policies/group/students", json=policy).ok
        now = datetime.now(UTC)
        platform_store(first).add_usage(
            UsageRecord(
                "server",
                "sam",
                "",
                "small",
                2.0,
                0,
                now - timedelta(hours=3),
                now - timedelta(hours=0.5),
                now,
            )
        )
        forget_stores()  # PostgreSQL comes back on another port
    assert first.proc.returncode == 0

    with start_platform(SETTINGS, data_dir=first.data_dir) as second:
        wait_for_service(second)
        token = admin_token(second.url)
        sam = quota_api(second, token, "GET", "users/sam").json()
        assert sam["policy"]["max_cpu"]["explanation"] == "max_cpu 2 (from group students)"
        assert sam["usage"]["cpu_hours"] == 5.0 and sam["usage"]["cpu_hours_left"] == 45.0
        client = HubClient(second.url)
        client.login("sam", SHARED_PASSWORD)
        refused = client.api("POST", "/users/sam/server", json={"profile": "medium"})
        assert refused.status_code == 403 and "max_cpu 2" in refused.json()["message"]
        forget_stores()
