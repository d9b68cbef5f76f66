"""The hub's REST API as the workshops service uses it (with the service's own token).

The service's role allows creating users and groups, reading users and stopping
servers; instructors never get those scopes: the service checks ownership first.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from hub.errors import UpstreamError


class HubAPI:
    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        self.url = (url or os.environ["JUPYTERHUB_API_URL"]).rstrip("/")
        self.token = token or os.environ["JUPYTERHUB_API_TOKEN"]
        self.http = AsyncHTTPClient()

    async def request(
        self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()
    ) -> tuple[int, Any]:
        """(status, parsed JSON); statuses in `ok` are answers, other errors raise."""
        headers = {
            "Authorization": f"token {self.token}",
            "Accept": "application/jupyterhub-pagination+json",
        }
        try:
            response = await self.http.fetch(
                self.url + path,
                method=method,
                headers=headers,
                request_timeout=30,
                body=None if body is None else json.dumps(body),
                allow_nonstandard_methods=True,
            )
        except HTTPClientError as exc:
            if exc.code in ok:
                return exc.code, None
            detail = exc.response.body.decode(errors="replace")[:300] if exc.response else ""
            raise UpstreamError(f"hub API {method} {path} failed ({exc.code}): {detail}") from exc
        text = response.body.decode() if response.body else ""
        return response.code, json.loads(text) if text else None

    async def user(self, name: str) -> dict[str, Any] | None:
        status, model = await self.request("GET", f"/users/{quote(name)}", ok=(404,))
        return None if status == 404 else model

    async def create_users(self, names: list[str]) -> list[str]:
        """Creates those of `names` that do not exist; returns the ones created now."""
        if not names:
            return []
        status, created = await self.request("POST", "/users", {"usernames": names}, ok=(409,))
        if status == 409:  # every one exists already
            return []
        return [user["name"] for user in created or []]

    async def ensure_group(self, group: str) -> None:
        await self.request("POST", f"/groups/{quote(group)}", {}, ok=(409,))

    async def delete_group(self, group: str) -> None:
        await self.request("DELETE", f"/groups/{quote(group)}", ok=(404,))

    async def add_to_group(self, group: str, names: list[str]) -> None:
        if names:
            await self.request("POST", f"/groups/{quote(group)}/users", {"users": names})

    async def remove_from_group(self, group: str, names: list[str]) -> None:
        if names:
            await self.request(
                "DELETE", f"/groups/{quote(group)}/users", {"users": names}, ok=(404,)
            )

    async def ready_users(self) -> set[str]:
        """Names of users whose default server is running and ready."""
        names: set[str] = set()
        offset = 0
        while True:
            _, page = await self.request("GET", f"/users?state=ready&offset={offset}&limit=200")
            items = page["items"] if isinstance(page, dict) else page
            for user in items:
                server = (user.get("servers") or {}).get("")
                if server and server.get("ready"):
                    names.add(user["name"])
            next_page = page.get("_pagination", {}).get("next") if isinstance(page, dict) else None
            if not next_page:
                return names
            offset = next_page["offset"]

    async def stop_server(self, name: str) -> None:
        await self.request("DELETE", f"/users/{quote(name)}/server", ok=(204, 400, 404))
