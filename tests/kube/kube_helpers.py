"""Helpers shared by the Kubernetes-mode tests."""

from __future__ import annotations

import asyncio
from typing import Any

from traitlets.config import Config

from hub.kube.render import SampleUser, spawn_manifests

#: Recent Kubernetes whose OpenAPI schemas (from kubernetes-validate) objects must pass.
KUBERNETES_VERSION = "1.33"


def manifests(c: Config, user: SampleUser, options: Any) -> tuple[Any, dict, dict]:
    """(spawner, pod, pvc) as a real spawn would build them; HTTPError when refused."""
    return asyncio.run(spawn_manifests(c, user, options))
