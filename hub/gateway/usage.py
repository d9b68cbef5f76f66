"""Per-user limits and usage accounting on any dask-gateway backend that keeps clusters
in its database.

Mixins, so the local backend here and a Kubernetes-mode backend can share them.

`UserLimitsMixin`: upstream limits single clusters only; these checks add totals across
all of a user's clusters at the three places a user can grow: a new cluster, scale/adapt,
and the scheduler's own adaptive requests (heartbeats).

`ClusterUsageMixin`: each cluster's workers x worker cores count in the user's CPU-hour
budget (hub.quotas), as segments of constant size: one opens when a cluster starts, and
every change of its worker count closes the current segment and opens the next; stopping
closes the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable as CallableType
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from dask_gateway_server.backends.base import PublicException
from dask_gateway_server.backends.db_base import DBBackendBase, JobStatus
from traitlets import Any as AnyTrait
from traitlets import Callable, Float

from hub.gateway.limits import (
    ClusterUse,
    DaskLimits,
    check_new_cluster,
    check_scale,
    max_workers,
)


def cluster_use(cluster: Any, pending: int = 0) -> ClusterUse:
    """A database cluster's share: the largest of its target, its live workers and a
    scale request its scheduler has accepted but not yet reported in a heartbeat."""
    config = cluster.config
    workers = max(int(cluster.count or 0), len(cluster.active_workers()), pending)
    return ClusterUse(
        cluster.name, workers, float(config["worker_cores"]), int(config["worker_memory"])
    )


class UserLimitsMixin(DBBackendBase):
    """Refuse a new cluster, a scale or an adapt that would exceed the user's totals."""

    limits_provider = Callable(
        None,
        allow_none=True,
        config=True,
        help="""Function (username, groups) -> hub.gateway.limits.DaskLimits.

        Usually `functools.partial(hub.gateway.limits.limits_for, settings=...)`; None
        disables the per-user totals (upstream behaviour).""",
    )

    _groups: dict[str, set[str]]
    _limits_lock: asyncio.Lock
    _pending: dict[str, int]  # cluster -> count sent to its scheduler, not yet heartbeated

    def user_limits(self, username: str) -> DaskLimits | None:
        if self.limits_provider is None:
            return None
        groups = getattr(self, "_groups", {}).get(username, set())
        return self.limits_provider(username, groups)

    def uses(self, username: str, exclude: str = "") -> list[ClusterUse]:
        pending = self._pending_counts()
        return [
            cluster_use(c, pending.get(c.name, 0))
            for c in self.db.list_clusters(username=username)  # active clusters only
            if c.name != exclude
        ]

    def _pending_counts(self) -> dict[str, int]:
        if not hasattr(self, "_pending"):
            self._pending = {}
        return self._pending

    def _lock(self) -> asyncio.Lock:
        if not hasattr(self, "_limits_lock"):
            self._limits_lock = asyncio.Lock()
        return self._limits_lock

    async def start_cluster(self, user: Any, cluster_options: dict[str, Any]) -> str:
        self._groups = {**getattr(self, "_groups", {}), user.name: set(user.groups)}
        limits = self.user_limits(user.name)
        # one check-and-create at a time, so two quick requests cannot both pass
        async with self._lock():
            if limits is not None:
                reason = check_new_cluster(limits, self.uses(user.name))
                if reason:
                    raise PublicException(reason)
            return await super().start_cluster(user, cluster_options)

    async def forward_message_to_scheduler(self, cluster: Any, msg: dict[str, Any]) -> None:
        limits = self.user_limits(cluster.username)
        db_cluster = self.db.get_cluster(cluster.name)
        if limits is not None and db_cluster is not None:
            mine = cluster_use(db_cluster, self._pending_counts().get(cluster.name, 0))
            others = self.uses(cluster.username, exclude=cluster.name)
            if msg.get("op") == "scale":
                reason = check_scale(limits, mine, int(msg["count"]), others)
                if reason:
                    raise PublicException(reason)
                # counted at once: the cluster's heartbeat may come after the next request
                self._pending_counts()[cluster.name] = int(msg["count"])
            elif msg.get("op") == "adapt":
                most = max_workers(limits, mine, others)
                reason = check_scale(limits, mine, msg.get("minimum") or 0, others)
                if reason:
                    raise PublicException(reason)
                maximum = msg.get("maximum")
                msg = {**msg, "maximum": most if maximum is None else min(maximum, most)}
        await super().forward_message_to_scheduler(cluster, msg)

    async def on_cluster_heartbeat(self, cluster_name: str, msg: dict[str, Any]) -> None:
        cluster = self.db.get_cluster(cluster_name)
        self._pending_counts().pop(cluster_name, None)  # the scheduler reports its count
        limits = self.user_limits(cluster.username) if cluster is not None else None
        if limits is not None and cluster is not None and "count" in msg:
            # adaptive scaling asks for workers through heartbeats: cap it by the totals
            others = self.uses(cluster.username, exclude=cluster_name)
            most = max_workers(limits, cluster_use(cluster), others)
            if msg["count"] > most:
                self.log.info(
                    "Cluster %s of %s asked for %d workers; the user's limits allow %d",
                    cluster_name, cluster.username, msg["count"], most,
                )  # fmt: skip
                msg = {**msg, "count": most}
        await super().on_cluster_heartbeat(cluster_name, msg)


