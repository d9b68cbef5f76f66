"""Kubernetes mode: the dask-gateway helm chart's gateway config comes from this package.

The chart's `gateway.extraConfig` runs Python with the gateway's traitlets config `c`
in scope; `gateway_extra_config()` returns the snippet to put there. It imports this
module (so the gateway image needs the `space-data-lab` package) and applies the same
limits and options as the embedded gateway, from the settings file the chart mounts
(SDL_SETTINGS_FILE).

What differs from embedded mode: the upstream KubeBackend keeps no worker counts we can
sum, so totals across clusters are enforced as (a) the number of clusters and (b) each
cluster capped at the user's totals (upstream `cluster_max_*`, which clamps rather than
refuses). Workers default to the user's workspace image.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from traitlets.config import Config

from hub.gateway.config import SERVICE_NAME, cluster_options, limits_provider
from hub.gateway.limits import GIB, check_new_cluster
from hub.settings import Settings, load_settings


def kube_gateway_config(settings: Settings) -> Config:
    """Values the chart does not set itself: auth scope, options, limits, idle timeout."""
    c = Config()
    provider = limits_provider(settings)
    c.JupyterHubAuthenticator.jupyterhub_service_name = SERVICE_NAME
    c.JupyterHubAuthenticator.use_service_access_scopes = True
    c.DaskGateway.backend_class = "hub.gateway.kube.SdlKubeBackend"
    c.SdlKubeBackend.limits_provider = provider
    c.Backend.cluster_options = cluster_options(provider)
    c.KubeClusterConfig.idle_timeout = float(settings.dask.idle_timeout)
    c.KubeClusterConfig.image = settings.kubernetes.user_image  # workers match workspaces
    totals = settings.dask.user_limits
    c.KubeClusterConfig.cluster_max_cores = float(totals.cores)
    c.KubeClusterConfig.cluster_max_memory = int(totals.memory_gib * GIB)
    c.KubeClusterConfig.cluster_max_workers = totals.workers
    return c


def apply_kube_gateway(c: Config, settings_file: str | None = None) -> None:
    """Merge the platform's gateway config into the chart's `c` (from extraConfig)."""
    path = settings_file or os.environ.get("SDL_SETTINGS_FILE", "")
    settings = load_settings(Path(path) if path else None)
    c.merge(kube_gateway_config(settings))


def gateway_extra_config() -> str:
    """The helm value `gateway.extraConfig.sdl` (a Python snippet, run by the gateway)."""
    return "from hub.gateway.kube import apply_kube_gateway\napply_kube_gateway(c)\n"


def _kube_backend() -> type:
    """Built lazily: kubernetes_asyncio is only needed inside the gateway pod."""
    from dask_gateway_server.backends.base import PublicException
    from dask_gateway_server.backends.kubernetes import KubeBackend
    from traitlets import Callable

    class SdlKubeBackend(KubeBackend):
        """KubeBackend that refuses a cluster beyond the user's number of clusters."""

        limits_provider = Callable(
            None, allow_none=True, config=True,
            help="Function (username, groups) -> hub.gateway.limits.DaskLimits.",
        )  # fmt: skip

        async def start_cluster(self, user: Any, cluster_options: dict[str, Any]) -> str:
            if self.limits_provider is not None:
                limits = self.limits_provider(user.name, user.groups)
                running = [_model_use(c) for c in await self.list_clusters(username=user.name)]
                reason = check_new_cluster(limits, running)
                if reason:
                    raise PublicException(reason)
            return await super().start_cluster(user, cluster_options)

    return SdlKubeBackend


def _model_use(cluster: Any) -> Any:
    from hub.gateway.limits import ClusterUse

    config = cluster.config or {}
    return ClusterUse(
        cluster.name, 0, float(config.get("worker_cores", 1)), int(config.get("worker_memory", 0))
    )


def __getattr__(name: str) -> Any:
    if name == "SdlKubeBackend":
        return _kube_backend()
    raise AttributeError(name)
