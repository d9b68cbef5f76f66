"""The quota service and spawn enforcement on a real `sdl up` (hub, proxy, PostgreSQL)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from hub.policy.quota import Policy
from hub.quotas.store import UsageRecord
from tests.quotas.helpers import (
    SERVICE,
    platform_store,
    quota_api,
    token_for,
    wait_for_service,
)
from tests.support.platform import (
    ADMIN_PASSWORD,
    SHARED_PASSWORD,
    HubClient,
    RunningPlatform,
    start_platform,
    wait_until,
)

SETTINGS = {
    "auth": {"type": "shared-password", "admin_users": ["ada"]},  # the workshop password
    "groups": {"students": ["sam", "sue", "tia", "uma"], "quota-admins": ["quinn"]},
    "quotas": {"poll_interval": 1, "defaults": {"max_servers": 1}},
}


@pytest.fixture(scope="module")
def platform() -> Iterator[RunningPlatform]:
    with start_platform(SETTINGS) as running:
        wait_for_service(running)
        yield running


def logged_in(platform: RunningPlatform, name: str) -> HubClient:
    client = HubClient(platform.url)
    password = ADMIN_PASSWORD if name == "ada" else SHARED_PASSWORD
    assert client.login(name, password).status_code == 200
    return client


def test_api_authorisation(platform: RunningPlatform) -> None:
    sam = logged_in(platform, "sam")
    token = token_for(sam, "sam")
    me = quota_api(platform, token, "GET", "me")
    assert me.status_code == 200 and me.json()["name"] == "sam"
    assert me.json()["groups"] == ["students"]
    assert quota_api(platform, token, "GET", "users/sam").status_code == 200
    for method, path in (
        ("GET", "users/sue"),
        ("GET", "users"),
        ("GET", "usage"),
        ("GET", "policies"),
        ("PUT", "policies/user/sam"),
        ("DELETE", "policies/group/students"),
    ):
        response = quota_api(platform, token, method, path, json={"max_cpu": 64})
        assert response.status_code == 403, (method, path, response.text)
        assert "custom:quotas" in response.json()["message"]

    narrow = token_for(sam, "sam", scopes=["read:users:name!user=sam"])
    refused = quota_api(platform, narrow, "GET", "me")
    assert refused.status_code == 403 and "access:services!service=quotas" in refused.text
    assert quota_api(platform, "not-a-token", "GET", "me").status_code == 403

    ada = token_for(logged_in(platform, "ada"), "ada")
    put = quota_api(platform, ada, "PUT", "policies/user/sam", json={"max_memory": "8Gi"})
    assert put.status_code == 200 and put.json()["policy"] == {"max_memory": 8 * 2**30}
    bad = quota_api(platform, ada, "PUT", "policies/user/sam", json={"max_memory": "lots"})
    assert bad.status_code == 400 and "max_memory" in bad.json()["message"]
    users = quota_api(platform, ada, "GET", "users").json()["users"]
    assert "sam" in {u["name"] for u in users}
    assert quota_api(platform, ada, "GET", "users/sue").status_code == 200
    # sam may read (not change) his own override and sees where each limit comes from
    own = quota_api(platform, token, "GET", "users/sam").json()["policy"]["max_memory"]
    assert own["explanation"] == (
        "max_memory 8Gi for user sam (overrides unlimited platform default)"
    )

    quinn = token_for(logged_in(platform, "quinn"), "quinn")  # quota-admins, not a hub admin
    assert quota_api(platform, quinn, "GET", "users/sue").status_code == 200
    assert quota_api(platform, quinn, "DELETE", "policies/user/sam").status_code == 204


def test_enforcement_at_spawn_rest_and_form(platform: RunningPlatform) -> None:
    store = platform_store(platform)
    store.set_policy("group", "students", Policy(allowed_profiles=["small", "medium"], max_cpu=2))
    store.set_policy("user", "tia", Policy(expires="2021-03-01"))
    sam = logged_in(platform, "sam")

    large = sam.api("POST", "/users/sam/server", json={"profile": "large"})
    assert large.status_code == 403
    assert (
        "'large' is not in your quota (allowed_profiles: medium, small, from group "
        "students); choose small, or ask an admin" in large.json()["message"]
    )
    medium = sam.api("POST", "/users/sam/server", json={"profile": "medium"})
    assert medium.status_code == 403
    assert "(max_cpu 2, from group students); choose small" in medium.json()["message"]
    tampered = sam.api("POST", "/users/sam/server", json={"profile": "small", "cpu_limit": 64})
    assert tampered.status_code == 400  # only 'profile' may be sent at all
    form = sam.session.post(
        f"{platform.url}/hub/spawn/sam", data={"profile": "medium", "_xsrf": sam.xsrf}, timeout=60
    )
    assert form.status_code == 403 and "max_cpu 2" in form.text

    tia = logged_in(platform, "tia")
    expired = tia.api("POST", "/users/tia/server", json={"profile": "small"})
    assert expired.status_code == 403 and "expired on 2021-03-01" in expired.json()["message"]
    assert not sam.api("GET", "/users/sam").json()["servers"]
    store.delete_policy("group", "students")


def test_budget_and_usage_accounting(platform: RunningPlatform) -> None:
    store = platform_store(platform)
    store.set_policy("group", "students", Policy(budget_cpu_hours=10))
    now = datetime.now(UTC)
    store.add_usage(
        UsageRecord(
            "server",
            "sue",
            "",
            "large",
            8.0,
            0,
            now - timedelta(days=2),
            now - timedelta(days=2) + timedelta(hours=2),
            now,
        )
    )
    store.add_usage(
        UsageRecord(
            "server",
            "uma",
            "",
            "small",
            2.0,
            0,
            now - timedelta(days=40),
            now - timedelta(days=35),
            now,
        )
    )  # outside the window
    sue = logged_in(platform, "sue")
    over = sue.api("POST", "/users/sue/server", json={"profile": "small"})
    assert over.status_code == 403
    assert "You have used 16.0 of your 10 CPU-hours in the last 30 days" in over.json()["message"]

    uma = logged_in(platform, "uma")
    assert uma.spawn("uma", {"profile": "small"}).status_code in (201, 202)  # under budget
    session = wait_until(
        lambda: [r for r in store.usage_records("uma") if r.stopped_at is None],
        30,
        "the poller to record uma's running server",
    )[0]
    assert (session.profile, session.cpu, session.kind) == ("small", 2.0, "server")
    ada = token_for(logged_in(platform, "ada"), "ada")
    usage = quota_api(platform, ada, "GET", "usage").json()
    assert usage["over_budget"] == ["sue"]
    assert usage["users"]["uma"]["running_servers"] == 1

    second = uma.api("POST", "/users/uma/servers/extra", json={"profile": "small"})
    assert second.status_code in (400, 403, 404)  # named servers off, or max_servers 1

    assert uma.api("DELETE", "/users/uma/server").status_code in (202, 204)
    wait_until(
        lambda: all(r.stopped_at for r in store.usage_records("uma")),
        30,
        "the poller to close uma's session",
    )
    store.delete_policy("group", "students")


def test_spawns_are_checked_while_the_service_restarts(platform: RunningPlatform) -> None:
    store = platform_store(platform)
    store.set_policy("user", "sam", Policy(max_cpu=1))
    ada = logged_in(platform, "ada")
    pid = ada.api("GET", "/services/quotas").json()["pid"]
    os.kill(pid, signal.SIGKILL)
    refused = logged_in(platform, "sam").api("POST", "/users/sam/server", json={})
    assert refused.status_code == 403 and "max_cpu 1, from user sam" in refused.json()["message"]
    wait_until(
        lambda: ada.api("GET", "/services/quotas").json()["pid"] not in (pid, 0),
        60,
        "the hub to restart the quota service",
    )
    wait_for_service(platform)
    store.delete_policy("user", "sam")


def test_user_view_and_console_in_a_browser_session(platform: RunningPlatform) -> None:
    store = platform_store(platform)
    store.set_policy("group", "students", Policy(budget_cpu_hours=100))
    sam = logged_in(platform, "sam")
    page = sam.session.get(f"{platform.url}{SERVICE}", timeout=60)  # OAuth round trip
    assert page.status_code == 200, page.text[:500]
    assert "Quota of sam" in page.text and "id='cpu-hours-left'>100.0<" in page.text
    assert "budget_cpu_hours" in page.text and "from group students" in page.text
    console = sam.session.get(f"{platform.url}{SERVICE}admin", timeout=60)
    assert console.status_code == 403

    ada = logged_in(platform, "ada")
    console = ada.session.get(f"{platform.url}{SERVICE}admin", timeout=60)
    assert console.status_code == 200 and "id='user-sam'" in console.text
    assert "id='group-students'" in console.text and "sue: over budget" not in console.text
    # a cookie request that changes something needs the form's XSRF token
    posted = ada.session.post(
        f"{platform.url}{SERVICE}admin/group/students",
        data={"max_cpu": "1"},
        timeout=60,
        allow_redirects=False,
    )
    assert posted.status_code in (302, 403) and posted.status_code != 200
    assert store.policy("group", "students") == Policy(budget_cpu_hours=100)
    store.delete_policy("group", "students")
