"""SdlKubeBackend: user totals, usage, private dashboards and the hub's stop route.

No kube-apiserver runs on these machines, so the backend is driven as it is in a gateway
pod minus the watch: DaskCluster objects, shaped as the CRD defines them, sit in the
informer's place, and upstream's own `sync_cluster` turns them into the backend's
records. What upstream would send to the API server (a replicas or an `active` patch)
is captured where its client would be.
"""

from __future__ import annotations

import asyncio
import types
from collections import defaultdict
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from dask_gateway_server.backends.base import PublicException
from dask_gateway_server.backends.kubernetes import KubeBackend

from hub.gateway.config import limits_provider
from hub.gateway.kube import SdlKubeBackend
from hub.gateway.limits import GIB
from hub.settings import settings_from_dict

SETTINGS = settings_from_dict(
    {"data_dir": "/tmp/sdl-unit", "dask": {"user_limits": {"workers": 4, "clusters": 2}}}
)
NAMESPACE = "sdl"


def dask_cluster(name: str, user: str, replicas: int, phase: str = "Running") -> dict[str, Any]:
    """A DaskCluster object as the controller leaves it (no credentials: not read)."""
    return {
        "apiVersion": "gateway.dask.org/v1alpha1",
        "kind": "DaskCluster",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "creationTimestamp": "2026-11-24T09:00:00Z",
        },
        "spec": {
            "username": user,
            "options": {},
            "config": {"worker_cores": 1, "worker_memory": 2 * GIB},
            "replicas": replicas,
        },
        "status": {"phase": phase, "service": f"dask-{name}"},
    }


class Informer:
    """The informer's cache: DaskCluster objects by `<namespace>.<name>`."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.objects.get(key)


class CustomObjects:
    """Where KubeBackend's CustomObjectsApi would send its patches."""

    def __init__(self) -> None:
        self.patches: list[tuple[str, list[dict[str, Any]]]] = []

    async def patch_namespaced_custom_object(self, *args: Any) -> None:
        *_, name, body = args  # (group, version, namespace, plural, name, body)
        self.patches.append((name, body))


def backend(**traits: Any) -> Any:
    b = SdlKubeBackend(limits_provider=limits_provider(SETTINGS), **traits)
    # what KubeBackend.setup makes, without a kube config
    b.informer, b.custom_client = Informer(), CustomObjects()
    b.clusters, b.username_to_clusters = {}, defaultdict(dict)
    b.cluster_waiters = defaultdict(asyncio.Event)
    return b


async def put(b: Any, obj: dict[str, Any]) -> str:
    key = f"{NAMESPACE}.{obj['metadata']['name']}"
    b.informer.objects[key] = obj
    await b.sync_cluster(key)
    return key


async def delete(b: Any, key: str) -> None:
    b.informer.objects.pop(key)
    await b.sync_cluster(key)


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """What passes our checks on to upstream's start, scale and heartbeat."""
    calls: list[tuple[str, Any]] = []

    async def start(self: Any, user: Any, options: dict[str, Any]) -> str:
        calls.append(("start", user.name))
        return f"{NAMESPACE}.new"

    async def forward(self: Any, cluster: Any, msg: dict[str, Any]) -> None:
        calls.append(("forward", msg))

    monkeypatch.setattr(KubeBackend, "start_cluster", start)
    monkeypatch.setattr(KubeBackend, "forward_message_to_scheduler", forward)
    return calls


def test_a_cluster_beyond_the_users_number_is_refused_with_their_use(upstream: list) -> None:
    async def run() -> None:
        b = backend()
        await put(b, dask_cluster("a", "alice", 1))
        await put(b, dask_cluster("b", "alice", 2))
        await put(b, dask_cluster("c", "bob", 3))
        alice = types.SimpleNamespace(name="alice", groups=[])
        with pytest.raises(PublicException, match=r"2 Dask cluster.*2 cluster\(s\) with 3 worker"):
            await b.start_cluster(alice, {})
        assert await b.start_cluster(types.SimpleNamespace(name="bob", groups=[]), {})

    asyncio.run(run())
    assert upstream == [("start", "bob")]


