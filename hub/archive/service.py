"""The archive service: `python -m hub.archive.service`, started by the hub at /services/archive/.

Any logged-in user may open it (JupyterHub OAuth; every user's role has
`access:services!service=archive`, see `hub.config.archive`):

- `/services/archive/`: the status map (Leaflet) and the same data as a table;
- `/services/archive/api/tiles?from=YYYY-MM-DD&to=YYYY-MM-DD`: the tiles as GeoJSON;
- `/services/archive/static/...`: the vendored Leaflet and the Nordic outline.

It reads the index with the platform's own connection, kept open between requests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

import sqlalchemy as sa
from tornado import web

from hub.archive import STATIC, page
from hub.archive.status import ArchiveQueryError, parse_day, tile_status
from hub.data.db import admin_url, connect
from hub.errors import Forbidden, InvalidRequest
from hub.service.handlers import JsonHandler, ServiceHandler
from hub.service.startup import ServiceEnv, cookie_secret, listen, main, service_app
from hub.settings import Settings, settings_from_environment

log = logging.getLogger("sdl.archive")


class IndexReader:
    """One index connection for the service; reopened once if PostgreSQL restarted."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.Lock()  # datacube's Index is not shared between threads
        self.index: Any = None

    def status(self, **query: Any) -> dict[str, Any]:
        with self.lock:
            for attempt in (1, 2):
                if self.index is None:
                    self.index = connect(self.url, app="sdl-archive")
                try:
                    return tile_status(self.index, **query)
                except sa.exc.DBAPIError:
                    self.index.close()
                    self.index = None
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")


class ArchiveHandler(ServiceHandler):
    DATABASE = "the index is"  # "the index is unavailable: OperationalError"

    @property
    def reader(self) -> IndexReader:
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
    reader: IndexReader, prefix: str, hub_home: str, cookie_secret: bytes, tile_url: str = ""
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
    # sdl up runs PostgreSQL: this only names it (and starts nothing while it runs)
    with admin_url(settings) as url:
        app = make_app(
            IndexReader(url),
            service.prefix,
            service.hub_home,
            cookie_secret(settings.data_dir, "archive"),
            env.get("SDL_ARCHIVE_TILE_URL", ""),
        )
        listen(app, service, kubernetes=False)  # embedded mode only for now
        await asyncio.Event().wait()


if __name__ == "__main__":
    main("archive", serve)
