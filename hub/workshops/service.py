"""The workshops service: `python -m hub.workshops.service`, started by the hub.

JupyterHub runs it as a managed service (see `hub.config.workshops`) and gives it its
token, URL and prefix in the environment; we add SDL_DATA_DIR to find the settings
the hub itself was started with.
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

from hub.runtime import read_runtime
from hub.settings import Settings, load_settings
from hub.workshops.api import api_routes
from hub.workshops.hubapi import HubAPI
from hub.workshops.manager import Manager
from hub.workshops.model import WorkshopError
from hub.workshops.pages import page_routes
from hub.workshops.store import Store, database_url
from hub.workshops.uploads import MAX_UPLOAD_BYTES

log = logging.getLogger("sdl.workshops")


def platform_settings(data_dir: Path) -> tuple[Settings, str]:
    """The settings and public URL of the running platform, as the hub read them."""
    runtime = read_runtime(data_dir)
    settings = load_settings(
        Path(runtime.config_file) if runtime.config_file else None,
        overrides={"data_dir": str(data_dir)},
    )
    return settings, runtime.public_url


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
    store = Store(database_url(settings))
    store.create_tables()
    manager = Manager(settings, store, HubAPI(), public_url)
    try:  # before serving: no request may change a workshop while this runs
        await manager.sync_policies()
    except WorkshopError as exc:
        log.error("workshop quota policies not synchronised: %s", exc)
    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    server = HTTPServer(make_app(manager, prefix), max_body_size=3 * MAX_UPLOAD_BYTES)
    server.listen(url.port or 80, url.hostname or "127.0.0.1")
    log.info("workshops service at %s%s", public_url, prefix)
    await manager.run_forever()


if __name__ == "__main__":
    os.umask(0o022)  # published versions must be readable by participants
    asyncio.run(serve())
