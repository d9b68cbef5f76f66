"""What happens to a user's clusters when their server stops (or is culled).

The hub's `post_stop_hook` (below; hub/config sets it for every spawner) calls
`stop_user_clusters`. It asks the gateway to stop all of the user's clusters through a
route only the hub may call: it authenticates with the gateway service's own hub API
token (the `api_token` of the hub-managed service), which only the hub (root-only
secrets dir) and the gateway process hold. Upstream's API lets no one, not even an
admin, stop another user's clusters, so a route of our own is needed.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPRequest


def gateway_client_settings(spawner: Any) -> dict[str, Any]:
    """The `SdlGatewayClient` section set by hub/config/gateway.py ({} when no gateway)."""
    config = getattr(spawner, "config", None)
    if config is None or "SdlGatewayClient" not in config:
        return {}
    return dict(config.SdlGatewayClient)


def other_servers_running(spawner: Any) -> bool:
    """Clusters belong to the user, not to one server: keep them while another runs."""
    for other in getattr(spawner.user, "spawners", {}).values():
        if other is not spawner and getattr(other, "active", False):
            return True
    return False


async def stop_user_clusters(spawner: Any) -> None:
    """Stop every Dask cluster of the spawner's user."""
    settings = gateway_client_settings(spawner)
    if not settings.get("api_url") or not settings.get("stop_with_server", True):
        return
    if other_servers_running(spawner):
        return
    name = spawner.user.name
    request = HTTPRequest(
        f"{settings['api_url']}/api/sdl/users/{quote(name, safe='')}/clusters",
        method="DELETE",
        headers={"Authorization": f"token {settings['api_token']}"},
        request_timeout=30,
    )
    try:
        response = await AsyncHTTPClient().fetch(request, raise_error=True)
    except ConnectionRefusedError:
        # the gateway is not running (e.g. the hub is shutting down and stopped it
        # first): it stops every cluster when it stops, so there is nothing left
        spawner.log.debug("Dask Gateway not running; no clusters of %s to stop", name)
        return
    stopped = json.loads(response.body or b"{}").get("clusters", [])
    if stopped:
        spawner.log.info("Stopping %d Dask cluster(s) of %s", len(stopped), name)


async def post_stop_hook(spawner: Any) -> None:
    """JupyterHub's `Spawner.post_stop_hook`: a stopped or culled server takes its clusters."""
    try:
        await stop_user_clusters(spawner)
    except Exception:  # a stop must never fail because the gateway is away
        spawner.log.exception("could not stop the Dask clusters of %s", spawner.user.name)
