"""The workshops service: `python -m hub.workshops.service`, started by the hub.

JupyterHub runs it as a managed service (see `hub.config.workshops`) and gives it its
token, URL and prefix in the environment; we add SDL_DATA_DIR to find the settings
the hub itself was started with. In the Kubernetes hub pod there is no runtime file:
SDL_MODE=kubernetes, the settings document (SDL_CONFIG) and the database URL come in
the environment, and the service listens on all addresses of the pod, because the
proxy (another pod) reaches it through the hub's Kubernetes Service.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlparse

from tornado.web import Application

from hub.db.urls import PlatformPostgres
from hub.errors import RequestError
from hub.runtime import read_runtime
from hub.service.startup import (
    ServiceEnv,
    cookie_secret,
    listen,
    main,
    open_when_ready,
    service_app,
)
from hub.settings import Settings, load_settings, settings_from_environment
from hub.workshops.api import api_routes
from hub.workshops.hubapi import HubAPI
from hub.workshops.manager import Manager
from hub.workshops.pages import page_routes
from hub.workshops.store import open_store
from hub.workshops.uploads import MAX_UPLOAD_BYTES

log = logging.getLogger("sdl.workshops")


def platform_settings(
    data_dir: Path, environ: dict[str, str] | None = None
) -> tuple[Settings, str]:
    """The settings and public URL of the running platform, as the hub read them."""
    env = dict(os.environ if environ is None else environ)
    if env.get("SDL_MODE") == "kubernetes":
        overrides = {"data_dir": str(data_dir), "mode": "kubernetes"}
        settings = settings_from_environment(env, overrides=overrides)
        public = urlparse(env.get("JUPYTERHUB_PUBLIC_URL", ""))  # with c.JupyterHub.public_url
        return settings, f"{public.scheme}://{public.netloc}" if public.netloc else ""
    runtime = read_runtime(data_dir)
    settings = load_settings(
        Path(runtime.config_file) if runtime.config_file else None,
        overrides={"data_dir": str(data_dir)},
    )
    return settings, runtime.public_url


def make_app(manager: Manager, prefix: str, cookie_secret: bytes) -> Application:
    routes = [*api_routes(prefix), *page_routes(prefix)]
    return service_app(prefix, routes, cookie_secret, manager=manager, prefix=prefix)


async def serve() -> None:
    settings, public_url = platform_settings(Path(os.environ["SDL_DATA_DIR"]))
    kubernetes = settings.mode == "kubernetes"
    if kubernetes:  # on the hub's PVC; its first start makes the folder
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = ServiceEnv.read("workshops")
    wait = 60 if kubernetes else 0  # the lab's PostgreSQL may be starting
    server = PlatformPostgres.of(settings)
    store = await open_when_ready(lambda: open_store(server), "workshops database", wait)
    manager = Manager(settings, store, HubAPI(), public_url)
    try:  # before serving: no request may change a workshop while this runs
        await manager.sync_policies()
    except RequestError as exc:
        log.error("workshop quota policies not synchronised: %s", exc)
    app = make_app(manager, env.prefix, cookie_secret(settings.data_dir, "workshops"))
    listen(app, env, kubernetes, max_body_size=3 * MAX_UPLOAD_BYTES)
    await manager.run_forever()


if __name__ == "__main__":
    os.umask(0o022)  # published versions must be readable by participants
    main("workshops", serve)
