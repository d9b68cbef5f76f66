"""Dask Gateway end to end: a real `sdl up` (hub, proxy, gateway service) and real clusters."""

from __future__ import annotations

import gc
import itertools
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from aiohttp import ClientResponseError
from dask_gateway import GatewayClusterError

from hub.quotas.db import forget_stores, settings_store
from hub.settings import load_settings
from hub.spawners.limits import server_cgroup_name
from tests.gateway.support import (
    AS_ROOT,
    close_gateways,
    cluster_processes,
    dashboard_websocket_ack,
    finish,
    gateway_as,
    run_in_workspace,
    server_environment,
)
from tests.support.platform import (
    ADMIN_PASSWORD,
    SHARED_PASSWORD,
    HubClient,
    RunningPlatform,
    start_platform,
    wait_until,
)

# dask_gateway's Gateway.__del__ re-closes an already closed client and raises inside
# the interpreter's finaliser (client-side noise; nothing is left running)
pytestmark = [
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.timeout(240),  # a hung client fails its test instead of the whole run
]

IDLE_TIMEOUT = 20
SETTINGS = {
    "auth": {"type": "shared-password", "admin_users": ["ada"]},  # the workshop password
    "hub": {"cull_idle_after": 0},
    "dask": {
        "idle_timeout": IDLE_TIMEOUT,
        "worker": {"cores": 1, "max_cores": 2, "memory_gib": 1, "max_memory_gib": 2},
        "user_limits": {"cores": 4, "memory_gib": 4, "workers": 3, "clusters": 2},
    },
}

WORKSPACE_CODE = """
import json, os, time
import requests
import dask.array as da
from dask_gateway import Gateway

gateway = Gateway()  # no arguments: everything comes from the workspace environment
cluster = gateway.new_cluster(shutdown_on_close=False)
cluster.scale(2)
client = cluster.get_client()
client.wait_for_workers(2, timeout=90)
total = float(da.ones((2000, 2000), chunks=500).sum().compute())
odc = set(client.run(lambda: os.environ.get("ODC_DEFAULT_DB_URL")).values())
token = os.environ["JUPYTERHUB_API_TOKEN"]
page = requests.get(cluster.dashboard_link, headers={"Authorization": f"token {token}"},
                    timeout=30)
print(json.dumps({"name": cluster.name, "total": total, "link": cluster.dashboard_link,
                  "dashboard": page.status_code, "workers": len(client.scheduler_info()["workers"]),
                  "listed": [c.name for c in gateway.list_clusters()],
                  "same_odc_login": odc == {os.environ.get("ODC_DEFAULT_DB_URL")}}))
client.close()
"""


@pytest.fixture(scope="module")
def platform() -> Iterator[RunningPlatform]:
    # dask_gateway's client deadlocks if the cycle collector finalises one of its objects
    # on the client's own event-loop thread; collect only here, on the main thread
    gc.disable()
    try:
        with start_platform(SETTINGS) as running:
            yield running
    finally:
        gc.enable()


@pytest.fixture(autouse=True)
def _close_gateway_clients() -> Iterator[None]:
    yield
    close_gateways()


def logged_in(platform: RunningPlatform, name: str, password: str = SHARED_PASSWORD) -> HubClient:
    client = HubClient(platform.url)
    assert client.login(name, password).status_code == 200
    return client


def spawned(platform: RunningPlatform, name: str) -> tuple[HubClient, dict[str, str]]:
    client = logged_in(platform, name)
    if not client.api("GET", f"/users/{name}").json()["servers"]:
        assert client.spawn(name, {"profile": "small"}).status_code in (201, 202)
    return client, server_environment(name, platform.data_dir)


def dashboard(platform: RunningPlatform, name: str, token: str = "") -> requests.Response:
    url = f"{platform.url}/services/dask-gateway/clusters/{name}/status"
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.get(url, headers=headers, timeout=30, allow_redirects=False)


