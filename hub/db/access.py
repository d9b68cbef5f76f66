"""What the users' read-only logins may reach on the platform's PostgreSQL, and what not.

PostgreSQL's defaults are made for trusted users: every role may connect to every
database (PUBLIC has CONNECT and TEMPORARY) and may create large objects in any database
it reaches. Workspaces hold logins of their own, so the platform closes both: only the
index database is open to them, and in it nobody but the platform creates large objects
(they live in the database, so any login could fill the disk with them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

from hub.db.urls import SERVER_DATABASE, PlatformPostgres, psycopg2_url

#: Functions that create a large object (`lo_import` is already the superuser's alone).
LARGE_OBJECT_CREATORS = ("lo_creat(integer)", "lo_create(oid)", "lo_from_bytea(oid, bytea)")
#: Databases of the server itself that no workspace login needs.
SERVER_DATABASES = ("postgres", "template1")
#: PostgreSQL 16's predefined role that may use the `reserved_connections` slots.
RESERVED_SLOTS_ROLE = "pg_use_reserved_connections"


_PUBLIC_MAY_ENTER = sa.text(
    "SELECT has_database_privilege('public', :d, 'CONNECT') "
    "OR has_database_privilege('public', :d, 'TEMPORARY')"
)
_PUBLIC_MAY_CREATE = sa.text("SELECT has_function_privilege('public', :f, 'EXECUTE')")


def _retry_race(step: Callable[[], None]) -> None:
    """The hub and the services start together: two GRANTs on one catalog row at once
    fail with 'tuple concurrently updated'; the second try finds it done."""
    for attempt in range(3):
        try:
            step()
            return
        except sa.exc.InternalError as exc:
            if "concurrently updated" not in str(exc) or attempt == 2:
                raise


def close_database(engine: sa.Engine, name: str) -> None:
    """Only the platform's admin role (the one of `engine`) may connect to `name`.

    Its owner and superusers keep their rights; every other role loses CONNECT and
    TEMPORARY, which PUBLIC has on a new database. Once closed, a SELECT and nothing more.
    """
    quote = engine.dialect.identifier_preparer.quote(name)

    def step() -> None:
        with engine.begin() as conn:
            if conn.execute(_PUBLIC_MAY_ENTER, {"d": name}).scalar():
                conn.execute(sa.text(f"REVOKE ALL ON DATABASE {quote} FROM PUBLIC"))
                conn.execute(
                    sa.text(f"GRANT CONNECT, TEMPORARY ON DATABASE {quote} TO CURRENT_USER")
                )

    _retry_race(step)


def ensure_database(server_url: str, name: str) -> bool:
    """Create database `name` on the server of `server_url` if missing; True when
    created now. The hub and the services start together and may race here: the
    loser finds it made."""
    with (
        _engine(server_url, SERVER_DATABASE, isolation_level="AUTOCOMMIT") as engine,
        engine.connect() as conn,
    ):
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if exists:
            return False
        quoted = engine.dialect.identifier_preparer.quote(name)
        try:
            conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError) as exc:
            if not any(s in str(exc) for s in ("already exists", "pg_database_datname_index")):
                raise
            return False
        return True


def ensure_private_database(server_url: str, name: str) -> bool:
    """Database `name` on the server of `server_url`, created if missing and closed to
    every role but ours (`close_database`); True when created now."""
    created = ensure_database(server_url, name)
    with _engine(server_url, SERVER_DATABASE) as engine:
        close_database(engine, name)
    return created


def private_database_url(server: PlatformPostgres, name: str) -> str:
    """The platform's admin URL of database `name` on `server`, created if missing and
    closed to the users' logins (quotas, workshops: the platform's own databases)."""
    ensure_private_database(server.server_url(), name)
    return server.admin_url(name)


def forbid_large_objects(engine: sa.Engine) -> None:
    """No role but the superuser creates large objects in `engine`'s database.

    Function privileges are per database: run it in each database users may reach (and
    in template1, so databases created later start so too).
    """
    functions = ", ".join(f"pg_catalog.{signature}" for signature in LARGE_OBJECT_CREATORS)

    def step() -> None:
        with engine.begin() as conn:
            if any(
                conn.execute(_PUBLIC_MAY_CREATE, {"f": f"pg_catalog.{f}"}).scalar()
                for f in LARGE_OBJECT_CREATORS
            ):
                conn.execute(sa.text(f"REVOKE EXECUTE ON FUNCTION {functions} FROM PUBLIC"))

    _retry_race(step)


@contextlib.contextmanager
def _engine(server_url: str, database: str, **options: Any) -> Iterator[sa.Engine]:
    engine = sa.create_engine(
        psycopg2_url(server_url, database), poolclass=sa.pool.NullPool, **options
    )
    try:
        yield engine
    finally:
        engine.dispose()


def lock_down_embedded(server_url: str, index_database: str) -> None:
    """The embedded server, as its superuser: its own databases closed, and no large
    objects in the index (open to the users' logins) or in databases made later."""
    for database in SERVER_DATABASES:
        with _engine(server_url, database) as engine:
            close_database(engine, database)
    for database in ("template1", index_database):
        with _engine(server_url, database) as engine:
            forbid_large_objects(engine)


def may_grant_reserved_slots(conn: sa.Connection) -> bool:
    """True if our role may hand out the reserved connection slots (superusers may)."""
    granted = conn.execute(
        sa.text("SELECT pg_has_role(current_user, :r, 'MEMBER WITH ADMIN OPTION')"),
        {"r": RESERVED_SLOTS_ROLE},
    ).scalar()
    return bool(granted)
