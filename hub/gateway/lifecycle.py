"""What happens to a user's clusters when their server stops (or is culled).

The hub's `post_stop_hook` (below; hub/config sets it for every spawner) calls
`stop_user_clusters`. It asks the gateway to stop all of the user's clusters through a
route only the hub may call: it authenticates with the gateway service's own hub API
token (the `api_token` of the gateway's service entry), which only the hub (root-only
secrets dir) and the gateway process hold. Where it is and that token are the
`SdlGatewayClient` configurable below, set by hub/config/gateway.py. Upstream's API lets
no one, not even an admin, stop another user's clusters, so a route of our own is needed.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from traitlets import Bool, Unicode
from traitlets.config import Config, Configurable


class SdlGatewayClient(Configurable):
    """How the hub reaches the gateway to stop a user's clusters."""

    api_url = Unicode(
        "",
        config=True,
        help="""The gateway's own API, e.g. http://127.0.0.1:PORT/services/dask-gateway.
        Empty: no gateway, nothing to stop.""",
    )
    api_token = Unicode(
        "", config=True, help="The gateway service's hub API token (the hub and gateway hold it)."
    )
    stop_with_server = Bool(
        True,
        config=True,
        help="Stop a user's clusters when their (last) server stops or is culled "
        "(settings dask.stop_with_server).",
    )


def gateway_client(spawner: Any) -> SdlGatewayClient:
    """The spawner's hub configuration's `SdlGatewayClient` (defaults when unset)."""
    config = getattr(spawner, "config", None)
    return SdlGatewayClient(config=config if isinstance(config, Config) else Config())


def other_servers_running(spawner: Any) -> bool:
    """Clusters belong to the user, not to one server: keep them while another runs."""
    for other in getattr(spawner.user, "spawners", {}).values():
        if other is not spawner and getattr(other, "active", False):
            return True
    return False


async def stop_user_clusters(spawner: Any) -> None:
    """Stop every Dask cluster of the spawner's user."""
    client = gateway_client(spawner)
    if not client.api_url or not client.stop_with_server:
        return
    if other_servers_running(spawner):
        return
    name = spawner.user.name
    request = HTTPRequest(
        f"{client.api_url}/api/sdl/users/{quote(name, safe='')}/clusters",
        method="DELETE",
        headers={"Authorization": f"token {client.api_token}"},
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
