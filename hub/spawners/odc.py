"""Each workspace's Open Data Cube connection: the user's own read-only login.

The URL is derived (role name and password come from the user's name and a secret), so
it is known before the login exists: the spawner creates the login while the server
starts, and waits for it before the server is declared ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from hub.db.roles import ensure_user_login, login_name, login_password
from hub.db.urls import PlatformPostgres


@dataclass(frozen=True)
class DatabasePlace:
    """Where the index lives: database `database` on the platform's PostgreSQL (the
    embedded one in `data_dir`, or the external one of `admin_url`)."""

    data_dir: Path
    admin_url: str  # empty: the embedded one
    database: str

    @property
    def server(self) -> PlatformPostgres:
        return PlatformPostgres(self.data_dir, self.admin_url)

    def admin_engine(self) -> sa.Engine:
        return sa.create_engine(self.server.admin_url(self.database))

    def login_url(self, role: str, password: str) -> str:
        return self.server.login_url(self.database, role, password)


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
