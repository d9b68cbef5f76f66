"""One real platform (`sdl up` with the sample cube) for the archive service's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from hub.data import sample
from tests.support.platform import HubClient, RunningPlatform, start_platform, wait_until

SERVICE = "/services/archive/"
TILES = sorted(sample.mgrs_tile(s.lon, s.lat, s.epsg) for s in sample.SITES)
PASSWORD = "rita-password-1"


@pytest.fixture(scope="session")
def platform() -> Iterator[RunningPlatform]:
    # extra_args=(): the first start writes and indexes the sample cube
    with start_platform({"hub": {"cull_idle_after": 0}}, extra_args=(), timeout=300) as running:

        def answers() -> bool:
            try:
                return requests.get(f"{running.url}{SERVICE}health", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_until(answers, 60, "the archive service behind the proxy")
        yield running


@pytest.fixture(scope="session")
def rita(platform: RunningPlatform) -> HubClient:
    """An ordinary user (first-use login: the first password sets it), no server running."""
    client = HubClient(platform.url)
    assert client.login("rita", PASSWORD).status_code == 200
    return client
