"""The hub process itself: where it listens, its state, its groups."""

from __future__ import annotations

from traitlets.config import Config

from hub.config.context import HubContext


def apply_hub(ctx: HubContext, c: Config) -> None:
    settings, runtime = ctx.settings, ctx.runtime
    hub_dir = ctx.data_dir / "hub"
    c.JupyterHub.bind_url = (
        f"http://{runtime.public_ip}:{runtime.public_port}{settings.hub.base_url}"
    )
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{runtime.hub_port}"
    c.JupyterHub.db_url = f"sqlite:///{hub_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = ctx.secrets["cookie_secret_file"]
    c.JupyterHub.pid_file = str(hub_dir / "jupyterhub.pid")
    c.JupyterHub.cleanup_servers = True  # Ctrl-C on `sdl up` leaves no user servers behind
    c.JupyterHub.load_groups = {
        name: {"users": members} for name, members in settings.groups.items()
    }
    # `sdl up` runs the proxy itself so that it outlives hub restarts
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{runtime.proxy_api_port}"
    c.ConfigurableHTTPProxy.auth_token = ctx.secrets["proxy_token"]
    c.JupyterHub.template_vars = {"sdl_version": _version()}


def _version() -> str:
    from hub import __version__

    return __version__
