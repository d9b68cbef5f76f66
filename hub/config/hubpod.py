"""Services that run beside the hub in z2jh's hub pod (quotas, workshops).

The proxy runs in a pod of its own there, so such a service must listen on the pod's
addresses and be named by z2jh's `hub` Kubernetes Service (helm-values/jupyterhub.yaml
adds each port to that Service and to the hub's network policy, for the proxy only).
JupyterHub passes a service only a short list of its own environment variables, so what
the service needs from the pod's environment is handed over explicitly.
"""

from __future__ import annotations

from hub.config.context import HubContext
from hub.settings import CONFIG_ENV

#: Where the services keep files: on the hub's own PVC (z2jh `hub.db.type: sqlite-pvc`).
DATA_DIR = "/srv/jupyterhub/sdl"
#: z2jh's Service in front of the hub pod.
HUB_SERVICE = "hub"


def service_url(port: int) -> str:
    """The service's URL as the proxy pod reaches it."""
    return f"http://{HUB_SERVICE}:{port}"


def service_environment(ctx: HubContext) -> dict[str, str]:
    """Settings file, data dir and the lab's database for a service in the hub pod."""
    environment = {"SDL_DATA_DIR": DATA_DIR, "SDL_MODE": "kubernetes"}
    if ctx.config_file:
        environment[CONFIG_ENV] = ctx.config_file
    if ctx.settings.database.url:
        environment["SDL_DATABASE_URL"] = ctx.settings.database.url
    return environment
