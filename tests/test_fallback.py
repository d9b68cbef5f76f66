"""Run as a user other than root, `sdl up` falls back to one OS account, and says so."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hub.db.embedded import pgserver_bin_dir
from hub.ossetup import ensure_system_user, make_traversable
from hub.paths import PACKAGE_DIR
from tests.support.platform import SHARED_PASSWORD, HubClient, make_data_dir, start_platform

FALLBACK_USER = "sdl-fallback-test"


@pytest.fixture(scope="module")
def plain_user() -> str:
    """An ordinary OS account that can run `sdl up`."""
    if os.geteuid() != 0:
        pytest.skip("not root: every other test already runs the single-user fallback")
    if not shutil.which("runuser"):
        pytest.skip("runuser is missing (util-linux)")
    ensure_system_user(FALLBACK_USER)
    # the plain user must reach Python, this package and the PostgreSQL binaries
    for path in (Path(sys.executable).resolve().parent, PACKAGE_DIR, pgserver_bin_dir()):
        make_traversable(path)
    return FALLBACK_USER


def test_fallback_runs_every_server_as_the_platform_user_and_says_so(plain_user: str) -> None:
    data_dir = make_data_dir("sdl-fallback-")
    shared = {"auth": {"type": "shared-password"}}  # logs in with the workshop password
    with start_platform(shared, data_dir=data_dir, run_as=plain_user) as platform:
        client = HubClient(platform.url)
        assert client.login("fay", SHARED_PASSWORD).status_code == 200
        assert client.spawn("fay", {"profile": "small"}).status_code in (201, 202)
        log = platform.hub_log()
        assert "[fay] Single-user fallback: the platform does not run as root" in log
        assert "[fay] memory limit 8Gi: not enforced" in log
        headers = {"Authorization": f"token {client.new_token('fay')}"}
        body = {"type": "file", "format": "text", "content": "x"}
        shared = client.session.put(
            f"{platform.url}/user/fay/api/contents/shared/x.txt",
            json=body,
            headers=headers,
            timeout=30,
        )
        assert shared.status_code == 403  # the archive is read-only by mode here
        owners = subprocess.run(
            ["ps", "-o", "user=", "-C", "postgres"], capture_output=True, text=True
        ).stdout.split()
        assert FALLBACK_USER[:8] in {owner[:8] for owner in owners}
