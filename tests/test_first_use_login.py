"""The default login of `sdl up`: each user's own password, set at their first login.

A real `sdl up` (hub, proxy, PostgreSQL, servers as OS users when run as root) with no
auth settings but admins, driven over HTTP like a browser (XSRF form posts, cookies).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.platform import ADMIN_PASSWORD, HubClient, RunningPlatform, start_platform

SETTINGS = {"auth": {"admin_users": ["ada"]}}  # no auth.type: the default


@pytest.fixture(scope="module")
def platform() -> Iterator[RunningPlatform]:
    with start_platform(SETTINGS) as running:
        yield running


def login(platform: RunningPlatform, name: str, password: str) -> HubClient:
    client = HubClient(platform.url)
    response = client.login(name, password)
    assert response.status_code == 200, response.text[:500]
    assert client.api("GET", "/user").json()["name"] == name
    return client


def test_login_page_and_banner_name_the_mode(platform: RunningPlatform) -> None:
    page = requests.get(f"{platform.url}/hub/login", timeout=30).text
    assert 'id="login-mode"' in page and 'data-mode="first-use"' in page
    assert "the first time you log in under a user name, the password you type" in page
    assert "Workshop mode" not in page
    assert "Login: personal passwords." in platform.log()
    assert "shared password" not in platform.log()


def test_first_login_sets_the_password_and_another_one_is_refused(
    platform: RunningPlatform,
) -> None:
    login(platform, "anna", "anna-first-password")
    refused = HubClient(platform.url)
    assert refused.login("anna", "someone-elses-password").status_code == 403
    assert refused.api("GET", "/user").status_code == 403  # no session came of it
    login(platform, "anna", "anna-first-password")  # her own still works
    hashes = platform.data_dir / "hub"
    assert hashes.stat().st_mode & 0o077 == 0  # workspaces cannot read the bcrypt hashes
    assert any(path.name.startswith("passwords.dbm") for path in hashes.iterdir())


def test_a_short_first_password_is_refused_and_says_why(platform: RunningPlatform) -> None:
    response = HubClient(platform.url).login("carl", "short")
    assert response.status_code == 403
    assert "Password too short" in response.text and "at least 8 characters" in response.text
    login(platform, "carl", "long-enough-now")  # nothing was stored by the refusal


def test_admins_use_the_admin_password_and_cannot_be_claimed(platform: RunningPlatform) -> None:
    assert HubClient(platform.url).login("ada", "claiming-ada-first").status_code == 403
    ada = login(platform, "ada", ADMIN_PASSWORD)
    assert ada.api("GET", "/user").json()["admin"] is True
    assert HubClient(platform.url).login("ada", "claiming-ada-first").status_code == 403


def test_one_users_session_cannot_reach_anothers_server(platform: RunningPlatform) -> None:
    anna = login(platform, "anna", "anna-first-password")
    assert anna.spawn("anna", {"profile": "small"}).status_code in (201, 202)
    token = anna.new_token("anna")
    note = {"type": "file", "format": "text", "content": "anna's own"}
    written = anna.session.put(
        f"{platform.url}/user/anna/api/contents/mine.txt",
        json=note,
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    assert written.status_code == 201

    ben = login(platform, "ben", "ben-own-password")
    assert HubClient(platform.url).login("anna", "ben-own-password").status_code == 403
    page = ben.session.get(f"{platform.url}/user/anna/api/contents/mine.txt", timeout=30)
    assert page.status_code in (403, 404) or "anna's own" not in page.text
    ben_token = ben.new_token("ben")
    with_token = ben.session.get(
        f"{platform.url}/user/anna/api/contents/mine.txt",
        headers={"Authorization": f"token {ben_token}"},
        timeout=30,
    )
    assert with_token.status_code in (403, 404)
    assert ben.api("GET", "/users/anna").status_code in (403, 404)
    assert ben.api("DELETE", "/users/anna/server").status_code in (403, 404)


def sdl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_the_cli_works_right_after_the_banner_and_accounts_log_in(tmp_path: Path) -> None:
    """Its own platform: nothing may run between the banner and the first CLI call."""
    with start_platform({"groups": {"instructors": ["ivan"]}}) as platform:
        ivan = login(platform, "ivan", "ivan-own-password")
        env = {**os.environ, "SDL_TOKEN": ivan.new_token("ivan"), "SDL_HUB_URL": platform.url}
        listed = sdl("workshop", "list", env=env)  # the services' routes are there already
        assert listed.returncode == 0, listed.stderr
        made = sdl("workshop", "create", "eo-day", "--ends", "+3h", env=env)
        assert made.returncode == 0, made.stderr
        sheet = tmp_path / "accounts.csv"
        made = sdl("workshop", "accounts", "eo-day", "-n", "1", "--csv", str(sheet), env=env)
        assert made.returncode == 0, made.stderr
        [account] = list(csv.DictReader(sheet.open()))
        # a workshop account takes its own password only: no first use can claim it
        refused = HubClient(platform.url).login(account["username"], "a-first-use-password")
        assert refused.status_code == 403
        login(platform, account["username"], account["password"])
