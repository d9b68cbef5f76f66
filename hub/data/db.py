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

from hub.errors import SdlError
from hub.settings import Settings

if TYPE_CHECKING:  # datacube is slow to import: at run time only where it is used
    from datacube.index import Index

INDEX_DRIVER = "postgres"  # the legacy driver: the embedded server has no PostGIS


class IndexError_(SdlError):
    """The index database is missing, unreachable or not initialised."""


def psycopg2_url(url: str, database: str | None = None) -> str:
    """`url` with the psycopg2 driver (SQLAlchemy 2.1 maps postgresql:// to psycopg 3)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise IndexError_(f"database.url: {parsed.render_as_string()} is not a PostgreSQL URL")
    parsed = parsed.set(drivername="postgresql+psycopg2")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def ensure_database(server_url: str, name: str) -> bool:
    """Create database `name` on the server if missing; True when created now."""
    engine = sa.create_engine(psycopg2_url(server_url, "postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists:
                return False
            quoted = engine.dialect.identifier_preparer.quote(name)
            conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        engine.dispose()


@contextlib.contextmanager
def admin_url(settings: Settings, create: bool = False) -> Iterator[str]:
    """The index database's admin URL, with a server running for the block."""
    name = settings.database.name
    if settings.database.url:
        if create:
            ensure_database(settings.database.url, name)
        yield psycopg2_url(settings.database.url, name)
        return
    from hub.db.embedded import EmbeddedPostgres

    pg = EmbeddedPostgres(settings.data_dir)
    with pg.ensure_running():
        if create:
            ensure_database(pg.superuser_url("postgres"), name)
        yield pg.superuser_url(name)


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


@contextlib.contextmanager
def open_index(settings: Settings, validate: bool = True, create: bool = False) -> Iterator[Index]:
    """A datacube Index for the block (server started if needed, closed after)."""
    with admin_url(settings, create=create) as url:
        index = connect(url, validate=validate)
        try:
            yield index
        finally:
            index.close()