def test_scale_counts_every_cluster_of_the_user_from_their_replicas(upstream: list) -> None:
    async def run() -> None:
        b = backend()
        await put(b, dask_cluster("a", "alice", 3))
        b_key = await put(b, dask_cluster("b", "alice", 0))
        await put(b, dask_cluster("c", "bob", 4))  # another user's workers never count
        cluster = b.clusters[b_key]
        await b.forward_message_to_scheduler(cluster, {"op": "scale", "count": 1})
        with pytest.raises(PublicException, match=r"limit of 4 workers.*at most 1 worker"):
            await b.forward_message_to_scheduler(cluster, {"op": "scale", "count": 2})
        await b.forward_message_to_scheduler(cluster, {"op": "adapt", "minimum": 0, "maximum": 10})

    asyncio.run(run())
    assert upstream == [
        ("forward", {"op": "scale", "count": 1}),
        ("forward", {"op": "adapt", "minimum": 0, "maximum": 1}),
    ]


def test_a_scale_counts_before_the_replicas_patch_reaches_the_object(upstream: list) -> None:
    async def run() -> None:
        b = backend()
        a = await put(b, dask_cluster("a", "alice", 0))
        other = await put(b, dask_cluster("b", "alice", 0))
        await b.forward_message_to_scheduler(b.clusters[a], {"op": "scale", "count": 3})
        with pytest.raises(PublicException, match=r"you use 2 cluster.* 3 worker"):
            await b.forward_message_to_scheduler(b.clusters[other], {"op": "scale", "count": 2})

    asyncio.run(run())


def test_adaptive_heartbeats_patch_no_more_replicas_than_the_totals_allow() -> None:
    async def run() -> list[tuple[str, Any]]:
        b = backend()
        await put(b, dask_cluster("a", "alice", 3))
        key = await put(b, dask_cluster("b", "alice", 0))
        # upstream's own heartbeat handler makes the patch
        heartbeat = {"active_workers": [], "closing_workers": [], "closed_workers": []}
        await b.on_cluster_heartbeat(key, {"count": 5, **heartbeat})
        return b.custom_client.patches

    assert asyncio.run(run()) == [("b", [{"op": "add", "path": "/spec/replicas", "value": 1}])]


def test_usage_follows_the_objects_replicas_until_the_cluster_ends() -> None:
    written: list[tuple[str, float, int, Any, Any]] = []

    def recorder(
        settings: Any, user: str, name: str, cores: float, memory: int, started: Any, stopped: Any
    ) -> None:
        written.append((name, cores, memory, started, stopped))

    async def run() -> None:
        b = backend(usage_settings=SETTINGS, usage_recorder=recorder)
        key = await put(b, dask_cluster("a", "alice", 0, phase="Pending"))
        await put(b, dask_cluster("a", "alice", 0))  # running, same size: nothing new
        await put(b, dask_cluster("a", "alice", 2))  # scaled: the patch came back
        await put(b, dask_cluster("a", "alice", 2, phase="Stopped"))
        await delete(b, key)  # already closed: nothing more
        await b.ledger.flushed()

    asyncio.run(run())
    (n0, c0, m0, s0, e0), (_, c1, _, s1, e1), (_, c2, m2, s2, e2), (_, c3, _, s3, e3) = written
    assert n0 == f"{NAMESPACE}.a" and (c0, m0, e0) == (0.0, 0, None)
    assert (c1, s1) == (0.0, s0) and e1 is not None
    assert (c2, m2, s2, e2) == (2.0, 4 * GIB, e1, None)
    assert (c3, s3) == (2.0, s2) and e3 is not None and e3 >= s3


