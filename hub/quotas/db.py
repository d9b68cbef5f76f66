"""Where the quota database lives: the platform's PostgreSQL, database `quotas.database`.

Locally that is the embedded server in the data dir, reached as its superuser over the
private socket (only root / the platform user can); externally `database.url`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from hub.db.access import private_database_url
from hub.db.urls import PlatformPostgres
from hub.quotas.store import QuotaStore
from hub.settings import Settings

_lock = threading.Lock()
_stores: dict[str, QuotaStore] = {}


def shared_store(data_dir: Path, external_url: str, name: str) -> QuotaStore:
    """One migrated store per database for this process (created on first use)."""
    server = PlatformPostgres(data_dir, external_url)
    url = server.admin_url(name)
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = QuotaStore(private_database_url(server, name))
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
    server = PlatformPostgres.of(settings)
    if not server.embedded:
        yield settings_store(settings)
        return
    with server.running():
        store = settings_store(settings)
        try:
            yield store
        finally:
            forget_stores()
