"""The workshops service: `python -m hub.workshops.service`, started by the hub.

JupyterHub runs it as a managed service (see `hub.config.workshops`) and gives it its
token, URL and prefix in the environment; we add SDL_DATA_DIR to find the settings
the hub itself was started with. In the Kubernetes hub pod there is no runtime file:
SDL_MODE=kubernetes, the settings document (SDL_CONFIG) and the database URL come in
the environment, and the service listens on all addresses of the pod, because the
proxy (another pod) reaches it through the hub's Kubernetes Service.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from pathlib import Path
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler
from tornado.httpserver import HTTPServer
from tornado.web import Application

from hub.db.wait import when_database_ready
from hub.runtime import read_runtime
from hub.settings import Settings, load_settings, settings_from_environment
from hub.workshops.api import api_routes
from hub.workshops.hubapi import HubAPI
from hub.workshops.manager import Manager
from hub.workshops.model import WorkshopError
from hub.workshops.pages import page_routes
from hub.workshops.store import Store, database_url
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


def open_store(settings: Settings, timeout: float = 60) -> Store:
    """The store, waiting for PostgreSQL while it starts (e.g. beside the hub pod)."""

    def open_() -> Store:
        store = Store(database_url(settings))
        store.create_tables()
        return store

    return when_database_ready(open_, "workshops database", timeout)


def make_app(manager: Manager, prefix: str) -> Application:
    routes = [
        *api_routes(prefix),
        *page_routes(prefix),
        (rf"{prefix}oauth_callback", HubOAuthCallbackHandler),
    ]
    return Application(
        routes, manager=manager, prefix=prefix, cookie_secret=secrets.token_bytes(32)
    )


async def serve() -> None:
    logging.basicConfig(level=logging.INFO, format="[workshops %(levelname)s] %(message)s")
    settings, public_url = platform_settings(Path(os.environ["SDL_DATA_DIR"]))
    if settings.mode == "kubernetes":  # on the hub's PVC; its first start makes the folder
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    wait = 60 if settings.mode == "kubernetes" else 0  # the lab's PostgreSQL may be starting
    store = await asyncio.to_thread(open_store, settings, wait)
    manager = Manager(settings, store, HubAPI(), public_url)
    try:  # before serving: no request may change a workshop while this runs
        await manager.sync_policies()
    except WorkshopError as exc:
        log.error("workshop quota policies not synchronised: %s", exc)
    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    server = HTTPServer(make_app(manager, prefix), max_body_size=3 * MAX_UPLOAD_BYTES)
    host = "" if settings.mode == "kubernetes" else url.hostname or "127.0.0.1"
    server.listen(url.port or 80, host)
    log.info("workshops service at %s%s", public_url, prefix)
    await manager.run_forever()


if __name__ == "__main__":
    os.umask(0o022)  # published versions must be readable by participants
    asyncio.run(serve())
