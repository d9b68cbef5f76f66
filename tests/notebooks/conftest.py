"""One real platform with the sample cube and one spawned user for the notebook suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.platform import SHARED_PASSWORD, HubClient, RunningPlatform, start_platform
from tests.test_platform import server_environment

USER = "nora"


@pytest.fixture(scope="module")
def platform() -> Iterator[RunningPlatform]:
    # extra_args=(): no --no-sample, so the first start writes and indexes the sample
    # the workshop password logs the notebook user in (shared-password mode, explicitly)
    settings = {"auth": {"type": "shared-password"}}
    with start_platform(settings, extra_args=(), timeout=300) as running:
        yield running


@pytest.fixture(scope="module")
def server_env(platform: RunningPlatform) -> dict[str, str]:
    """The environment of USER's running server: ODC login, Dask Gateway, hub token."""
    client = HubClient(platform.url)
    assert client.login(USER, SHARED_PASSWORD).status_code == 200
    assert client.spawn(USER, {}).status_code in (201, 202)
    return dict(server_environment(USER))
