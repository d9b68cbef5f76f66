"""Per-user totals across all of a user's Dask clusters, for any dask-gateway backend.

Upstream limits single clusters only. `UserLimitsMixin` checks the user's totals at the
three places a user can grow: a new cluster, a scale or adapt request, and the
scheduler's own adaptive requests (heartbeats). A backend says what a user's clusters
hold by implementing `cluster_uses` and `cluster_use` from its own records (the local
backend's database, the Kubernetes backend's DaskCluster objects).
"""

from __future__ import annotations

import asyncio
from typing import Any

from dask_gateway_server.backends.base import Backend, PublicException
from traitlets import Callable

from hub.gateway.limits import (
    ClusterUse,
    DaskLimits,
    check_new_cluster,
    check_scale,
    max_workers,
)


class UserLimitsMixin(Backend):
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
    #: cluster -> the worker count last asked of it (a scale sent to its scheduler, or a
    #: heartbeat's count as capped here), counted before the backend's records catch up
    _pending: dict[str, int]

    # -- what a backend provides ------------------------------------------------------
    def cluster_uses(self, username: str) -> list[ClusterUse]:
        """What each active cluster of `username` holds (workers not yet started count)."""
        raise NotImplementedError

    def cluster_owner(self, name: str) -> str | None:
        """The user whose active cluster `name` is, or None."""
        raise NotImplementedError

    # -- the checks -------------------------------------------------------------------
    def user_limits(self, username: str) -> DaskLimits | None:
        if self.limits_provider is None:
            return None
        groups = getattr(self, "_groups", {}).get(username, set())
        return self.limits_provider(username, groups)

    def pending_count(self, name: str) -> int:
        return self._pending_counts().get(name, 0)

    def forget_pending(self, name: str) -> None:
        self._pending_counts().pop(name, None)

    def _pending_counts(self) -> dict[str, int]:
        if not hasattr(self, "_pending"):
            self._pending = {}
        return self._pending

    def _split(self, username: str, name: str) -> tuple[ClusterUse | None, list[ClusterUse]]:
        mine, others = None, []
        for use in self.cluster_uses(username):
            if use.name == name:
                mine = use
            else:
                others.append(use)
        return mine, others

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
                reason = check_new_cluster(limits, self.cluster_uses(user.name))
                if reason:
                    raise PublicException(reason)
            return await super().start_cluster(user, cluster_options)

    async def forward_message_to_scheduler(self, cluster: Any, msg: dict[str, Any]) -> None:
        limits = self.user_limits(cluster.username)
        mine, others = self._split(cluster.username, cluster.name)
        if limits is not None and mine is not None:
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
        owner = self.cluster_owner(cluster_name)
        limits = self.user_limits(owner) if owner is not None else None
        if owner is not None and limits is not None and "count" in msg:
            # adaptive scaling asks for workers through heartbeats: cap it by the totals
            mine, others = self._split(owner, cluster_name)
            most = max_workers(limits, mine, others) if mine is not None else msg["count"]
            if msg["count"] > most:
                self.log.info(
                    "Cluster %s of %s asked for %d workers; the user's limits allow %d",
                    cluster_name,
                    owner,
                    msg["count"],
                    most,
                )
                msg = {**msg, "count": most}
            self._pending_counts()[cluster_name] = int(msg["count"])
        await super().on_cluster_heartbeat(cluster_name, msg)
