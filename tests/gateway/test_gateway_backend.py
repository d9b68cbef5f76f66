"""The backend's limit hooks, driven directly (no processes): adapt and heartbeats."""

from __future__ import annotations

import asyncio
import types
from typing import Any

import pytest
from dask_gateway_server.backends.base import PublicException
from dask_gateway_server.backends.db_base import DBBackendBase

from hub.gateway.backend import SdlLocalBackend
from hub.gateway.config import limits_provider
from hub.gateway.limits import GIB
from hub.settings import settings_from_dict

SETTINGS = settings_from_dict(
    {"data_dir": "/tmp/sdl-unit", "dask": {"user_limits": {"workers": 4, "clusters": 2}}}
)


class FakeCluster:
    def __init__(self, name: str, count: int) -> None:
        self.name, self.username, self.count = name, "alice", count
        self.config = {"worker_cores": 1, "worker_memory": 2 * GIB}
        self.status = 3  # RUNNING (JobStatus)

    def active_workers(self) -> list[Any]:
        return []


class FakeDB:
    def __init__(self, *clusters: FakeCluster) -> None:
        self.clusters = {c.name: c for c in clusters}

    def get_cluster(self, name: str) -> FakeCluster | None:
        return self.clusters.get(name)

    def list_clusters(self, username: str | None = None) -> list[FakeCluster]:
        return list(self.clusters.values())


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """What reaches upstream's handlers after our checks."""
    calls: list[tuple[str, dict[str, Any]]] = []

    async def forward(self: Any, cluster: Any, msg: dict[str, Any]) -> None:
        calls.append(("forward", msg))

    async def heartbeat(self: Any, name: str, msg: dict[str, Any]) -> None:
        calls.append(("heartbeat", msg))

    monkeypatch.setattr(DBBackendBase, "forward_message_to_scheduler", forward)
    monkeypatch.setattr(DBBackendBase, "on_cluster_heartbeat", heartbeat)
    return calls


def backend(*clusters: FakeCluster) -> SdlLocalBackend:
    b = SdlLocalBackend(limits_provider=limits_provider(SETTINGS), run_as_os_users=False)
    b.db = FakeDB(*clusters)
    return b


def test_adapt_maximum_is_capped_by_what_other_clusters_hold(sent: list) -> None:
    b = backend(FakeCluster("a", 3), FakeCluster("b", 0))
    cluster = types.SimpleNamespace(name="b", username="alice")
    asyncio.run(b.forward_message_to_scheduler(cluster, {"op": "adapt", "minimum": 0,
                                                         "maximum": 10}))  # fmt: skip
    assert sent == [("forward", {"op": "adapt", "minimum": 0, "maximum": 1})]
    with pytest.raises(PublicException, match="limit of 4 workers"):
        asyncio.run(b.forward_message_to_scheduler(cluster, {"op": "adapt", "minimum": 2}))


def test_adaptive_heartbeats_cannot_grow_past_the_users_totals(sent: list) -> None:
    b = backend(FakeCluster("a", 3), FakeCluster("b", 0))
    asyncio.run(b.on_cluster_heartbeat("b", {"count": 5}))
    assert sent == [("heartbeat", {"count": 1})]


def test_a_scale_counts_before_its_heartbeat_arrives(sent: list) -> None:
    b = backend(FakeCluster("a", 0), FakeCluster("b", 0))
    a = types.SimpleNamespace(name="a", username="alice")
    asyncio.run(b.forward_message_to_scheduler(a, {"op": "scale", "count": 3}))
    other = types.SimpleNamespace(name="b", username="alice")
    with pytest.raises(PublicException, match="you use 2 cluster"):
        asyncio.run(b.forward_message_to_scheduler(other, {"op": "scale", "count": 2}))


def test_a_second_cluster_waits_for_the_first_check(sent: list) -> None:
    b = backend(FakeCluster("a", 0), FakeCluster("b", 0))
    user = types.SimpleNamespace(name="alice", groups=set())
    with pytest.raises(PublicException, match="you may run 2 Dask cluster"):
        asyncio.run(b.start_cluster(user, {}))
