"""The backend's limit and usage hooks, driven directly (no processes)."""

from __future__ import annotations

import asyncio
import types
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dask_gateway_server.backends.base import PublicException
from dask_gateway_server.backends.db_base import DBBackendBase, JobStatus

import hub.gateway.ledger
from hub.gateway.backend import SdlLocalBackend
from hub.gateway.config import limits_provider
from hub.gateway.limits import GIB
from hub.quotas.store import UsageRecord
from hub.settings import settings_from_dict

SETTINGS = settings_from_dict(
    {"data_dir": "/tmp/sdl-unit", "dask": {"user_limits": {"workers": 4, "clusters": 2}}}
)


class FakeCluster:
    def __init__(self, name: str, count: int) -> None:
        self.name, self.username, self.count = name, "alice", count
        self.config = {"worker_cores": 1, "worker_memory": 2 * GIB}
        self.status = self.target = JobStatus.RUNNING

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
    asyncio.run(
        b.forward_message_to_scheduler(cluster, {"op": "adapt", "minimum": 0, "maximum": 10})
    )
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


def test_usage_segments_follow_the_worker_count_and_outlive_database_errors(
    sent: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def stopped(self: Any, cluster: Any) -> None:
        cluster.status = JobStatus.STOPPED

    monkeypatch.setattr(DBBackendBase, "_cluster_to_stopped", stopped)
    written: list[tuple[str, float, int, Any, Any]] = []

    def recorder(
        settings: Any, user: str, name: str, cores: float, memory: int, started: Any, stopped: Any
    ) -> None:
        written.append((name, cores, memory, started, stopped))
        if len(written) == 2:
            raise OSError("quota database away")  # logged; later writes still happen

    cluster = FakeCluster("a", 0)
    b = SdlLocalBackend(run_as_os_users=False, usage_settings=SETTINGS, usage_recorder=recorder)
    b.db = FakeDB(cluster)

    async def life() -> None:
        await b.on_cluster_heartbeat("a", {"count": 0})  # not seen starting: opens now
        await b.on_cluster_heartbeat("a", {"count": 0})  # same size: nothing to write
        cluster.count = 2
        await b.on_cluster_heartbeat("a", {"count": 2})
        await b._cluster_to_stopped(cluster)
        await b.ledger.flushed()

    asyncio.run(life())
    (_, c0, m0, s0, e0), (_, c1, _, s1, e1), (_, c2, m2, s2, e2), (_, c3, _, s3, e3) = written
    assert (c0, m0, e0) == (0.0, 0, None)  # opened with no workers
    assert (c1, s1) == (0.0, s0) and e1 is not None  # closed at the resize...
    assert (c2, m2, s2, e2) == (2.0, 4 * GIB, e1, None)  # ...where the next one opens
    assert (c3, s3) == (2.0, s2) and e3 is not None and e3 >= s3  # closed by the stop


def test_no_usage_is_recorded_when_quotas_are_off(sent: list) -> None:
    off = settings_from_dict({"data_dir": "/tmp/sdl-unit", "quotas": {"enabled": False}})
    written: list[Any] = []
    b = SdlLocalBackend(
        run_as_os_users=False, usage_settings=off, usage_recorder=lambda *args: written.append(args)
    )
    b.db = FakeDB(FakeCluster("a", 2))
    asyncio.run(b.on_cluster_heartbeat("a", {"count": 2}))
    assert written == [] and not b.ledger.open


def test_segments_a_crashed_gateway_left_open_are_closed_at_their_last_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    seen = start + timedelta(minutes=40)
    rows = [
        UsageRecord("dask-cluster", "sam", "c1", "", 4.0, GIB, start, None, seen),
        UsageRecord("dask-cluster", "sam", "c0", "", 2.0, GIB, start, seen, seen),  # closed
        UsageRecord("server", "sam", "", "small", 1.0, GIB, start, None, seen),  # the hub's
    ]
    store = types.SimpleNamespace(usage_records=lambda **_: rows)
    monkeypatch.setattr(hub.gateway.ledger, "settings_store", lambda settings: store)
    written: list[tuple[Any, ...]] = []
    b = SdlLocalBackend(
        run_as_os_users=False,
        usage_settings=SETTINGS,
        usage_recorder=lambda *args: written.append(args[1:]),
    )
    b.ledger._close_abandoned()
    assert written == [("sam", "c1", 4.0, GIB, start, seen)]
