"""One real platform (`sdl up`) shared by the workshop tests of a session."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from tests.support.platform import SHARED_PASSWORD, HubClient, RunningPlatform, start_platform

SETTINGS = {
    "auth": {"type": "shared-password", "admin_users": ["ada"]},  # the workshop password
    "groups": {"instructors": ["ivan", "iris"], "lab": ["rosa"]},  # lab: an admin's group
    "hub": {"cull_idle_after": 0},
}


class Service:
    """The workshops service as one user sees it, through the public proxy."""

    def __init__(self, platform: RunningPlatform, name: str, password: str = SHARED_PASSWORD):
        self.platform, self.name = platform, name
        self.hub = HubClient(platform.url)
        response = self.hub.login(name, password)
        assert response.status_code == 200, f"{name} cannot log in: {response.status_code}"
        self.token = self.hub.new_token(name)
        self.base = f"{platform.url}/services/workshops/api"

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=120, **kwargs)

    def contents(self, path: str) -> requests.Response:
        return requests.get(
            f"{self.platform.url}/user/{self.name}/api/contents/{path}",
            headers={"Authorization": f"token {self.token}"},
            timeout=30,
        )

    def put_text(self, path: str, text: str) -> requests.Response:
        body = {"type": "file", "format": "text", "content": text}
        return requests.put(
            f"{self.platform.url}/user/{self.name}/api/contents/{path}",
            json=body,
            headers={"Authorization": f"token {self.token}"},
            timeout=30,
        )

    def spawn(self) -> None:
        response = self.hub.spawn(self.name, {"profile": "small"})
        assert response.status_code in (201, 202), response.text


@pytest.fixture(scope="session")
def platform() -> Iterator[RunningPlatform]:
    with start_platform(SETTINGS) as running:
        wait_for_service(running)
        yield running


def wait_for_service(platform: RunningPlatform, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "Service workshops exited" in platform.hub_log():
            break
        try:
            response = requests.get(
                f"{platform.url}/services/workshops/api/me", timeout=5, allow_redirects=False
            )
            # until the service runs, the proxy sends its prefix to the hub
            if not response.headers.get("Location", "").startswith("/hub/services/"):
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"workshops service not up:\n{platform.hub_log()[-4000:]}")
