"""The archive service: `python -m hub.archive.service`, started by the hub at /services/archive/.

Any logged-in user may open it (JupyterHub OAuth; every user's role has
`access:services!service=archive`, see `hub.config.archive`):

- `/services/archive/`: the status map (Leaflet) and the same data as a table;
- `/services/archive/api/tiles?from=YYYY-MM-DD&to=YYYY-MM-DD`: the tiles as GeoJSON;
- `/services/archive/static/...`: the vendored Leaflet and the Nordic outline.

It reads the index's tables through `hub.archive.index_rows.StatusSource` (cached until
the index changes, read in the background from the start): with the platform's own
connection under `sdl up`, with the read-only login of SDL_ARCHIVE_INDEX_URL in the
Kubernetes hub pod.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

from tornado import web

from hub.archive import INDEX_URL_ENV, STATIC, page
from hub.archive.index_rows import StatusSource
from hub.archive.status import ArchiveQueryError, parse_day
from hub.data.db import admin_url
from hub.db.urls import psycopg2_url
from hub.errors import Forbidden, InvalidRequest
from hub.service.handlers import JsonHandler, ServiceHandler
from hub.service.startup import ServiceEnv, cookie_secret, listen, main, service_app
from hub.settings import Settings, settings_from_environment

log = logging.getLogger("sdl.archive")


class ArchiveHandler(ServiceHandler):
    UNAVAILABLE = "the index is unavailable"

    @property
    def reader(self) -> StatusSource:
        return self.settings["reader"]

    @property
    def prefix(self) -> str:
        return self.settings["prefix"]

    def query(self) -> dict[str, Any]:
        return {
            "start": parse_day(self.get_argument("from", ""), "from"),
            "end": parse_day(self.get_argument("to", ""), "to"),
        }

    async def status(self, query: dict[str, Any]) -> dict[str, Any]:
        return await self.db(self.reader.status, **query)


class TilesApi(ArchiveHandler, JsonHandler):
    async def get(self) -> None:
        if not self.current_user:
            raise Forbidden("log in to the hub first")
        try:
            query = self.query()
            document = await self.status(query)
        except ArchiveQueryError as exc:
            raise InvalidRequest(str(exc)) from None
        self.reply(document)


class StatusPage(ArchiveHandler):
    @web.authenticated  # anonymous: to the hub's login, and back here after it
    async def get(self) -> None:
        error = ""
        try:
            query = self.query()
        except ArchiveQueryError as exc:
            self.set_status(400)
            query, error = {}, str(exc)
        try:
            document = await self.status(query)
        except ArchiveQueryError as exc:  # from after to
            self.set_status(400)
            document, error = await self.status({}), str(exc)
        self.finish(
            page.status_page(
                document,
                self.prefix,
                self.settings["hub_home"],
                _text(self.xsrf_token),
                self.settings["tile_url"],
                error,
            )
        )


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def make_app(
    reader: StatusSource, prefix: str, hub_home: str, cookie_secret: bytes, tile_url: str = ""
) -> web.Application:
    return service_app(
        prefix,
        [
            (prefix, StatusPage),
            (prefix + "api/tiles", TilesApi),
            (prefix + "static/(.*)", web.StaticFileHandler, {"path": str(STATIC)}),
        ],
        cookie_secret,
        reader=reader,
        prefix=prefix,
        hub_home=hub_home,
        tile_url=tile_url,
    )


def settings_from_env(env: dict[str, str]) -> Settings:
    """The hub's settings, as the hub read them (SDL_DATA_DIR, SDL_CONFIG)."""
    return settings_from_environment(env)


async def serve() -> None:
    env = dict(os.environ)
    settings = settings_from_env(env)
    service = ServiceEnv.read("archive", env)
    kubernetes = settings.mode == "kubernetes"
    given = env.get(INDEX_URL_ENV, "")  # Kubernetes: the read-only login (hub.config.archive)
    # sdl up runs PostgreSQL: admin_url only names it (and starts nothing while it runs)
    with contextlib.nullcontext(psycopg2_url(given)) if given else admin_url(settings) as url:
        app = make_app(
            StatusSource(url, warm=True),
            service.prefix,
            service.hub_home,
            cookie_secret(settings.data_dir, "archive"),
            env.get("SDL_ARCHIVE_TILE_URL", ""),
        )
        listen(app, service, kubernetes=kubernetes)
        await asyncio.Event().wait()


if __name__ == "__main__":
    main("archive", serve)
