"""`python -m hub.quotas`: the quota service, started by the hub as a managed service.

Reads the settings like the hub does (SDL_DATA_DIR, SDL_CONFIG) and the service
environment JupyterHub gives it (JUPYTERHUB_SERVICE_URL, _PREFIX, _API_URL, _API_TOKEN).
"""

from __future__ import annotations

import asyncio
import logging

from hub.policy.spawn import ProfileCatalog
from hub.profiles import load_profiles
from hub.quotas.accounting import HubUsers, poll_once, scan_homes
from hub.quotas.context import ServiceContext
from hub.quotas.db import settings_store
from hub.quotas.service import make_app
from hub.service.startup import ServiceEnv, cookie_secret, listen, main, open_when_ready
from hub.settings import Settings, settings_from_environment

log = logging.getLogger("sdl.quotas")


def settings_from_env(environ: dict[str, str] | None = None) -> Settings:
    """The hub's settings; in the Kubernetes hub pod also its database (SDL_DATABASE_URL)."""
    return settings_from_environment(environ)


async def poll_forever(ctx: ServiceContext, api_url: str, token: str) -> None:
    interval = ctx.settings.quotas.poll_interval
    while True:
        try:
            running = await poll_once(
                ctx.store, ctx.hub, api_url, token, ctx.catalog, grace=2 * interval
            )
            log.debug("polled the hub: %d servers running", running)
        except Exception:
            log.exception("usage poll failed; retrying in %.0fs", interval)
        await asyncio.sleep(interval)


async def scan_forever(ctx: ServiceContext) -> None:
    while True:
        names = [name for name, _, _ in ctx.hub.triples()]
        try:
            await asyncio.to_thread(scan_homes, ctx.store, ctx.settings.data_dir, names)
        except Exception:
            log.exception("measuring homes failed")
        await asyncio.sleep(ctx.settings.quotas.storage_scan_interval)


async def serve() -> None:
    settings = settings_from_env()
    if settings.mode == "kubernetes":  # on the hub's PVC; its first start makes the folder
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    service = ServiceEnv.read("quotas", default_url="http://127.0.0.1:10101")
    store = await open_when_ready(lambda: settings_store(settings), "quota database")
    ctx = ServiceContext(
        settings=settings,
        store=store,
        catalog=ProfileCatalog(load_profiles(settings.profiles_dir)),
        hub=HubUsers(),
        prefix=service.prefix,
        hub_home=service.hub_home,
    )
    app = make_app(ctx, cookie_secret(settings.data_dir, "quotas"))
    listen(app, service, kubernetes=settings.mode == "kubernetes")
    tasks = [asyncio.create_task(poll_forever(ctx, service.api_url, service.api_token))]
    if settings.mode == "local":
        tasks.append(asyncio.create_task(scan_forever(ctx)))
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    main("quotas", serve)
