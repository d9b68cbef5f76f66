"""Kubernetes-mode tests: the real KubeSpawner against a kubeconfig that is never used."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from traitlets.config import Config

from hub.kube.render import SampleUser, hub_config, offline_kubeconfig, spawn_manifests
from hub.settings import Settings

KUBERNETES_VERSION = "1.33"


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


def manifests(c: Config, user: SampleUser, options: Any) -> tuple[Any, dict, dict]:
    """(spawner, pod, pvc) as a real spawn would build them; HTTPError when refused."""
    return asyncio.run(spawn_manifests(c, user, options))
