"""Each workspace's Open Data Cube connection: the user's own read-only login."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from hub.db.embedded import EmbeddedPostgres
from hub.db.roles import ensure_user_login, login_password


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
    password = login_password(key, username)
    if admin_url:  # an external PostgreSQL
        engine = sa.create_engine(sa.engine.make_url(admin_url).set(database=database))
    else:
        engine = sa.create_engine(EmbeddedPostgres(data_dir).superuser_url(database))
    try:
        role = ensure_user_login(engine, username, password, connection_limit)
    finally:
        engine.dispose()
    if admin_url:
        url = sa.engine.make_url(admin_url).set(
            drivername="postgresql+psycopg2", username=role, password=password, database=database
        )
        return url.render_as_string(hide_password=False)
    return EmbeddedPostgres(data_dir).tcp_url(role, password, database)
