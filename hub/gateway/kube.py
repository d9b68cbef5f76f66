"""Kubernetes mode: the dask-gateway helm chart's gateway config comes from this package.

The chart's `gateway.extraConfig` runs Python with the gateway's traitlets config `c`
in scope; `gateway_extra_config()` returns the snippet to put there. It imports this
module (so the gateway image needs the `space-data-lab` package) and applies the same
limits and options as the embedded gateway, from the hub's settings document. The chart's
API pod takes no extra volumes, so the document reaches it as the text of an environment
variable (SDL_SETTINGS_YAML, `configMapKeyRef` to ConfigMap `sdl-settings`), read by
`hub.settings.settings_from_environment` as every process reads SDL_CONFIG's file.

The backend, `SdlKubeBackend`, adds to upstream's KubeBackend what the embedded backend
adds to the local one, with the same code (hub.gateway.user_limits, .ledger, .dashboard):
totals across all of a user's clusters, usage in the quota budget, dashboards only for
their owner and admins, and the route by which the hub stops a user's clusters when
their server stops. Workers default to the user's workspace image.

None of this has run against a live cluster here (no kube-apiserver on these machines):
tests drive the backend's own code with DaskCluster objects as the informer holds them.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from traitlets.config import Config

from hub.gateway.config import SERVICE_NAME, cluster_options, limits_provider
from hub.gateway.dashboard import DashboardRoutes
from hub.gateway.ledger import UsageSettingsMixin
from hub.gateway.limits import GIB, ClusterUse
from hub.gateway.user_limits import UserLimitsMixin
from hub.settings import Settings, load_settings, settings_from_environment


def kube_gateway_config(settings: Settings) -> Config:
    """Values the chart does not set itself: auth scope, options, limits, idle timeout."""
    c = Config()
    provider = limits_provider(settings)
    c.JupyterHubAuthenticator.jupyterhub_service_name = SERVICE_NAME
    c.JupyterHubAuthenticator.use_service_access_scopes = True
    c.DaskGateway.backend_class = "hub.gateway.kube.SdlKubeBackend"
    # tokens in any header, `?token=`, or the hub's OAuth login for a browser opening a
    # dashboard (which on Kubernetes now goes through the API pod, see hub.kube.network)
    c.DaskGateway.authenticator_class = "hub.gateway.auth.SdlHubAuthenticator"
    c.SdlKubeBackend.limits_provider = provider
    c.SdlKubeBackend.usage_settings = settings  # cluster CPU-hours in the quota budget
    c.Backend.cluster_options = cluster_options(provider)
    c.KubeClusterConfig.idle_timeout = float(settings.dask.idle_timeout)
    c.KubeClusterConfig.image = settings.kubernetes.user_image  # workers match workspaces
    # a safety net under the backend's totals (which refuse with a reason): upstream
    # clamps any one cluster to these, should a request ever bypass the backend
    totals = settings.dask.user_limits
    c.KubeClusterConfig.cluster_max_cores = float(totals.cores)
    c.KubeClusterConfig.cluster_max_memory = int(totals.memory_gib * GIB)
    c.KubeClusterConfig.cluster_max_workers = totals.workers
    return c


def gateway_oauth_env(settings: Settings) -> list[dict[str, str]]:
    """The helm value `gateway.env` entries for the browser login to dashboards.

    The hub registers an OAuth client for every service with a URL (`service-<name>`,
    callback `<prefix>oauth_callback`, secret = the service's API token, which the chart
    already gives the gateway as JUPYTERHUB_API_TOKEN); these say the same to the gateway.
    """
    base = settings.hub.base_url.rstrip("/") + "/"
    prefix = f"{base}services/{SERVICE_NAME}/"
    return [
        {"name": "JUPYTERHUB_CLIENT_ID", "value": f"service-{SERVICE_NAME}"},
        {"name": "JUPYTERHUB_SERVICE_PREFIX", "value": prefix},
        {"name": "JUPYTERHUB_OAUTH_CALLBACK_URL", "value": f"{prefix}oauth_callback"},
        {"name": "JUPYTERHUB_BASE_URL", "value": base},
    ]


def gateway_settings(environ: dict[str, str] | None = None) -> Settings:
    """The gateway pod's settings: SDL_SETTINGS_YAML from the ConfigMap (or SDL_CONFIG)."""
    return settings_from_environment(environ)


