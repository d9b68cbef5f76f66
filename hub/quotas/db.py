"""Where the quota database lives: the platform's PostgreSQL, database `quotas.database`.

Locally that is the embedded server in the data dir, reached as its superuser over the
private socket (only root / the platform user can); externally `database.url`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from hub.data.db import psycopg2_url
from hub.db.access import ensure_private_database
from hub.quotas.store import QuotaStore
from hub.settings import Settings

_lock = threading.Lock()
_stores: dict[str, QuotaStore] = {}


def server_url(data_dir: Path, external_url: str = "") -> str:
    """Admin URL of the PostgreSQL server (its `postgres` database)."""
    if external_url:
        return psycopg2_url(external_url, "postgres")
    from hub.db.embedded import EmbeddedPostgres

    return EmbeddedPostgres(data_dir).superuser_url("postgres")


def database_url(data_dir: Path, external_url: str, name: str) -> str:
    return psycopg2_url(server_url(data_dir, external_url), name)


def create_database(url: str, name: str) -> None:
    """Create the database unless it exists, closed to the users' logins; the hub and the
    service may race here."""
    try:
        ensure_private_database(url, name)
    except (sa.exc.IntegrityError, sa.exc.ProgrammingError) as exc:
        if "already exists" not in str(exc) and "pg_database_datname_index" not in str(exc):
            raise


def shared_store(data_dir: Path, external_url: str, name: str) -> QuotaStore:
    """One migrated store per database for this process (created on first use)."""
    url = database_url(data_dir, external_url, name)
    with _lock:
        store = _stores.get(url)
        if store is None:
            create_database(url, name)
            store = QuotaStore(url)
            store.migrate()
            _stores[url] = store
        return store


def forget_stores() -> None:
    """Drop cached stores (their server moved, e.g. after a restart on a new port)."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()


def settings_store(settings: Settings) -> QuotaStore:
    """The store for a settings document; the server must be running."""
    return shared_store(settings.data_dir, settings.database.url, settings.quotas.database)


@contextlib.contextmanager
def store_for_command(settings: Settings) -> Iterator[QuotaStore]:
    """For CLI verbs: the store, with the embedded server started for the block if needed."""
    if settings.database.url:
        yield settings_store(settings)
        return
    from hub.db.embedded import EmbeddedPostgres

    with EmbeddedPostgres(settings.data_dir).ensure_running():
        store = settings_store(settings)
        try:
            yield store
        finally:
            forget_stores()
