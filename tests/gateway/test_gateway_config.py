"""The pure parts of the gateway work: limits arithmetic and settings → configuration."""

from __future__ import annotations

import asyncio
import types

import psutil
import pytest
from traitlets.config import Config

from hub.config.context import HubContext
from hub.config.gateway import ACCESS_SCOPE, apply_gateway
from hub.config.services import apply_services
from hub.config.spawner import apply_spawner
from hub.gateway.config import cluster_options, embedded_gateway_config, limits_provider
from hub.gateway.kube import gateway_extra_config, kube_gateway_config
from hub.gateway.lifecycle import gateway_client, stop_user_clusters
from hub.gateway.limits import GIB, ClusterUse, check_new_cluster, check_scale, limits_for
from hub.runtime import Runtime
from hub.settings import settings_from_dict

DASK = {
    "worker": {"cores": 1, "max_cores": 2, "memory_gib": 2, "max_memory_gib": 4},
    "user_limits": {"cores": 4, "memory_gib": 8, "workers": 3, "clusters": 2},
}


def settings(**dask: object):
    return settings_from_dict({"data_dir": "/tmp/sdl-unit", "dask": {**DASK, **dask}})


def use(name: str, workers: int, cores: float = 1, memory_gib: float = 2) -> ClusterUse:
    return ClusterUse(name, workers, cores, int(memory_gib * GIB))


def test_limits_come_from_settings_and_bound_one_worker_by_the_totals() -> None:
    limits = limits_for("alice", set(), settings(user_limits={"cores": 1, "memory_gib": 3}))
    assert (limits.worker_max_cores, limits.worker_max_memory_gib) == (1, 3)
    assert (limits.workers, limits.clusters) == (8, 2)  # the defaults of the other fields


def test_scale_refusal_states_the_limit_and_the_current_use() -> None:
    limits = limits_for("alice", set(), settings())
    others = [use("a", 2)]
    assert check_scale(limits, use("b", 0), 1, others) is None
    message = check_scale(limits, use("b", 0), 2, others)
    assert message is not None
    assert "would exceed your limit of 3 workers across all your Dask clusters" in message
    assert "you use 2 cluster(s) with 2 worker(s), 2 core(s), 4 GiB now" in message
    assert "at most 1 worker(s)" in message
    # bigger workers hit the cores limit first
    wide = check_scale(limits, use("b", 0, cores=2, memory_gib=1), 3, [])
    assert wide is not None and "your limit of 4 cores across" in wide
    assert "at most 2 worker(s)" in wide
    # shrinking is always allowed, even above limits that were lowered
    assert check_scale(limits, use("b", 9), 5, others) is None


def test_cluster_count_limit() -> None:
    limits = limits_for("alice", set(), settings())
    assert check_new_cluster(limits, [use("a", 1)]) is None
    assert "you may run 2 Dask cluster(s)" in check_new_cluster(limits, [use("a", 1), use("b", 0)])


def test_cluster_options_are_bounded_by_the_users_limits() -> None:
    options = cluster_options(limits_provider(settings()))(
        types.SimpleNamespace(name="a", groups=set())
    )
    spec = {field["field"]: field["spec"] for field in options.get_specification()}
    assert spec["worker_cores"]["max"] == 2 and spec["worker_memory"]["max"] == 4
    parsed = options.parse_options({"worker_cores": 2, "worker_memory": 1.5})
    assert options.get_configuration(parsed, None) == {
        "worker_cores": 2,
        "worker_memory": int(1.5 * GIB),
    }
    with pytest.raises(ValueError, match="worker_memory must be <= 4"):
        options.parse_options({"worker_memory": 16})


def test_embedded_gateway_config() -> None:
    c = embedded_gateway_config(settings(idle_timeout=600), 8100, 8101)
    assert c.JupyterHubAuthenticator.jupyterhub_service_name == "dask-gateway"
    assert c.JupyterHubAuthenticator.use_service_access_scopes is True
    assert c.Proxy.prefix == "/services/dask-gateway"
    assert (c.Proxy.address, c.Proxy.tcp_address) == ("127.0.0.1:8100", "127.0.0.1:8101")
    assert c.ClusterConfig.idle_timeout == 600
    assert c.ClusterConfig.scheduler_cmd[-2:] == ["dask", "scheduler"]
    assert c.DaskGateway.backend_class == "hub.gateway.backend.SdlLocalBackend"


def context(**dask: object) -> HubContext:
    runtime = Runtime("127.0.0.1", 8000, 8001, 8081)
    secrets = {"db_login_key": "k", "dask_gateway_token": "service-token"}
    return HubContext(settings(**dask), runtime, secrets)