def test_workspace_creates_scales_computes_and_sees_its_dashboard(
    platform: RunningPlatform,
) -> None:
    alice, _ = spawned(platform, "alice")
    result = run_in_workspace("alice", platform.data_dir, WORKSPACE_CODE)
    name = result["name"]
    assert result["total"] == 4_000_000.0
    assert result["workers"] == 2
    assert result["listed"] == [name]
    assert result["dashboard"] == 200
    assert result["same_odc_login"], "workers lack the workspace's read-only ODC login"
    assert result["link"] == f"{platform.url}/services/dask-gateway/clusters/{name}/status"
    procs = cluster_processes(name)
    assert len(procs) >= 3  # scheduler and two workers (plus nannies)
    if AS_ROOT:
        assert {p.username() for p in procs} == {platform.account("alice")}
        workdir = platform.data_dir / "dask" / "clusters" / name
        assert workdir.owner() == platform.account("alice")
        assert workdir.stat().st_mode & 0o777 == 0o700
        assert os.stat("/").st_uid == 0, "the upstream LocalBackend bug chowned / again"
        # scheduler, nannies and workers in the cgroup of alice's server: its CPU, memory
        # and process limits hold for the workspace and its clusters together
        group = server_cgroup_name(platform.account("alice"), platform.data_dir)
        for proc in procs:
            assert f"/{group}\n" in Path(f"/proc/{proc.pid}/cgroup").read_text(), proc
    # the dashboard through the hub's proxy: owner and admins only
    token = alice.new_token("alice")
    page = dashboard(platform, name, token)
    assert page.status_code == 200 and "bokeh" in page.text.lower()
    assert '"msgtype": "ACK"' in dashboard_websocket_ack(result["link"], page.text, token)
    assert dashboard(platform, name).status_code == 401
    linked = requests.Session()
    assert linked.get(f"{result['link']}?token={token}", timeout=30).status_code == 200
    assert linked.get(result["link"], timeout=30).status_code == 200  # the gateway's cookie
    # a browser logged in to the hub follows the link: hub OAuth, then the dashboard
    browser = alice.session.get(result["link"], headers={"Accept": "text/html"}, timeout=30)
    assert browser.status_code == 200 and "bokeh" in browser.text.lower()
    assert any("oauth2/authorize" in r.url for r in browser.history)
    bob = logged_in(platform, "bob")
    elsewhere = bob.session.get(result["link"], headers={"Accept": "text/html"}, timeout=30)
    assert elsewhere.status_code == 404
    bob_token = bob.new_token("bob")
    assert dashboard(platform, name, bob_token).status_code == 404
    ada = logged_in(platform, "ada", ADMIN_PASSWORD)
    ada_token = ada.new_token("ada")
    assert dashboard(platform, name, ada_token).status_code == 200
    gateway_as(server_environment("alice", platform.data_dir), token).stop_cluster(name)
    wait_until(lambda: not cluster_processes(name), 60, f"cluster {name} stopped")


def test_limits_hold_across_all_of_a_users_clusters(platform: RunningPlatform) -> None:
    carol, env = spawned(platform, "carol")
    token = carol.new_token("carol")
    gateway = gateway_as(env, token)
    # bounds are the user's, and the server checks them whatever the client sends
    assert gateway.cluster_options()._fields["worker_cores"].max == 2
    raw = requests.post(
        f"{env['DASK_GATEWAY__ADDRESS']}/api/v1/clusters/",
        json={"cluster_options": {"worker_cores": 3}},
        headers={"Authorization": f"jupyterhub {token}"},
        timeout=30,
    )
    assert raw.status_code == 422 and "worker_cores must be <= 2" in raw.json()["error"]
    first = gateway.new_cluster(shutdown_on_close=False)
    second = gateway.new_cluster(shutdown_on_close=False)
    try:
        first.scale(2)
        with pytest.raises(GatewayClusterError) as refused:
            second.scale(2)
        message = str(refused.value)
        assert "would exceed your limit of 3 workers" in message
        assert "you use 2 cluster(s) with 2 worker(s)" in message
        assert "at most 1 worker(s)" in message
        second.scale(1)  # within the totals: allowed
        with pytest.raises(GatewayClusterError, match="limit of 3 workers"):
            second.adapt(minimum=3, maximum=4)
        with pytest.raises(ValueError, match="Cluster limit reached: you may run 2"):
            gateway.new_cluster()
    finally:
        finish(first)
        finish(second)
    third = gateway.new_cluster(shutdown_on_close=False)  # room again after stopping
    finish(third)


