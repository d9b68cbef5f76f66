"""Dask Gateway as a hub service: where it listens, who may use it, and workspaces.

On one machine `sdl up` runs the gateway (`python -m hub.gateway`) beside the hub, not
under it, so that a hub restart loses no cluster (like the proxy, it outlives the hub).
The hub registers it as an external service with an OAuth client, routes
/services/dask-gateway to it, and gives every workspace the environment in which a bare
`dask_gateway.Gateway()` finds it.
"""

from __future__ import annotations

import sys

from traitlets.config import Config

from hub.config.context import HubContext
from hub.config.merge import earlier, with_role_scopes
from hub.gateway.config import SERVICE_NAME, service_prefix
from hub.kube.naming import GATEWAY_API_PORT, gateway_chart_name
from hub.netutil import free_port
from hub.runtime import Runtime
from hub.settings import Settings

OAUTH_CLIENT_ID = f"service-{SERVICE_NAME}"  # JupyterHub's own name for a service's client

ACCESS_SCOPE = f"access:services!service={SERVICE_NAME}"


def apply_gateway(ctx: HubContext, c: Config) -> None:
    """Register the gateway service, its role and the workspace environment."""
    dask = ctx.settings.dask
    if not dask.enabled or ctx.settings.mode != "local":
        return  # Kubernetes mode: the dask-gateway chart runs it (hub/gateway/kube.py)
    runtime = ctx.embedded_runtime("apply_gateway")
    http_port, tcp_port = gateway_ports(ctx.settings, runtime)
    token = ctx.secrets["dask_gateway_token"]
    prefix = service_prefix(ctx.settings)
    internal = f"http://127.0.0.1:{http_port}{prefix}"
    service = {
        "name": SERVICE_NAME,
        "url": f"http://127.0.0.1:{http_port}",
        # no command: `sdl up` runs it (hub.local), so it outlives a hub restart
        "api_token": token,  # also how the hub's post-stop hook authenticates to it
        "oauth_client_id": OAUTH_CLIENT_ID,
        "oauth_redirect_uri": f"{ctx.settings.hub.base_url.rstrip('/')}{prefix}/oauth_callback",
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
        "DASK_GATEWAY__PUBLIC_ADDRESS": f"{runtime.public_url}{prefix}",
        "DASK_GATEWAY__PROXY_ADDRESS": f"gateway://127.0.0.1:{tcp_port}",
        "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
    }
    # read by hub.gateway.lifecycle.stop_user_clusters in the hub process
    c.SdlGatewayClient.api_url = internal
    c.SdlGatewayClient.api_token = token
    c.SdlGatewayClient.stop_with_server = dask.stop_with_server


def gateway_ports(settings: Settings, runtime: Runtime) -> tuple[int, int]:
    """The ports `sdl up` gave the gateway, else the settings' (or free ones)."""
    dask = settings.dask
    return (
        runtime.gateway_port or dask.port or free_port(),
        runtime.gateway_tcp_port or dask.tcp_port or free_port(),
    )


def gateway_command(runtime: Runtime, parent_pid: int) -> list[str]:
    """How `sdl up` starts the gateway: it stops by itself once `sdl up` is gone."""
    return [
        sys.executable,
        "-m",
        "hub.gateway",
        "--port",
        str(runtime.gateway_port),
        "--tcp-port",
        str(runtime.gateway_tcp_port),
        "--parent-pid",
        str(parent_pid),
    ]


def gateway_environment(settings: Settings, runtime: Runtime, token: str) -> dict[str, str]:
    """What JupyterHub gives a service it runs itself, for the one `sdl up` runs."""
    base = settings.hub.base_url.rstrip("/")
    prefix = f"{base}{service_prefix(settings)}"
    return {
        "SDL_DATA_DIR": str(settings.data_dir),
        # `sdl up` reaps processes with this marker when it stops
        "SDL_ARCHIVE_DIR": str(settings.archive),
        "JUPYTERHUB_SERVICE_NAME": SERVICE_NAME,
        "JUPYTERHUB_API_TOKEN": token,
        "JUPYTERHUB_API_URL": f"http://127.0.0.1:{runtime.hub_port}{base}/hub/api",
        "JUPYTERHUB_BASE_URL": f"{base}/",
        "JUPYTERHUB_SERVICE_PREFIX": f"{prefix}/",
        "JUPYTERHUB_CLIENT_ID": OAUTH_CLIENT_ID,
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}/oauth_callback",
    }


def apply_kube_gateway_client(ctx: HubContext, c: Config) -> None:
    """Kubernetes: the dask-gateway chart runs the gateway; the hub still stops a user's
    clusters with their server, calling the API service with the service's token.

    z2jh has put `hub.services.dask-gateway` (with its generated `api_token`) into
    `c.JupyterHub.services` before `hub.extraConfig` runs; the gateway pod gets the same
    token from the chart's Secret (helm-values/dask-gateway.yaml).
    """
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
