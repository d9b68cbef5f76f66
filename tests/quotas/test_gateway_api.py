"""The functions the Dask gateway calls: limits from the same policy, cluster usage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.policy.quota import Policy
from hub.quotas.api import dask_limits, record_cluster_usage
from hub.quotas.db import settings_store
from hub.settings import settings_from_dict


def test_dask_limits_and_cluster_usage(pg_data_dir: Path, fresh_db) -> None:
    settings = settings_from_dict(
        {
            "data_dir": str(pg_data_dir),
            "quotas": {"database": fresh_db[0], "defaults": {"dask_max_clusters": 1}},
        }
    )
    store = settings_store(settings)
    store.set_policy("group", "students", Policy(dask_max_cores=8, dask_max_memory="32Gi"))
    store.set_policy("user", "sam", Policy(dask_max_workers=4))
    limits = dask_limits(settings, "sam", ["students"])
    assert (limits.max_cores, limits.max_memory, limits.max_workers, limits.max_clusters) == (
        8.0,
        32 * 2**30,
        4,
        1,
    )
    assert "dask_max_cores 8 (from group students)" in limits.explanation

    start = datetime.now(UTC) - timedelta(hours=2)
    record_cluster_usage(settings, "sam", "c-1", 4.0, 8 * 2**30, start)
    record_cluster_usage(settings, "sam", "c-1", 4.0, 8 * 2**30, start, start + timedelta(hours=1))
    assert store.cpu_hours("sam", timedelta(days=1)) == 4.0


def test_the_gateway_limits_follow_the_quota_and_fall_back_to_dask_defaults(
    pg_data_dir: Path, fresh_db
) -> None:
    from hub.gateway.limits import limits_for

    settings = settings_from_dict(
        {
            "data_dir": str(pg_data_dir),
            "quotas": {"database": fresh_db[0]},
            "dask": {"user_limits": {"workers": 8, "clusters": 2}},
        }
    )
    settings_store(settings).set_policy("group", "students", Policy(dask_max_workers=3))
    student = limits_for("sam", ["students"], settings)
    assert (student.workers, student.clusters) == (3, 2)  # quota, then the dask: default
    assert limits_for("olle", [], settings).workers == 8