def test_other_users_and_bad_tokens_are_kept_out(platform: RunningPlatform) -> None:
    alice, env = spawned(platform, "alice")
    owner = gateway_as(env, alice.new_token("alice"))
    cluster = owner.new_cluster(shutdown_on_close=False)
    try:
        bob = gateway_as(env, logged_in(platform, "bob").new_token("bob"))
        assert bob.list_clusters() == []
        with pytest.raises(ClientResponseError) as denied:
            bob.connect(cluster.name)
        assert denied.value.status == 403
        with pytest.raises(ClientResponseError) as denied:
            bob.stop_cluster(cluster.name)
        assert denied.value.status == 403
        assert [c.name for c in owner.list_clusters()] == [cluster.name]
        # a garbage token, and a real token of alice's without the gateway's scope
        with pytest.raises(ClientResponseError) as denied:
            gateway_as(env, "not-a-token").list_clusters()
        assert denied.value.status == 401
        narrow = alice.api(
            "POST", "/users/alice/tokens", json={"scopes": ["read:users:name!user"]}
        ).json()["token"]
        with pytest.raises(ClientResponseError) as denied:
            gateway_as(env, narrow).list_clusters()
        assert denied.value.status == 401
        # only the hub may stop other users' clusters
        stop_all = f"{env['DASK_GATEWAY__ADDRESS']}/api/sdl/users/alice/clusters"
        token = alice.new_token("alice")
        assert (
            requests.delete(
                stop_all, headers={"Authorization": f"token {token}"}, timeout=30
            ).status_code
            == 403
        )
        assert [c.name for c in owner.list_clusters()] == [cluster.name]
    finally:
        finish(cluster)


def test_stopping_the_server_stops_the_users_clusters(platform: RunningPlatform) -> None:
    dave, env = spawned(platform, "dave")
    gateway = gateway_as(env, dave.new_token("dave"))
    cluster = gateway.new_cluster(shutdown_on_close=False)
    cluster.scale(1)
    wait_until(lambda: len(cluster_processes(cluster.name)) >= 2, 60, "a worker started")
    assert dave.api("DELETE", "/users/dave/server").status_code in (202, 204)
    wait_until(lambda: not cluster_processes(cluster.name), 60, "clusters stopped with server")
    assert gateway.list_clusters() == []
    assert "Stopping 1 Dask cluster(s) of dave" in platform.hub_log()
    cluster.close()


def test_an_idle_cluster_is_culled(platform: RunningPlatform) -> None:
    erin, env = spawned(platform, "erin")
    gateway = gateway_as(env, erin.new_token("erin"))
    cluster = gateway.new_cluster(shutdown_on_close=False)
    workdir = platform.data_dir / "dask" / "clusters" / cluster.name
    assert Path(workdir).is_dir()
    wait_until(lambda: not cluster_processes(cluster.name), IDLE_TIMEOUT * 3, "idle cluster culled")
    wait_until(lambda: gateway.list_clusters() == [], 30, "culled cluster no longer listed")
    # the gateway removes the working dir just after the cluster is marked stopped
    wait_until(lambda: not workdir.exists(), 30, "the culled cluster's working dir removed")
    cluster.close()


def test_cluster_cpu_hours_count_in_the_users_quota_budget(platform: RunningPlatform) -> None:
    frank, env = spawned(platform, "frank")
    gateway = gateway_as(env, frank.new_token("frank"))
    settings = load_settings(
        platform.data_dir / "settings.yaml", overrides={"data_dir": str(platform.data_dir)}
    )
    store = settings_store(settings)

    def segments() -> list:
        return sorted(
            (r for r in store.usage_records("frank") if r.name == cluster.name),
            key=lambda r: r.started_at,
        )

    cluster = gateway.new_cluster(shutdown_on_close=False)
    try:
        wait_until(lambda: len(segments()) == 1, 30, "a segment opened at cluster start")
        cluster.scale(2)
        wait_until(lambda: any(r.cpu == 2 for r in segments()), 60, "a segment for 2 workers")
        time.sleep(2)  # some time at that size
    finally:
        finish(cluster)
    try:
        wait_until(lambda: all(r.stopped_at for r in segments()), 60, "segments closed")
        first, *_, last = records = segments()
        assert (first.kind, first.cpu, first.memory) == ("dask-cluster", 0, 0)
        assert (last.cpu, last.memory) == (2, 2 * 2**30)  # 2 workers x (1 core, 1 GiB)
        for before, after in itertools.pairwise(records):
            assert before.stopped_at == after.started_at  # no gap, no overlap
        cluster_hours = sum(r.cpu_hours(first.started_at, last.stopped_at) for r in records)
        assert cluster_hours >= 2 * 2 / 3600  # 2 cores for at least the 2 s above
        # the budget's total holds them (and frank's workspace server, counted apart)
        assert store.cpu_hours("frank", timedelta(days=1)) >= cluster_hours
        log = platform.gateway_log()  # sdl up runs the gateway beside the hub
        assert f"Created cluster {cluster.name}" in log
        assert "Could not record Dask cluster usage" not in log
    finally:
        forget_stores()  # this process's pool must not outlive the platform's PostgreSQL
