"""Services the hub runs beside itself: the idle culler."""

from __future__ import annotations

import sys

from traitlets.config import Config

from hub.config.context import HubContext


def apply_services(ctx: HubContext, c: Config) -> None:
    idle = ctx.settings.hub.cull_idle_after
    services: list[dict[str, object]] = []
    roles: list[dict[str, object]] = []
    if idle:
        services.append(
            {
                "name": "idle-culler",
                "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={idle}"],
                # marks it as this platform's, so `sdl up` can reap it after a hub crash
                "environment": {"SDL_DATA_DIR": str(ctx.data_dir)},
            }
        )
        roles.append(
            {
                "name": "idle-culler",
                "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
                "services": ["idle-culler"],
            }
        )
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles
