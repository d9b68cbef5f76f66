"""Whether an external PostgreSQL has the connection slots the settings need.

The embedded server is started with enough (`hub.db.embedded.connection_slots`); an
external one named by `database.url` is the operator's, and one left at PostgreSQL's
default of 100 would let 12 users of 8 connections lock everyone else out. `sdl up`
checks before it starts anything, so the operator learns it from the start-up error
and not from a user refused later.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from hub.db.embedded import PLATFORM_CONNECTIONS, connection_slots
from hub.db.urls import psycopg2_url
from hub.db.wait import first_line
from hub.errors import SdlError
from hub.settings import Settings


class ConnectionCapacityError(SdlError):
    """The external PostgreSQL has fewer connection slots than the settings need."""


def needed_connections(settings: Settings) -> int:
    return connection_slots(
        settings.hub.active_server_limit, settings.database.user_connection_limit
    )


def server_max_connections(url: str) -> int:
    engine = sa.create_engine(psycopg2_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SHOW max_connections")).scalar_one())
    finally:
        engine.dispose()


def check_connection_capacity(settings: Settings) -> int:
    """The external server's max_connections, or an error saying what to change."""
    url = settings.database.url
    shown = sa.engine.make_url(psycopg2_url(url)).render_as_string(hide_password=True)
    try:
        have = server_max_connections(url)
    except sa.exc.SQLAlchemyError as exc:
        reason = first_line(getattr(exc, "orig", None) or exc)
        raise ConnectionCapacityError(f"database.url: cannot connect to {shown}: {reason}") from exc
    need = needed_connections(settings)
    if have < need:
        active = settings.hub.active_server_limit
        per_user = settings.database.user_connection_limit
        raise ConnectionCapacityError(
            f"database.url: {shown} allows max_connections = {have}, but "
            f"hub.active_server_limit ({active}) x database.user_connection_limit "
            f"({per_user}) + {PLATFORM_CONNECTIONS} for the platform needs {need}: raise "
            "max_connections on that server (postgresql.conf, then restart it), or lower "
            "one of those two settings"
        )
    return have