def apply_kube_gateway(c: Config, settings_file: str | None = None) -> None:
    """Merge the platform's gateway config into the chart's `c` (from extraConfig)."""
    settings = load_settings(Path(settings_file)) if settings_file else gateway_settings()
    c.merge(kube_gateway_config(settings))


def gateway_extra_config() -> str:
    """The helm value `gateway.extraConfig.sdl` (a Python snippet, run by the gateway)."""
    return "from hub.gateway.kube import apply_kube_gateway\napply_kube_gateway(c)\n"


def kube_cluster_use(cluster: Any, replicas: int, pending: int = 0) -> ClusterUse:
    """A DaskCluster's share: its `spec.replicas` (what the controller makes), or a
    count asked of it that has not reached the object yet."""
    config = cluster.config or {}
    return ClusterUse(
        cluster.name,
        max(int(replicas or 0), pending),
        float(config.get("worker_cores", 1)),
        int(config.get("worker_memory", 0)),
    )


@functools.cache
def _kube_backend() -> type:
    """Built lazily: kubernetes_asyncio is only needed inside the gateway pod."""
    from dask_gateway_server.backends.kubernetes import KubeBackend
    from dask_gateway_server.models import ClusterStatus

    class SdlKubeBackend(UserLimitsMixin, UsageSettingsMixin, DashboardRoutes, KubeBackend):
        """KubeBackend with the embedded gateway's user totals, usage accounting,
        private dashboards and the hub's stop route.

        What a user's clusters hold is read from the DaskCluster objects the backend
        already watches (`spec.replicas`, patched by upstream on every scale); usage is
        recorded whenever the backend syncs an object, so it follows every change the
        controller or a scale makes, and a cluster deleted while the gateway was away
        is closed at the next start (UsageLedger).
        """

        def replicas(self, name: str) -> int:
            obj = self.informer.get(name) if hasattr(self, "informer") else None
            return int(((obj or {}).get("spec") or {}).get("replicas") or 0)

        def cluster_uses(self, username: str) -> list[ClusterUse]:
            clusters = self.username_to_clusters.get(username, {}).values()
            return [
                kube_cluster_use(c, self.replicas(c.name), self.pending_count(c.name))
                for c in clusters
                if c.status <= ClusterStatus.RUNNING
            ]

        def cluster_owner(self, name: str) -> str | None:
            cluster = self.clusters.get(name)
            if cluster is None or cluster.status > ClusterStatus.RUNNING:
                return None
            return cluster.username

        async def setup(self, app: Any) -> None:
            self.ledger.start()  # closes what an earlier gateway left open, first
            await super().setup(app)

        async def cleanup(self) -> None:
            await super().cleanup()
            await self.ledger.drained(self.usage_drain_timeout)

        async def sync_cluster(self, cluster_name: str) -> None:
            await super().sync_cluster(cluster_name)
            cluster = self.clusters.get(cluster_name)
            if cluster is None or cluster.status > ClusterStatus.RUNNING:
                self.ledger.end(cluster_name)
                self.forget_pending(cluster_name)
                return
            use = kube_cluster_use(cluster, self.replicas(cluster_name))
            self.ledger.observe(
                cluster.username, cluster_name, use.workers, use.worker_cores, use.worker_memory
            )

    return SdlKubeBackend


def __getattr__(name: str) -> Any:
    if name == "SdlKubeBackend":
        return _kube_backend()
    raise AttributeError(name)
