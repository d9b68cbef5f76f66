"""Routes the gateway adds for the platform: private dashboards and the hub's stop call.

Upstream proxies `/clusters/<name>/` straight to the scheduler's dashboard with no
authentication at all: anyone who learns a cluster name sees its dashboard (task names,
data paths, logs). Here the dashboard route is never given to the gateway's proxy, so
such requests fall through to the gateway's own web app, which authenticates the user
(hub token or the gateway's login cookie), lets in only the owner and hub admins, and
only then relays the request — without the user's credentials — to the dashboard.
"""

from __future__ import annotations

import asyncio
import hmac
import os
from typing import Any

import aiohttp
from aiohttp import web
from dask_gateway_server.backends.base import Backend
from dask_gateway_server.models import ClusterStatus

# headers never relayed: hop-by-hop ones, and the caller's credentials (the dashboard
# runs as the cluster's owner, who must never receive an admin's token)
_DROP = {
    "authorization",
    "cookie",
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
    "proxy-authenticate",
    "content-length",
    "content-encoding",
    "set-cookie",
}


def _relay_headers(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _DROP}


class DashboardRoutes(Backend):
    """Mixin for any backend: private dashboards and the hub's admin routes.

    Only the public backend API is used (`get_cluster`, `list_clusters`,
    `stop_cluster`), so the local and the Kubernetes backends share it. How dashboard
    requests reach these routes differs: the local backend never gives its proxy the
    dashboard route; on Kubernetes a higher-priority traefik route sends
    `<prefix>/clusters/` to the gateway API pods (hub.kube.network).
    """

    async def setup(self, app: web.Application) -> None:
        await super().setup(app)
        self.add_platform_routes(app)

    def add_platform_routes(self, app: web.Application) -> None:
        """Private dashboards, and the hub's route to a user's clusters."""
        self._app = app
        app.router.add_route("*", "/clusters/{cluster_name}", self._dashboard)
        app.router.add_route("*", "/clusters/{cluster_name}/{tail:.*}", self._dashboard)
        app.router.add_get("/api/sdl/users/{username}/clusters", self._user_clusters)
        app.router.add_delete("/api/sdl/users/{username}/clusters", self._user_clusters)

    # -- dashboards ------------------------------------------------------------------
    async def _dashboard(self, request: web.Request) -> web.StreamResponse:
        auth = self._app["authenticator"]
        return await auth.authenticate_and_handle(request, self._dashboard_for_user)

    async def _dashboard_for_user(self, request: web.Request) -> web.StreamResponse:
        user = request["user"]
        name = request.match_info["cluster_name"]
        cluster = await self.get_cluster(name)
        if cluster is None or not (user.admin or user.name == cluster.username):
            # the same answer for "not yours" and "does not exist": names are not leaked
            raise web.HTTPNotFound(reason=f"No cluster {name} of yours")
        if cluster.status != ClusterStatus.RUNNING or not cluster.dashboard_address:
            raise web.HTTPServiceUnavailable(reason=f"Cluster {name} has no dashboard now")
        target = f"{cluster.dashboard_address}/{request.match_info.get('tail', '')}"
        if request.query_string:
            query = "&".join(
                p for p in request.query_string.split("&") if not p.startswith("token=")
            )
            target += f"?{query}" if query else ""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._relay_websocket(request, target)
        async with self.session.request(
            request.method,
            target,
            headers=_relay_headers(request.headers),
            data=await request.read(),
            allow_redirects=False,
        ) as upstream:
            body = await upstream.read()
            return web.Response(
                status=upstream.status, body=body, headers=_relay_headers(upstream.headers)
            )

    async def _relay_websocket(self, request: web.Request, target: str) -> web.StreamResponse:
        # bokeh authenticates its sessions by subprotocol: pass it on and echo its choice
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        async with self.session.ws_connect(
            "ws" + target.removeprefix("http"), protocols=[p for p in offered if p]
        ) as upstream:
            client = web.WebSocketResponse(
                protocols=[upstream.protocol] if upstream.protocol else []
            )
            await client.prepare(request)

            async def pump(source: Any, sink: Any) -> None:
                async for message in source:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        await sink.send_str(message.data)
                    elif message.type == aiohttp.WSMsgType.BINARY:
                        await sink.send_bytes(message.data)
                    else:
                        break

            tasks = [
                asyncio.ensure_future(pump(client, upstream)),
                asyncio.ensure_future(pump(upstream, client)),
            ]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
        await client.close()
        return client

    # -- the hub's calls -------------------------------------------------------------
    def _is_hub(self, request: web.Request) -> bool:
        """The hub authenticates with the gateway service's own hub API token."""
        own = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        kind, _, token = request.headers.get("Authorization", "").partition(" ")
        return bool(own) and kind == "token" and hmac.compare_digest(token, own)

    async def _user_clusters(self, request: web.Request) -> web.StreamResponse:
        if not self._is_hub(request):
            raise web.HTTPForbidden(reason="Only the hub may manage other users' clusters")
        username = request.match_info["username"]
        clusters = await self.list_clusters(username=username)
        if request.method == "DELETE":
            for cluster in clusters:
                await self.stop_cluster(cluster.name)
            self.log.info("Stopping %d cluster(s) of %s for the hub", len(clusters), username)
        return web.json_response({"clusters": [c.name for c in clusters]})
