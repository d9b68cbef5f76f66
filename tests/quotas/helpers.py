"""Helpers for the quota tests that run a real platform."""

from __future__ import annotations

import time
from typing import Any

import requests

from hub.quotas.db import shared_store
from hub.quotas.store import QuotaStore
from tests.support.platform import HubClient, RunningPlatform

SERVICE = "/services/quotas/"


def wait_for_service(platform: RunningPlatform, timeout: float = 60) -> None:
    """The hub routes the service only once it answers; `sdl up` may be 'up' before."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{platform.url}{SERVICE}health", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    tail = platform.hub_log()[-3000:]
    raise AssertionError(f"quota service not reachable after {timeout}s:\n{tail}")


def quota_api(
    platform: RunningPlatform, token: str, method: str, path: str, **kwargs: Any
) -> requests.Response:
    return requests.request(
        method,
        f"{platform.url}{SERVICE}api/{path}",
        headers={"Authorization": f"token {token}"},
        timeout=30,
        **kwargs,
    )


def platform_store(platform: RunningPlatform) -> QuotaStore:
    """The platform's own quota database (embedded PostgreSQL, database `sdl`)."""
    return shared_store(platform.data_dir, "", "sdl")


def token_for(client: HubClient, name: str, scopes: list[str] | None = None) -> str:
    body: dict[str, Any] = {"note": "quota tests"}
    if scopes is not None:
        body["scopes"] = scopes
    response = client.api("POST", f"/users/{name}/tokens", json=body)
    response.raise_for_status()
    return response.json()["token"]
