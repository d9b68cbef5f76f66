"""Which spawner starts workspaces, and what every workspace gets."""

from __future__ import annotations

import sys
from pathlib import Path

from traitlets.config import Config

from hub.config.context import HubContext
from hub.gateway.lifecycle import post_stop_hook


def apply_spawner(ctx: HubContext, c: Config) -> None:
    if ctx.settings.mode == "kubernetes":
        # KubeSpawner and the Kubernetes client are loaded only in this mode
        from hub.kube.config import apply_kubernetes

        apply_kubernetes(ctx.settings, c)
        return
    apply_local_spawner(ctx, c)
    apply_workspace(ctx, c)


def apply_local_spawner(ctx: HubContext, c: Config) -> None:
    settings = ctx.settings
    c.JupyterHub.spawner_class = "hub.spawners.local.SdlLocalSpawner"
    c.SdlLocalSpawner.data_dir = str(settings.data_dir)
    c.SdlLocalSpawner.archive_dir = str(settings.archive)
    c.SdlLocalSpawner.profiles_dir = str(settings.profiles_dir)
    c.SdlLocalSpawner.odc_database = settings.database.name
    c.SdlLocalSpawner.odc_admin_url = settings.database.url
    c.SdlLocalSpawner.odc_connection_limit = settings.database.user_connection_limit
    c.SdlLocalSpawner.db_login_key = ctx.secrets["db_login_key"]
    c.SdlLocalSpawner.home_filesystem = settings.quotas.home_filesystem
    c.SdlLocalSpawner.platform_reserve = settings.quotas.platform_reserve
    c.SdlLocalSpawner.os_user_prefix = settings.hub.os_user_prefix
    c.Spawner.post_stop_hook = post_stop_hook
    c.Spawner.start_timeout = settings.hub.spawn_timeout
    c.Spawner.http_timeout = settings.hub.spawn_timeout


#: Holds jupyter_server_config.d/sdl-workspace.json, which enables hub.workspace.
JUPYTER_CONFIG = Path(__file__).resolve().parent.parent / "jupyter_config"


def apply_workspace(ctx: HubContext, c: Config) -> None:
    """The single-user server: JupyterLab, with our workspace bootstrap as a server
    extension (in-process: a wrapper would start a second interpreter per spawn)."""
    templates = ctx.settings.templates
    c.Spawner.cmd = [str(Path(sys.executable).parent / "jupyterhub-singleuser")]
    c.Spawner.default_url = "/lab"
    c.Spawner.environment = {
        "JUPYTER_CONFIG_PATH": str(JUPYTER_CONFIG),
        "SDL_TEMPLATES_DIR": str(ctx.data_dir / "templates"),
        "SDL_TEMPLATES_TARGET": templates.target,
        "SDL_ARCHIVE_DIR": str(ctx.settings.archive),
        "ODC_DEFAULT_INDEX_DRIVER": "postgres",
    }
