"""Where the Open Data Cube index lives: settings -> a datacube Index over psycopg2.

The embedded PostgreSQL is used when no external URL is configured; it is started for
the duration of a command unless `sdl up` already runs it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from hub.db.access import ensure_database
from hub.db.urls import PlatformPostgres
from hub.errors import SdlError
from hub.settings import Settings

if TYPE_CHECKING:  # datacube is slow to import: at run time only where it is used
    from datacube import Datacube
    from datacube.index import Index

INDEX_DRIVER = "postgres"  # the legacy driver: the embedded server has no PostGIS


class IndexError_(SdlError):
    """The index database is missing, unreachable or not initialised."""


@contextlib.contextmanager
def admin_url(settings: Settings, create: bool = False) -> Iterator[str]:
    """The index database's admin URL, with a server running for the block."""
    server = PlatformPostgres.of(settings)
    with server.running():
        if create:
            ensure_database(server.server_url(), settings.database.name)
        yield server.admin_url(settings.database.name)


def connect(url: str, validate: bool = True, app: str = "sdl-data") -> Index:
    """A datacube Index on `url` using the legacy postgres driver."""
    from datacube.cfg import ODCConfig
    from datacube.index import index_connect
    from datacube.index.exceptions import IndexSetupError

    config = ODCConfig(raw_dict={"sdl": {"index_driver": INDEX_DRIVER, "db_url": url}})
    try:
        return index_connect(config["sdl"], application_name=app, validate_connection=validate)
    except IndexSetupError as exc:
        raise IndexError_(
            f"the index database {make_url(url).database!r} has no Open Data Cube schema; "
            "run `sdl data init` first"
        ) from exc
    except sa.exc.OperationalError as exc:
        raise IndexError_(f"cannot connect to the index database: {exc.orig}") from exc


def datacube_for(url: str | None = None, app: str = "sdl-notebook") -> Datacube:
    """A Datacube on `url` (legacy postgres driver), or from the workspace's ODC config."""
    import datacube  # slow to import: only when a notebook asks for a Datacube

    if url is None:
        return datacube.Datacube(app=app)
    return datacube.Datacube(index=connect(url, app=app))


@contextlib.contextmanager
def open_index(settings: Settings, validate: bool = True, create: bool = False) -> Iterator[Index]:
    """A datacube Index for the block (server started if needed, closed after)."""
    with admin_url(settings, create=create) as url:
        index = connect(url, validate=validate)
        try:
            yield index
        finally:
            index.close()
