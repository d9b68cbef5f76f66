"""The archive's status map as a hub service, open to every logged-in user.

Embedded mode only: on Kubernetes the service would need its port on the hub pod's
Service and network policy (helm-values/), which are not set up for it yet.
"""

from __future__ import annotations

import os
import sys

from traitlets.config import Config

from hub.archive import SERVICE_NAME
from hub.config.context import HubContext
from hub.config.merge import earlier, with_role_scopes
from hub.netutil import free_port
from hub.settings import CONFIG_ENV

ACCESS = f"access:services!service={SERVICE_NAME}"  # every user: the map and its JSON


def apply_archive(ctx: HubContext, c: Config) -> None:
    """Register the archive service and let every user reach it."""
    if ctx.settings.mode == "kubernetes":
        return
    environment = {"SDL_DATA_DIR": str(ctx.data_dir)}
    if ctx.config_file:
        environment[CONFIG_ENV] = ctx.config_file
    tile_url = os.environ.get("SDL_ARCHIVE_TILE_URL", "")  # web tiles under the map, opt-in
    if tile_url:
        environment["SDL_ARCHIVE_TILE_URL"] = tile_url
    service = {
        "name": SERVICE_NAME,
        "display": True,  # listed in the hub's Services menu
        "url": f"http://127.0.0.1:{free_port()}",
        "command": [sys.executable, "-m", "hub.archive.service"],
        "environment": environment,
        "oauth_no_confirm": True,  # run by the platform: no "authorize?" page
        "info": {"description": "The archive's tiles, dates, cloud cover and next passes"},
    }
    c.JupyterHub.services = [*earlier(c.JupyterHub, "services", []), service]
    c.JupyterHub.load_roles = with_role_scopes(
        earlier(c.JupyterHub, "load_roles", []), "user", ACCESS
    )
