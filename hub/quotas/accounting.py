"""Usage accounting: poll the hub API for running servers, measure homes.

Polling the hub (not hooks inside it) works the same locally and on Kubernetes and
survives restarts of the hub and of this service: a session is keyed by user, server
name and the server's own start time, so a second poll or a restarted service extends
the same record instead of opening a new one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from hub.accounts import home_folder
from hub.policy.spawn import ProfileCatalog, Requester
from hub.quotas.enforce import home_size
from hub.quotas.store import QuotaStore, ServerSeen

log = logging.getLogger("sdl.quotas")
PAGINATION = "application/jupyterhub-pagination+json"


@dataclass
class HubUsers:
    """The last complete picture of the hub's users (name → groups, admin, servers)."""

    users: list[dict[str, Any]] = field(default_factory=list)
    polled_at: datetime | None = None

    def triples(self) -> list[tuple[str, list[str], bool]]:
        return [(u["name"], list(u.get("groups", [])), bool(u.get("admin"))) for u in self.users]

    def running(self) -> dict[str, int]:
        return {u["name"]: len(u.get("servers") or {}) for u in self.users}

    def find(self, name: str) -> dict[str, Any] | None:
        return next((u for u in self.users if u["name"] == name), None)


async def fetch_users(api_url: str, token: str) -> list[dict[str, Any]]:
    """Every hub user with groups, admin flag and servers (follows pagination)."""
    client = AsyncHTTPClient()
    users: list[dict[str, Any]] = []
    offset = 0
    while True:
        query = urlencode({"offset": offset, "limit": 200})
        response = await client.fetch(
            HTTPRequest(
                f"{api_url.rstrip('/')}/users?{query}",
                headers={"Authorization": f"token {token}", "Accept": PAGINATION},
                request_timeout=30,
            )
        )
        page = json.loads(response.body)
        items = page["items"] if isinstance(page, dict) else page
        users.extend(items)
        following = page.get("_pagination", {}).get("next") if isinstance(page, dict) else None
        if not following or not items:
            return users
        offset = int(following["offset"])


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def servers_seen(users: Sequence[dict[str, Any]], catalog: ProfileCatalog) -> list[ServerSeen]:
    """Running servers with the CPU limit of their profile (the default when unnamed)."""
    by_slug = {p.slug: p for p in catalog.profiles}
    seen = []
    for user in users:
        requester = Requester.of(user["name"], user.get("groups", []), bool(user.get("admin")))
        for name, server in (user.get("servers") or {}).items():
            if not server.get("started"):
                continue
            options = server.get("user_options") or {}
            slug = options.get("profile") if isinstance(options, dict) else None
            if isinstance(slug, list):
                slug = slug[0] if slug else None
            profile = by_slug.get(slug) if isinstance(slug, str) else None
            profile = profile or catalog.default_for(requester)
            seen.append(
                ServerSeen(
                    username=user["name"],
                    name=name,
                    profile=profile.slug if profile else "",
                    cpu=profile.cpu_limit if profile else 0.0,
                    memory=profile.mem_limit if profile else 0,
                    started_at=parse_time(server["started"]),
                )
            )
    return seen


async def poll_once(
    store: QuotaStore,
    hub: HubUsers,
    api_url: str,
    token: str,
    catalog: ProfileCatalog,
    grace: float,
) -> int:
    """One poll: refresh the user list, record sessions; returns running servers."""
    users = await fetch_users(api_url, token)
    seen = servers_seen(users, catalog)
    await asyncio.to_thread(store.remember_users, HubUsers(users).triples())
    await asyncio.to_thread(store.record_servers, seen, None, grace)
    hub.users, hub.polled_at = users, datetime.now(UTC)
    return len(seen)


def home_of(data_dir: Path, username: str) -> Path:
    """Where the local spawner keeps `username`'s home (see SdlLocalSpawner.home)."""
    return data_dir / "homes" / home_folder(username)


def scan_homes(store: QuotaStore, data_dir: Path, names: Sequence[str]) -> int:
    """Measure the homes that exist; blocking (run in a thread). Returns how many."""
    measured = 0
    for name in names:
        home = home_of(data_dir, name)
        if home.is_dir():
            store.set_home_usage(name, home_size(home))
            measured += 1
    return measured