# -- usage accounting ----------------------------------------------------------------
@dataclass(frozen=True)
class Segment:
    """A stretch of one cluster's life at constant size (one row of `usage_records`)."""

    username: str
    cluster: str
    workers: int
    cores: float  # workers x worker cores (the scheduler counts as no cores, as in limits)
    memory: int  # bytes
    started_at: datetime
    stopped_at: datetime | None = None


def segment_of(cluster: Any, started_at: datetime) -> Segment:
    """The open segment for a database cluster at its current target worker count."""
    workers = max(0, int(cluster.count or 0))
    config = cluster.config
    return Segment(
        cluster.username,
        cluster.name,
        workers,
        workers * float(config["worker_cores"]),
        workers * int(config["worker_memory"]),
        started_at,
    )


def resized(current: Segment, new: Segment) -> list[Segment]:
    """What to write when a cluster may have changed size: nothing if it did not, else
    `current` closed and `new` opened at the same instant."""
    if new.workers == current.workers:
        return []
    return [replace(current, stopped_at=new.started_at), new]


class ClusterUsageMixin(DBBackendBase):
    """Record every cluster's size over time in the quota database (CPU-hour budget).

    Writes are blocking database calls: they go through one queue, in order, to a task
    that runs them in a thread, so a slow or unreachable database never delays or breaks
    a cluster operation (failures are logged; that stretch is then not counted).
    """

    usage_settings = AnyTrait(
        None,
        allow_none=True,
        config=True,
        help="""Platform settings (hub.settings.Settings) whose quota database records
        each cluster's workers x cores over time, counted in the user's CPU-hour budget.

        None, or `quotas.enabled: false`: nothing is recorded.""",
    )
    usage_recorder = Callable(
        None,
        allow_none=True,
        config=True,
        help="""Function (settings, username, cluster, cores, memory, started_at,
        stopped_at) that writes one segment; None: hub.quotas.api.record_cluster_usage.""",
    )
    usage_refresh_period = Float(
        60,
        config=True,
        help="""Seconds between rewrites of a running cluster's open segment (its
        `last_seen`), so a segment left open by a crashed gateway is closed near its end.""",
    )
    usage_drain_timeout = Float(
        10, config=True, help="Seconds the gateway waits at shutdown for pending writes."
    )

    _usage_open: dict[str, Segment]  # cluster name -> its open segment
    _usage_written: dict[str, datetime]  # cluster name -> last write of its open segment
    _usage_queue: asyncio.Queue[CallableType[[], None]]
    _usage_task: asyncio.Task[None]

    def usage_enabled(self) -> bool:
        settings = self.usage_settings
        return settings is not None and bool(settings.quotas.enabled)

    async def setup(self, app: Any) -> None:
        await super().setup(app)
        self._usage_open, self._usage_written = {}, {}
        if self.usage_enabled():
            # clusters do not outlive the gateway that ran them (`stop_clusters_on_shutdown`)
            self._usage_submit(self._close_abandoned)

    async def cleanup(self) -> None:
        await super().cleanup()  # stops every cluster: their last segments are queued
        queue = getattr(self, "_usage_queue", None)
        if queue is not None:
            try:
                await asyncio.wait_for(queue.join(), self.usage_drain_timeout)
            except TimeoutError:
                self.log.warning("%d cluster usage record(s) not written", queue.qsize())
            self._usage_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._usage_task

    async def start_cluster(self, user: Any, cluster_options: dict[str, Any]) -> str:
        name = await super().start_cluster(user, cluster_options)
        cluster = self.db.get_cluster(name)
        if cluster is not None and self.usage_enabled():
            self._usage_begin(segment_of(cluster, _now()))
        return name

    async def on_cluster_heartbeat(self, cluster_name: str, msg: dict[str, Any]) -> None:
        await super().on_cluster_heartbeat(cluster_name, msg)  # may change cluster.count
        cluster = self.db.get_cluster(cluster_name)
        if cluster is None or cluster.target > JobStatus.RUNNING or not self.usage_enabled():
            return
        now = _now()
        new = segment_of(cluster, now)
        current = self._usage_state().get(cluster_name)
        if current is None:  # started before this gateway process: count from now
            self._usage_begin(new)
            return
        changes = resized(current, new)
        for segment in changes:
            self._usage_write(segment)
        if changes:
            self._usage_open[cluster_name] = new
            self._usage_written[cluster_name] = now
        elif (now - self._usage_written[cluster_name]).total_seconds() >= self.usage_refresh_period:
            self._usage_write(current)  # refreshes last_seen only
            self._usage_written[cluster_name] = now

    async def _cluster_to_stopped(self, cluster: Any) -> None:
        """Every way a cluster ends (stop, failure, culling, shutdown) passes here."""
        await super()._cluster_to_stopped(cluster)
        current = self._usage_state().pop(cluster.name, None)
        self._usage_written.pop(cluster.name, None)
        if current is not None:
            self._usage_write(replace(current, stopped_at=_now()))

    # -- writing --------------------------------------------------------------------
    def _usage_state(self) -> dict[str, Segment]:
        if not hasattr(self, "_usage_open"):
            self._usage_open, self._usage_written = {}, {}
        return self._usage_open

    def _usage_begin(self, segment: Segment) -> None:
        self._usage_state()[segment.cluster] = segment
        self._usage_written[segment.cluster] = segment.started_at
        self._usage_write(segment)

    def _usage_write(self, segment: Segment) -> None:
        settings = self.usage_settings
        record = self.usage_recorder or _record_cluster_usage

        def write() -> None:
            record(settings, segment.username, segment.cluster, segment.cores,
                   segment.memory, segment.started_at, segment.stopped_at)  # fmt: skip

        self._usage_submit(write)

    def _usage_submit(self, call: CallableType[[], None]) -> None:
        """Queue a blocking call; one task runs them in order, each in a thread."""
        if not hasattr(self, "_usage_queue"):
            self._usage_queue = asyncio.Queue()
            self._usage_task = asyncio.ensure_future(self._usage_writer())
        self._usage_queue.put_nowait(call)

    async def _usage_writer(self) -> None:
        while True:
            call = await self._usage_queue.get()
            try:
                await asyncio.to_thread(call)
            except Exception:  # the quota database is away: the cluster carries on
                self.log.exception("Could not record Dask cluster usage in the quota database")
            finally:
                self._usage_queue.task_done()

    def _close_abandoned(self) -> None:
        """Close segments a previous gateway process left open, at their last write."""
        from hub.quotas.db import settings_store

        store = settings_store(self.usage_settings)
        record = self.usage_recorder or _record_cluster_usage
        for row in store.usage_records(limit=10_000):
            if row.kind == "dask-cluster" and row.stopped_at is None:
                self.log.info("Closing usage of cluster %s of %s, left open at %s",
                              row.name, row.username, row.last_seen)  # fmt: skip
                record(self.usage_settings, row.username, row.name, row.cpu, row.memory,
                       row.started_at, max(row.started_at, row.last_seen))  # fmt: skip


def _record_cluster_usage(settings: Any, *args: Any) -> None:
    from hub.quotas.api import record_cluster_usage

    record_cluster_usage(settings, *args)


def _now() -> datetime:
    return datetime.now(UTC)
