"""Dask Gateway as a hub-managed service: its command, who may use it, and workspaces.

The hub starts the gateway (`python -m hub.gateway`) beside itself, routes
/services/dask-gateway to it, and gives every workspace the environment in which a bare
`dask_gateway.Gateway()` finds it.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from traitlets.config import Config

from hub.config.context import HubContext
from hub.gateway.config import SERVICE_NAME, service_prefix
from hub.netutil import free_port

ACCESS_SCOPE = f"access:services!service={SERVICE_NAME}"


def apply_gateway(ctx: HubContext, c: Config) -> None:
    """Register the gateway service, its role and the workspace environment."""
    dask = ctx.settings.dask
    if not dask.enabled or ctx.settings.mode != "local":
        return  # Kubernetes mode: the dask-gateway chart runs it (hub/gateway/kube.py)
    http_port = dask.port or free_port()
    tcp_port = dask.tcp_port or free_port()
    token = ctx.secrets["dask_gateway_token"]
    prefix = service_prefix(ctx.settings)
    internal = f"http://127.0.0.1:{http_port}{prefix}"
    service = {
        "name": SERVICE_NAME,
        "url": f"http://127.0.0.1:{http_port}",
        "command": [sys.executable, "-m", "hub.gateway",
                    "--port", str(http_port), "--tcp-port", str(tcp_port),
                    # this config is loaded in the hub process: the gateway ends with it
                    "--hub-pid", str(os.getpid())],
        # SDL_ARCHIVE_DIR: `sdl up` reaps processes with this marker when it stops
        "environment": {"SDL_DATA_DIR": str(ctx.data_dir),
                        "SDL_ARCHIVE_DIR": str(ctx.settings.archive)},
        "api_token": token,  # also how the hub's post-stop hook authenticates to it
        "display": False,
        "oauth_no_confirm": True,
    }  # fmt: skip
    c.JupyterHub.services = [*_existing(c, "services"), service]
    c.JupyterHub.load_roles = _with_gateway_access(_existing(c, "load_roles"))
    c.Spawner.environment = {
        **_existing_dict(c.Spawner, "environment"),
        "DASK_GATEWAY__ADDRESS": internal,
        "DASK_GATEWAY__PUBLIC_ADDRESS": f"{ctx.runtime.public_url}{prefix}",
        "DASK_GATEWAY__PROXY_ADDRESS": f"gateway://127.0.0.1:{tcp_port}",
        "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
    }
    # read by hub.gateway.lifecycle.stop_user_clusters in the hub process
    c.SdlGatewayClient.api_url = internal
    c.SdlGatewayClient.api_token = token
    c.SdlGatewayClient.stop_with_server = dask.stop_with_server


def _existing(c: Config, name: str) -> list[Any]:
    return list(c.JupyterHub[name]) if name in c.JupyterHub else []


def _existing_dict(section: Config, name: str) -> dict[str, Any]:
    return dict(section[name]) if name in section else {}


def _with_gateway_access(roles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Users, and the tokens of their servers, may use the gateway service.

    The built-in `user` role (every user) and `server` role (each workspace's
    JUPYTERHUB_API_TOKEN) are redefined with the access scope added; a step that already
    redefined them keeps its scopes.
    """
    # a server's token may also read its user's groups: group quotas decide Dask limits
    builtin = {
        "user": ["self"],
        "server": ["users:activity!user", "access:servers!server", "read:users:groups!user"],
    }
    by_name = {role["name"]: role for role in roles}
    extended = []
    for name, scopes in builtin.items():
        role = by_name.get(name, {"name": name, "scopes": scopes})
        extended.append({**role, "scopes": [*role.get("scopes", []), ACCESS_SCOPE]})
    return [r for r in roles if r["name"] not in builtin] + extended
