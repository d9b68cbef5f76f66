"""Per-user limits enforced on any dask-gateway backend that keeps clusters in its database.

A mixin, so the local backend here and a Kubernetes-mode backend can share it. Upstream
limits single clusters only; these checks add totals across all of a user's clusters at
the three places a user can grow: a new cluster, scale/adapt, and the scheduler's own
adaptive requests (heartbeats).
"""

from __future__ import annotations

import asyncio
from typing import Any

from dask_gateway_server.backends.base import PublicException
from dask_gateway_server.backends.db_base import DBBackendBase
from traitlets import Callable

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
