"""Workshops: the service instructors act through, its role, and workshop-account login."""

from __future__ import annotations

import sys
from typing import Any

from traitlets.config import Config

from hub.config.context import HubContext
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
    c.JupyterHub.services = [*_existing(c, "services"), service]
    c.JupyterHub.load_roles = [*with_user_access(_existing(c, "load_roles")), role]
    c.WorkshopAccountsMixin.workshops_data_dir = str(ctx.data_dir)
    c.WorkshopAccountsMixin.workshops_admin_url = ctx.settings.database.url


def _existing(c: Config, key: str) -> list[Any]:
    return list(c.JupyterHub[key]) if key in c.JupyterHub else []


def with_user_access(roles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`roles` (new list, new dicts) where the `user` role also reaches the service."""
    out, found = [], False
    for role in roles:
        if role.get("name") == "user":
            found = True
            scopes = list(role.get("scopes", ["self"]))
            role = {**role, "scopes": [*scopes, ACCESS] if ACCESS not in scopes else scopes}
        out.append(role)
    if not found:
        out.append({"name": "user", "scopes": ["self", ACCESS]})
    return out
