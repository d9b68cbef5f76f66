"""Each workspace's Open Data Cube connection: the user's own read-only login.

The URL is derived (role name and password come from the user's name and a secret), so
it is known before the login exists: the spawner creates the login while the server
starts, and waits for it before the server is declared ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from hub.db.embedded import EmbeddedPostgres
from hub.db.roles import ensure_user_login, login_name, login_password


@dataclass(frozen=True)
class DatabasePlace:
    """Where the index lives: the embedded PostgreSQL in `data_dir`, or `admin_url`."""

    data_dir: Path
    admin_url: str  # empty: the embedded one
    database: str

    def admin_engine(self) -> sa.Engine:
        if self.admin_url:
            return sa.create_engine(sa.engine.make_url(self.admin_url).set(database=self.database))
        return sa.create_engine(EmbeddedPostgres(self.data_dir).superuser_url(self.database))

    def login_url(self, role: str, password: str) -> str:
        if self.admin_url:
            url = sa.engine.make_url(self.admin_url).set(
                drivername="postgresql+psycopg2",
                username=role,
                password=password,
                database=self.database,
            )
            return url.render_as_string(hide_password=False)
        return EmbeddedPostgres(self.data_dir).tcp_url(role, password, self.database)


def workspace_login_url(place: DatabasePlace, username: str, key: bytes) -> str:
    """The URL of `username`'s read-only login (no database call)."""
    return place.login_url(login_name(username), login_password(key, username))


def ensure_workspace_login(
    place: DatabasePlace, username: str, key: bytes, connection_limit: int
) -> None:
    """Create or refresh `username`'s read-only login (blocking: run it in a thread)."""
    engine = place.admin_engine()
    try:
        ensure_user_login(engine, username, login_password(key, username), connection_limit)
    finally:
        engine.dispose()


def workspace_database_url(
    *,
    data_dir: Path,
    admin_url: str,
    database: str,
    username: str,
    key: bytes,
    connection_limit: int,
) -> str:
    """Create/refresh `username`'s read-only login and return the URL the workspace uses."""
    place = DatabasePlace(data_dir, admin_url, database)
    ensure_workspace_login(place, username, key, connection_limit)
    return workspace_login_url(place, username, key)
