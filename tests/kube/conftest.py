"""Kubernetes-mode tests: the real KubeSpawner against a kubeconfig that is never used."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from traitlets.config import Config

from hub.kube.render import hub_config, offline_kubeconfig
from hub.settings import Settings


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
