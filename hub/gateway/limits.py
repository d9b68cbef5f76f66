"""Per-user Dask limits and the arithmetic that checks a request against them.

Pure code (no gateway, no I/O) so both the embedded backend and the Kubernetes-mode
gateway config use the same rules, and tests check them without starting anything.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypedDict

from hub.quotas.api import dask_limits
from hub.settings import Settings

log = logging.getLogger("sdl.gateway")

GIB = 2**30


@dataclass(frozen=True)
class DaskLimits:
    """What one user may hold: per worker, and in total across all their clusters."""

    worker_cores: int  # default cores of a worker
    worker_max_cores: int
    worker_memory_gib: float  # default memory of a worker
    worker_max_memory_gib: float
    cores: float  # totals across clusters (workers only; schedulers count as clusters)
    memory_gib: float
    workers: int
    clusters: int


def limits_for(username: str, groups: Iterable[str], settings: Settings) -> DaskLimits:
    """The user's Dask limits: their quota where it sets one, else the `dask:` defaults."""
    worker, total = settings.dask.worker, settings.dask.user_limits
    quota = _quota_totals(username, groups, settings)
    cores = quota.get("cores", total.cores)
    memory_gib = quota.get("memory_gib", total.memory_gib)
    return DaskLimits(
        worker_cores=min(worker.cores, int(cores) or 1),
        worker_max_cores=max(1, min(worker.max_cores, int(cores))),
        worker_memory_gib=min(worker.memory_gib, memory_gib),
        worker_max_memory_gib=min(worker.max_memory_gib, memory_gib),
        cores=cores,
        memory_gib=memory_gib,
        workers=quota.get("workers", total.workers),
        clusters=quota.get("clusters", total.clusters),
    )


class _QuotaTotals(TypedDict, total=False):
    cores: float
    memory_gib: float
    workers: int
    clusters: int


def _quota_totals(username: str, groups: Iterable[str], settings: Settings) -> _QuotaTotals:
    """The totals the quota policy sets for this user (only the ones it sets)."""
    if not settings.quotas.enabled:
        return {}
    try:
        quota = dask_limits(settings, username, groups)
    except Exception:  # the quota database is away: the gateway's own defaults apply
        log.exception("could not read the Dask quota of %s", username)
        return {}
    found = _QuotaTotals()
    if quota.max_cores is not None:
        found["cores"] = quota.max_cores
    if quota.max_memory is not None:
        found["memory_gib"] = quota.max_memory / GIB
    if quota.max_workers is not None:
        found["workers"] = quota.max_workers
    if quota.max_clusters is not None:
        found["clusters"] = quota.max_clusters
    return found


@dataclass(frozen=True)
class ClusterUse:
    """One cluster's share of the user's budget: its workers and their size."""

    name: str
    workers: int
    worker_cores: float
    worker_memory: int  # bytes

    @property
    def cores(self) -> float:
        return self.workers * self.worker_cores

    @property
    def memory(self) -> int:
        return self.workers * self.worker_memory


def describe_use(clusters: list[ClusterUse]) -> str:
    workers = sum(c.workers for c in clusters)
    cores = sum(c.cores for c in clusters)
    memory = sum(c.memory for c in clusters) / GIB
    return (
        f"{len(clusters)} cluster(s) with {workers} worker(s), "
        f"{_num(cores)} core(s), {_num(memory)} GiB"
    )


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def check_new_cluster(limits: DaskLimits, running: list[ClusterUse]) -> str | None:
    """Why the user may not start another cluster, or None if they may."""
    if len(running) >= limits.clusters:
        return (
            f"Cluster limit reached: you may run {limits.clusters} Dask cluster(s) at once and "
            f"you use {describe_use(running)}. Stop one (cluster.shutdown() or "
            "gateway.stop_cluster(name)) before starting another."
        )
    return None


def max_workers(limits: DaskLimits, cluster: ClusterUse, others: list[ClusterUse]) -> int:
    """Most workers `cluster` may have, given what the user's other clusters hold."""
    room = [limits.workers - sum(c.workers for c in others)]
    if cluster.worker_cores > 0:
        room.append(int((limits.cores - sum(c.cores for c in others)) // cluster.worker_cores))
    if cluster.worker_memory > 0:
        free = limits.memory_gib * GIB - sum(c.memory for c in others)
        room.append(int(free // cluster.worker_memory))
    return max(0, min(room))


def check_scale(
    limits: DaskLimits, cluster: ClusterUse, count: int, others: list[ClusterUse]
) -> str | None:
    """Why `cluster` may not grow to `count` workers, or None if it may.

    Shrinking is always allowed, even above the limits (they may have been lowered).
    """
    if count <= cluster.workers:
        return None
    wanted = ClusterUse(cluster.name, count, cluster.worker_cores, cluster.worker_memory)
    total = [*others, wanted]
    over = []
    if sum(c.workers for c in total) > limits.workers:
        over.append(f"{limits.workers} workers")
    if sum(c.cores for c in total) > limits.cores:
        over.append(f"{_num(limits.cores)} cores")
    if sum(c.memory for c in total) > limits.memory_gib * GIB:
        over.append(f"{_num(limits.memory_gib)} GiB of memory")
    if not over:
        return None
    most = max_workers(limits, cluster, others)
    return (
        f"Scaling cluster {cluster.name} to {count} workers "
        f"({_num(cluster.worker_cores)} core(s), {_num(cluster.worker_memory / GIB)} GiB each) "
        f"would exceed your limit of {' and '.join(over)} across all your Dask clusters; "
        f"you use {describe_use([*others, cluster])} now. "
        f"This cluster may have at most {most} worker(s)."
    )
