"""Settings → dask-gateway-server configuration (traitlets), for the embedded gateway.

Pure builders: nothing here starts a process, so tests assert on the values.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dask_gateway_server.options import Float, Integer, Options
from traitlets.config import Config

from hub.gateway.limits import GIB, DaskLimits, limits_for
from hub.secrets import SecretStore
from hub.settings import Settings
from hub.spawners.odc import workspace_database_url

SERVICE_NAME = "dask-gateway"


def service_prefix(settings: Settings) -> str:
    """Where the hub's proxy serves the gateway (the gateway's proxy strips it)."""
    return f"{settings.hub.base_url.rstrip('/')}/services/{SERVICE_NAME}"


LimitsProvider = Callable[[str, Any], DaskLimits]


def limits_provider(settings: Settings) -> LimitsProvider:
    """`(username, groups) -> DaskLimits` for this platform's settings."""
    return functools.partial(limits_for, settings=settings)


def cluster_options(provider: LimitsProvider) -> Callable[[Any], Options]:
    """Per-user cluster options: worker size bounded by what this user may have."""

    def options_for(user: Any) -> Options:
        limits = provider(user.name, user.groups)
        return Options(
            Integer(
                "worker_cores",
                default=limits.worker_cores,
                min=1,
                max=limits.worker_max_cores,
                label="Worker cores",
            ),
            Float(
                "worker_memory",
                default=float(limits.worker_memory_gib),
                min=0.25,
                max=float(limits.worker_max_memory_gib),
                label="Worker memory (GiB)",
            ),
            handler=_to_cluster_config,
        )

    return options_for


def _to_cluster_config(options: Any, user: Any) -> dict[str, Any]:
    return {
        "worker_cores": int(options.worker_cores),
        "worker_memory": int(options.worker_memory * GIB),
    }


def odc_environment(settings: Settings) -> Callable[[str], dict[str, str]]:
    """The user's read-only ODC login for their clusters, as their workspace gets it."""

    def environment(username: str) -> dict[str, str]:
        url = workspace_database_url(
            data_dir=Path(settings.data_dir),
            admin_url=settings.database.url,
            database=settings.database.name,
            username=username,
            key=SecretStore(Path(settings.data_dir)).get("db_login_key").encode(),
            connection_limit=settings.database.user_connection_limit,
        )
        return {"ODC_DEFAULT_DB_URL": url, "ODC_DEFAULT_INDEX_DRIVER": "postgres"}

    return environment


def dask_commands(python: str = sys.executable) -> tuple[list[str], list[str]]:
    """Scheduler and worker commands (distributed >= 2024 ships only the `dask` CLI)."""
    return [python, "-m", "dask", "scheduler"], [python, "-m", "dask", "worker"]


def embedded_gateway_config(settings: Settings, http_port: int, tcp_port: int) -> Config:
    """The whole configuration of the gateway that `sdl up`'s hub runs as a service."""
    c = Config()
    dask = settings.dask
    provider = limits_provider(settings)
    c.DaskGateway.backend_class = "hub.gateway.backend.SdlLocalBackend"
    c.DaskGateway.authenticator_class = "hub.gateway.auth.SdlHubAuthenticator"
    # service-scoped access: a hub token without access:services!service=dask-gateway fails
    c.JupyterHubAuthenticator.jupyterhub_service_name = SERVICE_NAME
    c.JupyterHubAuthenticator.use_service_access_scopes = True
    c.Proxy.address = f"127.0.0.1:{http_port}"
    c.Proxy.tcp_address = f"127.0.0.1:{tcp_port}"
    c.Proxy.prefix = service_prefix(settings)
    c.SdlLocalBackend.limits_provider = provider
    c.SdlLocalBackend.cluster_options = cluster_options(provider)
    c.SdlLocalBackend.user_environment = odc_environment(settings)
    c.SdlLocalBackend.usage_settings = settings  # cluster CPU-hours in the quota budget
    c.SdlLocalBackend.clusters_directory = str(Path(settings.data_dir) / "dask" / "clusters")
    c.SdlLocalBackend.data_dir = str(settings.data_dir)  # clusters join their server's cgroup
    c.SdlLocalBackend.os_user_prefix = settings.hub.os_user_prefix
    scheduler, worker = dask_commands()
    c.ClusterConfig.scheduler_cmd = scheduler
    c.ClusterConfig.worker_cmd = worker
    c.ClusterConfig.idle_timeout = float(dask.idle_timeout)
    c.ClusterConfig.environment = {
        # `sdl up` reaps every process with this marker if the hub dies without cleanup
        "SDL_ARCHIVE_DIR": str(settings.archive),
        "SDL_DASK_CLUSTER": "1",
    }
    # per-cluster caps (cluster_max_*) stay unset on purpose: the user's totals, checked
    # by the backend, refuse with a reason instead of upstream's silent clamp
    return c


def gateway_database(data_dir: Path) -> str:
    """Where the gateway keeps its clusters, so a restarted gateway finds them again.

    Made here, readable by the platform only: it holds the clusters' (encrypted) keys.
    """
    folder = data_dir / "dask"
    if not folder.exists():
        folder.mkdir(parents=True)
        folder.chmod(0o711)  # cluster users pass through to their own cluster folder
    path = folder / "gateway.sqlite"
    path.touch(mode=0o600, exist_ok=True)
    return f"sqlite:///{path}"
