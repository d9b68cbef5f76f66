"""User totals and usage accounting for dask-gateway backends that keep clusters in their
database (the embedded gateway's local backend).

`DBClusterUses` tells `UserLimitsMixin` what a user's clusters hold, from the database
records; `DBUsageMixin` feeds the usage ledger (hub.gateway.ledger) from the places a
database cluster starts, changes size and ends.
"""

from __future__ import annotations

from typing import Any

from dask_gateway_server.backends.db_base import DBBackendBase, JobStatus

from hub.gateway.ledger import UsageSettingsMixin
from hub.gateway.limits import ClusterUse
from hub.gateway.user_limits import UserLimitsMixin


def cluster_use(cluster: Any, pending: int = 0) -> ClusterUse:
    """A database cluster's share: the largest of its target, its live workers and a
    count asked of it that its heartbeat has not confirmed yet."""
    config = cluster.config
    workers = max(int(cluster.count or 0), len(cluster.active_workers()), pending)
    return ClusterUse(
        cluster.name, workers, float(config["worker_cores"]), int(config["worker_memory"])
    )


class DBClusterUses(UserLimitsMixin, DBBackendBase):
    """User totals, counted from the backend's database records."""

    def cluster_uses(self, username: str) -> list[ClusterUse]:
        return [
            cluster_use(c, self.pending_count(c.name))
            for c in self.db.list_clusters(username=username)  # active clusters only
        ]

    def cluster_owner(self, name: str) -> str | None:
        cluster = self.db.get_cluster(name)
        return None if cluster is None else cluster.username

    async def _cluster_to_stopped(self, cluster: Any) -> None:
        await super()._cluster_to_stopped(cluster)
        self.forget_pending(cluster.name)


class DBUsageMixin(UsageSettingsMixin, DBBackendBase):
    """Record every database cluster's size over time in the quota database."""

    async def setup(self, app: Any) -> None:
        await super().setup(app)
        # clusters do not outlive the gateway that ran them (`stop_clusters_on_shutdown`)
        self.ledger.start()

    async def cleanup(self) -> None:
        await super().cleanup()  # stops every cluster: their last segments are queued
        await self.ledger.drained(self.usage_drain_timeout)

    async def start_cluster(self, user: Any, cluster_options: dict[str, Any]) -> str:
        name = await super().start_cluster(user, cluster_options)
        self._observe(self.db.get_cluster(name))
        return name

    async def on_cluster_heartbeat(self, cluster_name: str, msg: dict[str, Any]) -> None:
        await super().on_cluster_heartbeat(cluster_name, msg)  # may change cluster.count
        self._observe(self.db.get_cluster(cluster_name))

    async def _cluster_to_stopped(self, cluster: Any) -> None:
        """Every way a cluster ends (stop, failure, culling, shutdown) passes here."""
        await super()._cluster_to_stopped(cluster)
        self.ledger.end(cluster.name)

    def _observe(self, cluster: Any) -> None:
        if cluster is None or cluster.target > JobStatus.RUNNING:
            return
        config = cluster.config
        self.ledger.observe(
            cluster.username,
            cluster.name,
            int(cluster.count or 0),
            float(config["worker_cores"]),
            int(config["worker_memory"]),
        )
