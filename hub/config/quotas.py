"""The quota service as a hub service, its roles and scopes, and the spawn-time checks.

Only sets values: the service, roles and scopes are appended to new lists/dicts built
from what earlier steps set (never mutated in place).
"""

from __future__ import annotations

import sys

from traitlets.config import Config

from hub.config import hubpod
from hub.config.context import HubContext
from hub.config.merge import earlier, with_role_scopes
from hub.settings import CONFIG_ENV

SERVICE = "quotas"
READ_SCOPE = "custom:quotas:read"
WRITE_SCOPE = "custom:quotas:write"
ACCESS_SCOPE = f"access:services!service={SERVICE}"
KUBE_PORT = 10101
#: What the service itself needs from the hub API (polling users and their servers).
SERVICE_SCOPES = ["list:users", "read:users", "read:servers", "list:groups", "read:groups"]


def apply_quotas(ctx: HubContext, c: Config) -> None:
    """Register the quota service, its roles and the spawn-time checks."""
    settings = ctx.settings
    quotas = settings.quotas
    c.QuotaChecker.enabled = quotas.enabled
    if not quotas.enabled:
        return
    kubernetes = settings.mode == "kubernetes"
    if quotas.port:
        port = quotas.port
    elif kubernetes:
        port = KUBE_PORT
    else:
        port = ctx.service_port(SERVICE)
    if kubernetes:  # beside the hub in its pod, reached by the proxy pod
        environment, url = hubpod.service_environment(ctx), hubpod.service_url(port)
    else:
        environment = {"SDL_DATA_DIR": str(settings.data_dir)}
        if ctx.config_file:
            environment[CONFIG_ENV] = ctx.config_file
        url = f"http://127.0.0.1:{port}"
    service = {
        "name": SERVICE,
        "display": True,  # listed in the hub's Services menu
        "url": url,
        "command": [sys.executable, "-m", "hub.quotas"],
        "environment": environment,
        "oauth_client_allowed_scopes": [READ_SCOPE, WRITE_SCOPE],
        "oauth_no_confirm": True,  # run by the platform: no "authorize?" page
        "info": {"description": "Your quota and usage; admins: the quota console"},
    }
    c.JupyterHub.services = [*earlier(c.JupyterHub, "services", []), service]
    c.JupyterHub.custom_scopes = {
        **earlier(c.JupyterHub, "custom_scopes", {}),
        READ_SCOPE: {"description": "Read every user's quota and usage."},
        WRITE_SCOPE: {"description": "Change quota policies.", "subscopes": [READ_SCOPE]},
    }
    roles = [
        *earlier(c.JupyterHub, "load_roles", []),
        {
            "name": "quotas-service",
            "description": "The quota service polls users and their servers.",
            "scopes": SERVICE_SCOPES,
            "services": [SERVICE],
        },
        {
            "name": "quota-admins",
            "description": "Read and edit every quota without being a hub admin.",
            "scopes": [READ_SCOPE, WRITE_SCOPE, ACCESS_SCOPE],
            "groups": [quotas.admin_group],
        },
    ]
    c.JupyterHub.load_roles = with_role_scopes(roles, "user", ACCESS_SCOPE)
    c.JupyterHub.template_vars = {
        **earlier(c.JupyterHub, "template_vars", {}),
        "sdl_quotas_url": f"{settings.hub.base_url.rstrip('/')}/services/{SERVICE}/",
        "sdl_quotas_console_url": f"{settings.hub.base_url.rstrip('/')}/services/{SERVICE}/admin",
    }
    c.QuotaChecker.data_dir = str(settings.data_dir)
    c.QuotaChecker.database_url = settings.database.url
    c.QuotaChecker.database = quotas.database
    c.QuotaChecker.defaults = quotas.defaults.to_json()
    c.QuotaChecker.budget_window_days = quotas.budget_window_days
    c.QuotaChecker.exempt_admins = quotas.exempt_admins
    c.QuotaChecker.measure_homes = not kubernetes
