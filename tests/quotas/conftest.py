"""A real embedded PostgreSQL for the quota tests, and a fresh database per test."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.db.access import ensure_database
from hub.db.embedded import EmbeddedPostgres
from hub.quotas.store import QuotaStore
from tests.support.platform import make_data_dir


@pytest.fixture(scope="session")
def pg_data_dir() -> Iterator[Path]:
    """A data dir with a running embedded PostgreSQL for the whole session."""
    data_dir = make_data_dir("sdl-quotas-pg-")
    pg = EmbeddedPostgres(data_dir)
    with pg.ensure_running():
        yield data_dir
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def fresh_db(pg_data_dir: Path) -> tuple[str, str]:
    """(database name, SQLAlchemy URL) of a new, empty database."""
    name = f"quotas_{uuid.uuid4().hex[:10]}"
    url = EmbeddedPostgres(pg_data_dir).superuser_url(name)
    ensure_database(url, name)
    return name, url


@pytest.fixture
def store(fresh_db: tuple[str, str]) -> Iterator[QuotaStore]:
    quota_store = QuotaStore(fresh_db[1])
    quota_store.migrate()
    yield quota_store
    quota_store.close()
