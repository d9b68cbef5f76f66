"""Dask cluster usage in the quota database, the same for every gateway backend.

Each cluster's workers x worker cores count in its user's CPU-hour budget (hub.quotas),
as segments of constant size: one opens when the gateway first sees a cluster, each
change of its worker count closes the current segment and opens the next, and the end of
the cluster closes the last one. Open segments are rewritten every `refresh_period`
(their `last_seen`), so a segment a crashed gateway left open is closed near its end
when the next gateway starts.

Writes are blocking database calls: they go through one queue, in order, to a task that
runs them in a thread, so a slow or unreachable database never delays or breaks a
cluster operation (failures are logged; that stretch is then not counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from dask_gateway_server.backends.base import Backend
from traitlets import Any as AnyTrait
from traitlets import Callable as CallableTrait
from traitlets import Float

from hub.quotas.api import record_cluster_usage
from hub.quotas.db import settings_store

#: (settings, username, cluster, cores, memory, started_at, stopped_at) -> None
Recorder = Callable[[Any, str, str, float, int, datetime, "datetime | None"], None]


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


def sized(
    username: str,
    cluster: str,
    workers: int,
    worker_cores: float,
    worker_memory: int,
    started_at: datetime,
) -> Segment:
    """An open segment for `workers` workers of the given size."""
    workers = max(0, int(workers))
    return Segment(
        username,
        cluster,
        workers,
        workers * float(worker_cores),
        workers * int(worker_memory),
        started_at,
    )


def resized(current: Segment, new: Segment) -> list[Segment]:
    """What to write when a cluster may have changed size: nothing if it did not, else
    `current` closed and `new` opened at the same instant."""
    if new.workers == current.workers:
        return []
    return [replace(current, stopped_at=new.started_at), new]


def now() -> datetime:
    return datetime.now(UTC)


class UsageLedger:
    """The open segment of every cluster this gateway sees, and the queue that writes."""

    def __init__(
        self,
        settings: Any,
        recorder: Recorder | None = None,
        refresh_period: float = 60.0,
        log: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    ) -> None:
        self.settings = settings
        self.recorder = recorder or _record_cluster_usage
        self.refresh_period = refresh_period
        self.log = log or logging.getLogger("sdl.gateway.usage")
        self.open: dict[str, Segment] = {}
        self._queue: asyncio.Queue[Callable[[], None]] | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._refresh_task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        """Recording needs platform settings with quotas on."""
        return self.settings is not None and bool(self.settings.quotas.enabled)

    def start(self) -> None:
        """Close what an earlier gateway left open, then refresh open segments."""
        if not self.enabled:
            return
        self._submit(self._close_abandoned)  # queued first: before any new segment
        self._refresh_task = asyncio.ensure_future(self._refresher())

    def observe(
        self, username: str, cluster: str, workers: int, worker_cores: float, worker_memory: int
    ) -> None:
        """The cluster runs with `workers` workers now (opens its first segment)."""
        if not self.enabled:
            return
        new = sized(username, cluster, workers, worker_cores, worker_memory, now())
        current = self.open.get(cluster)
        if current is None:
            self.open[cluster] = new
            self._write(new)
            return
        changes = resized(current, new)
        for segment in changes:
            self._write(segment)
        if changes:
            self.open[cluster] = new

    def end(self, cluster: str) -> None:
        """The cluster stopped, failed or is gone: close its segment."""
        current = self.open.pop(cluster, None)
        if current is not None:
            self._write(replace(current, stopped_at=now()))

    async def drained(self, timeout: float) -> None:
        """Wait (at most `timeout` s) for queued writes, then stop the tasks."""
        await _cancelled(self._refresh_task)  # nothing new to rewrite
        if self._queue is not None:
            try:
                await asyncio.wait_for(self._queue.join(), timeout)
            except TimeoutError:
                self.log.warning("%d cluster usage record(s) not written", self._queue.qsize())
        await _cancelled(self._writer_task)
        self._refresh_task = self._writer_task = self._queue = None

    async def flushed(self) -> None:
        """Every write queued so far is done (for tests and orderly shutdown)."""
        if self._queue is not None:
            await self._queue.join()

    # -- writing --------------------------------------------------------------------
    def _write(self, segment: Segment) -> None:
        settings, record = self.settings, self.recorder

        def write() -> None:
            record(
                settings,
                segment.username,
                segment.cluster,
                segment.cores,
                segment.memory,
                segment.started_at,
                segment.stopped_at,
            )

        self._submit(write)

    def _submit(self, call: Callable[[], None]) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._writer_task = asyncio.ensure_future(self._writer(self._queue))
        self._queue.put_nowait(call)

    async def _writer(self, queue: asyncio.Queue[Callable[[], None]]) -> None:
        while True:
            call = await queue.get()
            try:
                await asyncio.to_thread(call)
            except Exception:  # the quota database is away: the cluster carries on
                self.log.exception("Could not record Dask cluster usage in the quota database")
            finally:
                queue.task_done()

    async def _refresher(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_period)
            for segment in list(self.open.values()):
                self._write(segment)  # same row, later last_seen

    def _close_abandoned(self) -> None:
        """Close segments a previous gateway process left open, at their last write."""
        for row in settings_store(self.settings).usage_records(limit=10_000):
            if row.kind == "dask-cluster" and row.stopped_at is None:
                self.log.info(
                    "Closing usage of cluster %s of %s, left open at %s",
                    row.name,
                    row.username,
                    row.last_seen,
                )
                self.recorder(
                    self.settings,
                    row.username,
                    row.name,
                    row.cpu,
                    row.memory,
                    row.started_at,
                    max(row.started_at, row.last_seen),
                )


async def _cancelled(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class UsageSettingsMixin(Backend):
    """The traitlets every backend that records usage shares."""

    usage_settings = AnyTrait(
        None,
        allow_none=True,
        config=True,
        help="""Platform settings (hub.settings.Settings) whose quota database records
        each cluster's workers x cores over time, counted in the user's CPU-hour budget.

        None, or `quotas.enabled: false`: nothing is recorded.""",
    )
    usage_recorder = CallableTrait(
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

    _ledger: UsageLedger

    @property
    def ledger(self) -> UsageLedger:
        if not hasattr(self, "_ledger"):
            self._ledger = UsageLedger(
                self.usage_settings,
                self.usage_recorder,
                self.usage_refresh_period,
                self.log,
            )
        return self._ledger


def _record_cluster_usage(settings: Any, *args: Any) -> None:
    record_cluster_usage(settings, *args)
