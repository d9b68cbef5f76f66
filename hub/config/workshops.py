"""Workshops: the service instructors act through, its role, and workshop-account login.

Locally the service delivers into homes itself. On Kubernetes it runs in the hub pod
too, with the same pages and API, but only records hand-outs: each workspace pulls its
materials when it starts (SDL_WORKSHOPS_URL, `hub.workshops.pull`).
"""

from __future__ import annotations

import sys

from traitlets.config import Config

from hub.config import hubpod
from hub.config.context import HubContext
from hub.config.merge import earlier, with_role_scopes
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
#: Kubernetes: the port the service listens on in the hub pod (the quota service has 10101).
KUBE_PORT = 10102
#: Kubernetes: the service as workspaces reach it, through the proxy like the Dask Gateway.
KUBE_WORKSHOPS_URL = f"http://proxy-public/services/{SERVICE_NAME}/"


def apply_workshops(ctx: HubContext, c: Config) -> None:
    """Register the workshops service (both modes; it writes into homes only locally)."""
    kubernetes = ctx.settings.mode == "kubernetes"
    if kubernetes:
        environment, url = hubpod.service_environment(ctx), hubpod.service_url(KUBE_PORT)
    else:
        environment = {"SDL_DATA_DIR": str(ctx.data_dir)}
        url = f"http://127.0.0.1:{ctx.service_port(SERVICE_NAME)}"
    service = {
        "name": SERVICE_NAME,
        "url": url,
        "command": [sys.executable, "-m", "hub.workshops.service"],
        "environment": environment,
        "oauth_no_confirm": True,
        "display": True,
    }
    role = {
        "name": f"{SERVICE_NAME}-service",
        "scopes": list(SERVICE_SCOPES),
        "services": [SERVICE_NAME],
    }
    c.JupyterHub.services = [*earlier(c.JupyterHub, "services", []), service]
    roles = with_role_scopes(earlier(c.JupyterHub, "load_roles", []), "user", ACCESS)
    # a server's own token may fetch its user's materials (GET api/materials)
    roles = with_role_scopes(roles, "server", ACCESS)
    c.JupyterHub.load_roles = [*roles, role]
    if kubernetes:
        c.KubeSpawner.environment = {
            **earlier(c.KubeSpawner, "environment", {}),
            "SDL_WORKSHOPS_URL": KUBE_WORKSHOPS_URL,
        }
        # the hub pod's login of workshop accounts reads the lab's PostgreSQL
        c.WorkshopAccountsMixin.workshops_admin_url = ctx.settings.database.url
        return
    c.WorkshopAccountsMixin.workshops_data_dir = str(ctx.data_dir)
    c.WorkshopAccountsMixin.workshops_admin_url = ctx.settings.database.url
