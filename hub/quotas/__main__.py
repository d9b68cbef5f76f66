"""`python -m hub.quotas`: the quota service, started by the hub as a managed service.

Reads the settings like the hub does (SDL_DATA_DIR, SDL_CONFIG) and the service
environment JupyterHub gives it (JUPYTERHUB_SERVICE_URL, _PREFIX, _API_URL, _API_TOKEN).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from urllib.parse import urlparse

from hub.db.wait import when_database_ready
from hub.policy.spawn import ProfileCatalog
from hub.profiles import load_profiles
from hub.quotas.accounting import HubUsers, poll_once, scan_homes
from hub.quotas.db import settings_store
from hub.quotas.service import ServiceContext, make_app
from hub.quotas.store import QuotaStore
from hub.secrets import SecretStore
from hub.settings import Settings, settings_from_environment

log = logging.getLogger("sdl.quotas")


def settings_from_env(environ: dict[str, str] | None = None) -> Settings:
    """The hub's settings; in the Kubernetes hub pod also its database (SDL_DATABASE_URL)."""
    return settings_from_environment(environ)


def open_store(settings: Settings, timeout: float = 60) -> QuotaStore:
    """The store, waiting for PostgreSQL while it starts (e.g. next to the hub pod)."""
    return when_database_ready(lambda: settings_store(settings), "quota database", timeout)


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
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/quotas/")
    bind = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    base_url = os.environ.get("JUPYTERHUB_BASE_URL", "/")
    store = await asyncio.to_thread(open_store, settings)
    ctx = ServiceContext(
        settings=settings,
        store=store,
        catalog=ProfileCatalog(load_profiles(settings.profiles_dir)),
        hub=HubUsers(),
        prefix=prefix,
        hub_home=f"{base_url.rstrip('/')}/hub/home",
    )
    secret = SecretStore(settings.data_dir).get_hex("quotas_cookie_secret")
    app = make_app(ctx, bytes.fromhex(secret))
    # in the hub pod the proxy, another pod, connects: listen on the pod's addresses
    host = "" if settings.mode == "kubernetes" else bind.hostname or "127.0.0.1"
    app.listen(bind.port or 10101, host, xheaders=True)
    log.info("quota service on %s%s", bind.geturl().rstrip("/"), prefix)
    tasks = [
        asyncio.create_task(
            poll_forever(ctx, os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"])
        ),
    ]
    if settings.mode == "local":
        tasks.append(asyncio.create_task(scan_forever(ctx)))
    await asyncio.gather(*tasks)


def main() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="[%(levelname)1.1s %(asctime)s quotas] %(message)s",
    )
    asyncio.run(serve())


if __name__ == "__main__":
    main()
