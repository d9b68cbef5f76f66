"""Kubernetes-mode tests: the real KubeSpawner against a kubeconfig that is never used."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from traitlets.config import Config

from hub.db.access import ensure_database
from hub.db.embedded import EmbeddedPostgres
from hub.kube.render import hub_config, offline_kubeconfig
from hub.settings import Settings
from tests.support.platform import make_data_dir


@pytest.fixture(scope="session", autouse=True)
def _offline_kubeconfig() -> Iterator[None]:
    with offline_kubeconfig():
        yield


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def hub_c(settings: Settings) -> Config:
    return hub_config(settings)


@pytest.fixture(scope="session")
def pg_data_dir() -> Iterator[Path]:
    """A data dir with a running embedded PostgreSQL (the quota database's server)."""
    data_dir = make_data_dir("sdl-kube-pg-")
    with EmbeddedPostgres(data_dir).ensure_running():
        yield data_dir
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def fresh_db(pg_data_dir: Path) -> str:
    """The name of a new, empty database on that server (the quota store migrates it)."""
    name = f"quotas_{uuid.uuid4().hex[:10]}"
    ensure_database(EmbeddedPostgres(pg_data_dir).superuser_url(name), name)
    return name
