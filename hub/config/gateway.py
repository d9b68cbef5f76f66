"""Dask Gateway as a hub-managed service: its command, who may use it, and workspaces.

The hub starts the gateway (`python -m hub.gateway`) beside itself, routes
/services/dask-gateway to it, and gives every workspace the environment in which a bare
`dask_gateway.Gateway()` finds it.
"""

from __future__ import annotations

import os
import sys

from traitlets.config import Config

from hub.config.context import HubContext
from hub.config.merge import earlier, with_role_scopes
from hub.gateway.config import SERVICE_NAME, service_prefix
from hub.netutil import free_port

ACCESS_SCOPE = f"access:services!service={SERVICE_NAME}"


def apply_gateway(ctx: HubContext, c: Config) -> None:
    """Register the gateway service, its role and the workspace environment."""
    dask = ctx.settings.dask
    if not dask.enabled or ctx.settings.mode != "local":
        return  # Kubernetes mode: the dask-gateway chart runs it (hub/gateway/kube.py)
    public_url = ctx.embedded_runtime("apply_gateway").public_url
    http_port = dask.port or free_port()
    tcp_port = dask.tcp_port or free_port()
    token = ctx.secrets["dask_gateway_token"]
    prefix = service_prefix(ctx.settings)
    internal = f"http://127.0.0.1:{http_port}{prefix}"
    service = {
        "name": SERVICE_NAME,
        "url": f"http://127.0.0.1:{http_port}",
        "command": [
            sys.executable,
            "-m",
            "hub.gateway",
            "--port",
            str(http_port),
            "--tcp-port",
            str(tcp_port),
            # this config is loaded in the hub process: the gateway ends with it
            "--hub-pid",
            str(os.getpid()),
        ],
        # SDL_ARCHIVE_DIR: `sdl up` reaps processes with this marker when it stops
        "environment": {
            "SDL_DATA_DIR": str(ctx.data_dir),
            "SDL_ARCHIVE_DIR": str(ctx.settings.archive),
        },
        "api_token": token,  # also how the hub's post-stop hook authenticates to it
        "display": False,
        "oauth_no_confirm": True,
    }
    c.JupyterHub.services = [*earlier(c.JupyterHub, "services", []), service]
    roles = with_role_scopes(earlier(c.JupyterHub, "load_roles", []), "user", ACCESS_SCOPE)
    # a server's token may also read its user's groups: group quotas decide Dask limits
    c.JupyterHub.load_roles = with_role_scopes(
        roles, "server", ACCESS_SCOPE, "read:users:groups!user"
    )
    c.Spawner.environment = {
        **earlier(c.Spawner, "environment", {}),
        "DASK_GATEWAY__ADDRESS": internal,
        "DASK_GATEWAY__PUBLIC_ADDRESS": f"{public_url}{prefix}",
        "DASK_GATEWAY__PROXY_ADDRESS": f"gateway://127.0.0.1:{tcp_port}",
        "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
    }
    # read by hub.gateway.lifecycle.stop_user_clusters in the hub process
    c.SdlGatewayClient.api_url = internal
    c.SdlGatewayClient.api_token = token
    c.SdlGatewayClient.stop_with_server = dask.stop_with_server


def apply_kube_gateway_client(ctx: HubContext, c: Config) -> None:
    """Kubernetes: the dask-gateway chart runs the gateway; the hub still stops a user's
    clusters with their server, calling the API service with the service's token.

    z2jh has put `hub.services.dask-gateway` (with its generated `api_token`) into
    `c.JupyterHub.services` before `hub.extraConfig` runs; the gateway pod gets the same
    token from the chart's Secret (helm-values/dask-gateway.yaml).
    """
    from hub.kube.manifests import GATEWAY_API_PORT, gateway_chart_name

    dask = ctx.settings.dask
    token = next(
        (
            service.get("api_token")
            for service in earlier(c.JupyterHub, "services", [])
            if service.get("name") == SERVICE_NAME
        ),
        None,
    )
    if not dask.enabled or not token:
        return
    api = gateway_chart_name(ctx.settings.kubernetes, "api")
    c.SdlGatewayClient.api_url = f"http://{api}:{GATEWAY_API_PORT}"
    c.SdlGatewayClient.api_token = token
    c.SdlGatewayClient.stop_with_server = dask.stop_with_server
