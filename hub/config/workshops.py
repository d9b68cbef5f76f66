"""Workshops: the service instructors act through, its role, and workshop-account login."""

from __future__ import annotations

import sys

from traitlets.config import Config

from hub.config.context import HubContext
from hub.config.merge import earlier, with_role_scopes
from hub.netutil import free_port
from hub.workshops import SERVICE_NAME

SERVICE_SCOPES = [
    "admin:users",  # create participants' and pre-created accounts' hub users
    "admin:groups",  # one group per workshop, its members
    "list:users",
    "read:users",
    "read:servers",  # who runs a server now: hand out at once
    "delete:servers",  # ended workshop accounts lose their server
]
ACCESS = f"access:services!service={SERVICE_NAME}"  # every user: the page, joining


def apply_workshops(ctx: HubContext, c: Config) -> None:
    """Register the workshops service; only for local mode (it writes into homes)."""
    if ctx.settings.mode != "local":
        return
    service = {
        "name": SERVICE_NAME,
        "url": f"http://127.0.0.1:{free_port()}",
        "command": [sys.executable, "-m", "hub.workshops.service"],
        "environment": {"SDL_DATA_DIR": str(ctx.data_dir)},
        "oauth_no_confirm": True,
        "display": True,
    }
    role = {"name": f"{SERVICE_NAME}-service", "scopes": list(SERVICE_SCOPES),
            "services": [SERVICE_NAME]}  # fmt: skip
    c.JupyterHub.services = [*earlier(c.JupyterHub, "services", []), service]
    roles = with_role_scopes(earlier(c.JupyterHub, "load_roles", []), "user", ACCESS)
    c.JupyterHub.load_roles = [*roles, role]
    c.WorkshopAccountsMixin.workshops_data_dir = str(ctx.data_dir)
    c.WorkshopAccountsMixin.workshops_admin_url = ctx.settings.database.url
