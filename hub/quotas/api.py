"""What other parts of the platform call: Dask limits and cluster usage for the gateway.

Blocking calls on the quota database (run them in a thread from an event loop). The
platform's PostgreSQL must be running (it is whenever `sdl up` or the hub pod runs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from hub.policy.quota import EffectivePolicy, explain_field
from hub.quotas.db import settings_store
from hub.settings import Settings

DASK_FIELDS = ("dask_max_cores", "dask_max_memory", "dask_max_workers", "dask_max_clusters")


@dataclass(frozen=True)
class DaskLimits:
    """Totals across all of a user's clusters; None means unlimited."""

    max_cores: float | None
    max_memory: int | None
    max_workers: int | None
    max_clusters: int | None
    explanation: tuple[str, ...]  # e.g. "dask_max_cores 8 (from group students)"

    @classmethod
    def of(cls, policy: EffectivePolicy) -> DaskLimits:
        max_cores, max_memory, max_workers, max_clusters = (
            policy.value(name) for name in DASK_FIELDS
        )
        return cls(
            max_cores,
            max_memory,
            max_workers,
            max_clusters,
            explanation=tuple(explain_field(name, policy[name]) for name in DASK_FIELDS),
        )


def effective_for(settings: Settings, username: str, groups: Iterable[str]) -> EffectivePolicy:
    """The user's whole effective policy (groups as the hub knows them)."""
    return settings_store(settings).effective(username, groups, settings.quotas.defaults)


def dask_limits(settings: Settings, username: str, groups: Iterable[str]) -> DaskLimits:
    return DaskLimits.of(effective_for(settings, username, groups))


def record_cluster_usage(
    settings: Settings,
    username: str,
    cluster: str,
    cores: float,
    memory: int,
    started_at: datetime,
    stopped_at: datetime | None = None,
) -> None:
    """Record a Dask cluster segment of constant size; cores x hours count in the budget.

    Call when a cluster starts (stopped_at None), and with the same `started_at` and
    `stopped_at` set when it stops or is resized (then a new segment for the new size).
    """
    settings_store(settings).record_cluster_usage(
        username, cluster, cores, memory, started_at, stopped_at
    )
