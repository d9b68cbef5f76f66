"""The hub process itself: where it listens, its state, its groups."""

from __future__ import annotations

from traitlets.config import Config

from hub import __version__
from hub.config.context import HubContext


def apply_hub(ctx: HubContext, c: Config) -> None:
    settings, runtime = ctx.settings, ctx.embedded_runtime("apply_hub")
    hub_dir = ctx.data_dir / "hub"
    c.JupyterHub.bind_url = (
        f"http://{runtime.public_ip}:{runtime.public_port}{settings.hub.base_url}"
    )
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{runtime.hub_port}"
    c.JupyterHub.db_url = f"sqlite:///{hub_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = ctx.secrets["cookie_secret_file"]
    c.JupyterHub.pid_file = str(hub_dir / "jupyterhub.pid")
    # a hub restart (crash, SIGTERM) keeps users' servers; `sdl up` stops them on its stop
    c.JupyterHub.cleanup_servers = False
    # the hub re-checks the proxy's routes at each activity update: once a minute, so a
    # restarted proxy has every route back within a minute even without sdl up's copy
    c.JupyterHub.last_activity_interval = 60
    c.JupyterHub.load_groups = {
        name: {"users": members} for name, members in settings.groups.items()
    }
    # `sdl up` runs the proxy itself so that it outlives hub restarts
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{runtime.proxy_api_port}"
    c.ConfigurableHTTPProxy.auth_token = ctx.secrets["proxy_token"]
    c.JupyterHub.template_vars = {"sdl_version": _version()}
    apply_server_limit(ctx, c)


def apply_server_limit(ctx: HubContext, c: Config) -> None:
    """The bound on running servers, which the database's connection slots are sized by
    (`hub.db.embedded.connection_slots`)."""
    c.JupyterHub.active_server_limit = ctx.settings.hub.active_server_limit


def _version() -> str:
    return __version__