def test_no_usage_is_recorded_when_quotas_are_off() -> None:
    off = settings_from_dict({"data_dir": "/tmp/sdl-unit", "quotas": {"enabled": False}})
    written: list[Any] = []

    async def run() -> None:
        b = backend(usage_settings=off, usage_recorder=lambda *args: written.append(args))
        await put(b, dask_cluster("a", "alice", 2))

    asyncio.run(run())
    assert written == []


# -- the routes the gateway pod adds -------------------------------------------------------
class HeaderAuthenticator:
    """Stands in for the hub login (tested for real with the embedded gateway, which
    runs the same routes): the user is named by a header, admins by another."""

    async def authenticate_and_handle(self, request: web.Request, handler: Any) -> Any:
        name = request.headers.get("X-Test-User")
        if not name:
            raise web.HTTPUnauthorized()
        admin = request.headers.get("X-Test-Admin") == "1"
        request["user"] = types.SimpleNamespace(name=name, admin=admin)
        return await handler(request)


async def dashboard_app(seen: list[dict[str, str]]) -> TestServer:
    """A scheduler's dashboard: plain HTTP, no authentication (as upstream's)."""

    async def status(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(text=f"dashboard {request.path}")

    app = web.Application()
    app.router.add_get("/{tail:.*}", status)
    server = TestServer(app)
    await server.start_server()
    return server


def test_dashboards_are_relayed_to_their_owner_and_admins_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[dict[str, str]] = []

    async def run() -> None:
        dashboard = await dashboard_app(seen)
        b = backend()
        key = await put(b, dask_cluster("a", "alice", 1))
        b.clusters[key].dashboard_address = str(dashboard.make_url("")).rstrip("/")
        b.session = aiohttp.ClientSession()
        app = web.Application()
        app["authenticator"] = HeaderAuthenticator()
        b.add_platform_routes(app)
        async with TestClient(TestServer(app)) as client:
            url = f"/clusters/{key}/status"
            owner = await client.get(
                url, headers={"X-Test-User": "alice", "Authorization": "token secret"}
            )
            assert owner.status == 200 and await owner.text() == "dashboard /status"
            other = await client.get(url, headers={"X-Test-User": "bob"})
            assert other.status == 404
            missing = await client.get("/clusters/sdl.nope/status", headers={"X-Test-User": "bob"})
            assert missing.status == 404  # the same answer: names are not leaked
            admin = await client.get(url, headers={"X-Test-User": "root", "X-Test-Admin": "1"})
            assert admin.status == 200
            assert (await client.get(url)).status == 401
        await b.session.close()
        await dashboard.close()

    asyncio.run(run())
    assert len(seen) == 2  # the owner's and the admin's requests only
    assert all("Authorization" not in headers for headers in seen)  # never relayed


def test_the_hub_stops_a_users_clusters_and_nobody_else_may(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "the-gateway-service-token")

    async def run() -> list[tuple[str, Any]]:
        b = backend()
        await put(b, dask_cluster("a", "alice", 1))
        await put(b, dask_cluster("b", "alice", 0, phase="Pending"))
        await put(b, dask_cluster("c", "bob", 1))
        app = web.Application()
        b.add_platform_routes(app)
        async with TestClient(TestServer(app)) as client:
            url = "/api/sdl/users/alice/clusters"
            refused = await client.delete(url, headers={"Authorization": "token user-token"})
            assert refused.status == 403 and b.custom_client.patches == []
            done = await client.delete(
                url, headers={"Authorization": "token the-gateway-service-token"}
            )
            assert done.status == 200
            assert sorted((await done.json())["clusters"]) == ["sdl.a", "sdl.b"]
        return b.custom_client.patches

    patches = asyncio.run(run())
    assert sorted(name for name, _ in patches) == ["a", "b"]
    assert all(
        body == [{"op": "add", "path": "/spec/active", "value": False}] for _, body in patches
    )
