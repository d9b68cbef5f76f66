"""Where the platform's PostgreSQL is, and the URL of database X for role R on it.

One server holds every database of the platform (the index, quotas, workshops). It is
either the embedded one in the data dir (its superuser over the private socket, password
roles over loopback TCP) or an external one named by `database.url` (settings, or
SDL_DATABASE_URL in the Kubernetes hub pod). Every URL made here names the psycopg2
driver: SQLAlchemy 2.1 maps a bare `postgresql://` to psycopg 3, which datacube refuses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from hub.db.embedded import EmbeddedPostgres
from hub.errors import SdlError
from hub.settings import Settings

DRIVER = "postgresql+psycopg2"
SERVER_DATABASE = "postgres"  # the server's own database, where databases are created


class DatabaseUrlError(SdlError):
    """`database.url` is not a PostgreSQL URL."""


def psycopg2_url(url: str, database: str | None = None) -> str:
    """`url` with the psycopg2 driver, and on database `database` if given."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseUrlError(f"database.url: {parsed.render_as_string()} is not a PostgreSQL URL")
    parsed = parsed.set(drivername=DRIVER)
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@dataclass(frozen=True)
class PlatformPostgres:
    """The platform's PostgreSQL: the embedded server in `data_dir`, or `external_url`."""

    data_dir: Path
    external_url: str = ""  # the platform's admin login on an external server

    @classmethod
    def of(cls, settings: Settings) -> PlatformPostgres:
        return cls(settings.data_dir, settings.database.url)

    @property
    def embedded(self) -> bool:
        return not self.external_url

    def admin_url(self, database: str) -> str:
        """The platform's own role on `database` (embedded: the superuser, root only).

        The embedded server must be running: its port is read from the running server.
        """
        if self.external_url:
            return psycopg2_url(self.external_url, database)
        return EmbeddedPostgres(self.data_dir).superuser_url(database)

    def server_url(self) -> str:
        """The admin URL of the server's own database (to create and close others)."""
        return self.admin_url(SERVER_DATABASE)

    def login_url(self, database: str, role: str, password: str) -> str:
        """Password role `role` on `database`, as a workspace or a service connects."""
        if self.external_url:
            url = make_url(psycopg2_url(self.external_url, database))
            return url.set(username=role, password=password).render_as_string(hide_password=False)
        return EmbeddedPostgres(self.data_dir).tcp_url(role, password, database)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """The server for the block: an external one as it is; the embedded one as
        `sdl up` runs it, or started for the block and stopped after it."""
        if self.external_url:
            yield
            return
        with EmbeddedPostgres(self.data_dir).ensure_running():
            yield