def test_apply_gateway_registers_the_service_role_and_workspace_environment() -> None:
    c = Config()
    ctx = context(port=8100, tcp_port=8101)
    apply_spawner(ctx, c)
    apply_services(ctx, c)
    before = c.Spawner.environment
    snapshot = dict(before)
    apply_gateway(ctx, c)
    assert before == snapshot, "the earlier step's dict was mutated"
    env = c.Spawner.environment
    assert env["SDL_ARCHIVE_DIR"] == snapshot["SDL_ARCHIVE_DIR"]  # kept
    assert env["DASK_GATEWAY__ADDRESS"] == "http://127.0.0.1:8100/services/dask-gateway"
    assert env["DASK_GATEWAY__PUBLIC_ADDRESS"] == "http://127.0.0.1:8000/services/dask-gateway"
    assert env["DASK_GATEWAY__PROXY_ADDRESS"] == "gateway://127.0.0.1:8101"
    assert env["DASK_GATEWAY__AUTH__TYPE"] == "jupyterhub"
    names = [s["name"] for s in c.JupyterHub.services]
    assert names == ["idle-culler", "dask-gateway"]
    service = c.JupyterHub.services[-1]
    assert service["url"] == "http://127.0.0.1:8100" and service["api_token"] == "service-token"
    assert "command" not in service  # sdl up runs it, so a hub restart keeps its clusters
    assert service["oauth_client_id"] == "service-dask-gateway"
    assert service["oauth_redirect_uri"] == "/services/dask-gateway/oauth_callback"
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert "idle-culler" in roles
    assert roles["user"]["scopes"] == ["self", ACCESS_SCOPE]
    assert ACCESS_SCOPE in roles["server"]["scopes"]
    assert c.SdlGatewayClient.api_token == "service-token"
    client = gateway_client(types.SimpleNamespace(config=c))  # what the post-stop hook reads
    assert client.api_url == "http://127.0.0.1:8100/services/dask-gateway"
    assert client.api_token == "service-token" and client.stop_with_server is True


def test_free_ports_are_picked_once_per_config_load() -> None:
    c = Config()
    apply_gateway(context(), c)
    port = c.JupyterHub.services[-1]["url"].rsplit(":", 1)[1]
    assert f":{port}/" in c.Spawner.environment["DASK_GATEWAY__ADDRESS"]


def test_disabled_gateway_sets_nothing() -> None:
    c = Config()
    apply_gateway(context(enabled=False), c)
    assert "services" not in c.JupyterHub and "environment" not in c.Spawner


def test_stop_user_clusters_does_nothing_without_a_gateway() -> None:
    spawner = types.SimpleNamespace(config=Config(), user=types.SimpleNamespace(name="a"))
    asyncio.run(stop_user_clusters(spawner))  # no SdlGatewayClient section: no call


def test_kube_mode_uses_the_same_limits_and_options() -> None:
    c = kube_gateway_config(settings())
    assert c.KubeClusterConfig.idle_timeout == 1800
    assert c.DaskGateway.backend_class == "hub.gateway.kube.SdlKubeBackend"
    assert c.DaskGateway.authenticator_class == "hub.gateway.auth.SdlHubAuthenticator"
    assert c.SdlKubeBackend.usage_settings is not None
    assert callable(c.Backend.cluster_options)
    snippet = gateway_extra_config()
    assert "hub.gateway.kube" in snippet and "apply_kube_gateway(c)" in snippet


def test_the_gateway_stops_when_the_sdl_up_that_started_it_dies() -> None:
    """An `sdl up` killed without cleanup must not leave the gateway (and clusters) behind."""
    import subprocess
    import sys
    import time

    child = (
        "import time; from hub.gateway.__main__ import exit_with_parent; import os;"
        "exit_with_parent(os.getppid(), period=0.1); print('watching', flush=True); time.sleep(60)"
    )
    parent = (
        "import subprocess, sys, time;"
        f"p = subprocess.Popen([sys.executable, '-c', {child!r}]); print(p.pid, flush=True);"
        "time.sleep(60)"
    )
    hub = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    gateway_pid = int(hub.stdout.readline())
    assert hub.stdout.readline().strip() == "watching"  # the child's line (same pipe)
    hub.kill()
    hub.wait()
    gateway = psutil.Process(gateway_pid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if gateway.status() == psutil.STATUS_ZOMBIE:  # exited; reaped by init later
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.1)
    gateway.kill()
    raise AssertionError("the gateway outlived its hub")
