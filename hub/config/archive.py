"""The archive's status map as a hub service, open to every logged-in user.

Under `sdl up` it listens on the port `sdl up` picked for it (hub.ports) and reads the
index with the platform's own connection. On Kubernetes it runs in the hub pod like the
quota and workshops services (hub.config.hubpod): port KUBE_PORT on z2jh's `hub` Service
and in the hub's network policy, for the proxy only (helm-values/jupyterhub.yaml), and it
reads the index with the workspaces' read-only login, which the pod gets as
SDL_ARCHIVE_INDEX_URL from Secret sdl-odc-readonly (`hub.extraEnv`) and hands to the
service explicitly.
"""

from __future__ import annotations

import os
import sys

from traitlets.config import Config

from hub.archive import INDEX_URL_ENV, SERVICE_NAME
from hub.config import hubpod
from hub.config.context import HubContext
from hub.config.merge import earlier, with_role_scopes
from hub.settings import CONFIG_ENV

ACCESS = f"access:services!service={SERVICE_NAME}"  # every user: the map and its JSON
#: Kubernetes: the port in the hub pod (quotas 10101, workshops 10102).
KUBE_PORT = 10103
TILE_URL_ENV = "SDL_ARCHIVE_TILE_URL"  # web tiles under the map, opt-in


def apply_archive(ctx: HubContext, c: Config) -> None:
    """Register the archive service and let every user reach it."""
    if ctx.settings.mode == "kubernetes":
        environment, url = hubpod.service_environment(ctx), hubpod.service_url(KUBE_PORT)
        index_url = os.environ.get(INDEX_URL_ENV, "")
        if index_url:
            environment[INDEX_URL_ENV] = index_url
    else:
        environment = {"SDL_DATA_DIR": str(ctx.data_dir)}
        if ctx.config_file:
            environment[CONFIG_ENV] = ctx.config_file
        url = f"http://127.0.0.1:{ctx.service_port(SERVICE_NAME)}"
    tile_url = os.environ.get(TILE_URL_ENV, "")
    if tile_url:
        environment[TILE_URL_ENV] = tile_url
    service = {
        "name": SERVICE_NAME,
        "display": True,  # listed in the hub's Services menu
        "url": url,
        "command": [sys.executable, "-m", "hub.archive.service"],
        "environment": environment,
        "oauth_no_confirm": True,  # run by the platform: no "authorize?" page
        "info": {"description": "The archive's tiles, dates, cloud cover and next passes"},
    }
    c.JupyterHub.services = [*earlier(c.JupyterHub, "services", []), service]
    c.JupyterHub.load_roles = with_role_scopes(
        earlier(c.JupyterHub, "load_roles", []), "user", ACCESS
    )
