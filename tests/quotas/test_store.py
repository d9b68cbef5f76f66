"""The quota database on a real (embedded) PostgreSQL: migrations, policies, usage."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from hub.policy.quota import Policy
from hub.quotas.migrations import LATEST, current_version
from hub.quotas.store import QuotaStore, ServerSeen, UsageRecord

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def version(store: QuotaStore) -> int:
    with store.engine.connect() as conn:
        return current_version(conn)


def test_migrations_run_once_and_keep_data(fresh_db) -> None:
    store = QuotaStore(fresh_db[1])
    assert store.migrate(target=1) == [1]
    with store.engine.begin() as conn:  # data written by the version-1 schema
        conn.execute(
            sa.text(
                "INSERT INTO quota_policies (kind, name, policy) "
                "VALUES ('group', 'old', '{\"max_cpu\": 3}')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO usage_records (kind, username, name, cpu, started_at, last_seen) "
                "VALUES ('server', 'sam', '', 2, now(), now())"
            )
        )
    assert store.migrate() == list(range(2, LATEST + 1))
    assert store.migrate() == []
    assert version(store) == LATEST
    assert store.policy("group", "old") == Policy(max_cpu=3)
    assert store.usage_records("sam")[0].memory == 0  # column added by migration 2
    store.close()


def test_concurrent_migrations_do_not_collide(fresh_db) -> None:
    stores = [QuotaStore(fresh_db[1]) for _ in range(3)]
    results: list[list[int]] = []
    threads = [threading.Thread(target=lambda s=s: results.append(s.migrate())) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(v for applied in results for v in applied) == list(range(1, LATEST + 1))
    for store in stores:
        store.close()


def test_policies_round_trip(store: QuotaStore) -> None:
    policy = Policy(max_memory="16Gi", max_cpu=None, allowed_profiles=["small"])
    store.set_policy("group", "students", policy, by="ada")
    assert store.policy("group", "students") == policy
    assert store.policy("group", "students").set_fields()["max_cpu"] is None  # unlimited kept
    row = store.policies("group")[("group", "students")]
    assert row.updated_by == "ada"
    store.set_policy("user", "sam", Policy(max_cpu=8))
    eff = store.effective("sam", ["students"], Policy(max_servers=1))
    assert eff.value("max_cpu") == 8 and eff.value("max_memory") == 16 * 2**30
    assert store.delete_policy("user", "sam") and not store.delete_policy("user", "sam")
    assert store.policy("user", "sam") is None


def test_server_sessions_from_polls(store: QuotaStore) -> None:
    started = NOW - 2 * HOUR
    seen = ServerSeen("sam", "", "medium", 4.0, 16 * 2**30, started)
    store.record_servers([seen], now=NOW - HOUR)
    store.record_servers([seen], now=NOW)  # same session: extended, not duplicated
    records = store.usage_records("sam")
    assert len(records) == 1 and records[0].stopped_at is None
    assert store.cpu_hours("sam", timedelta(days=30), now=NOW) == 8.0  # 4 CPU x 2 h, running

    assert store.record_servers([], now=NOW + 10 * HOUR, grace=60) == 1  # gone: closed
    record = store.usage_records("sam")[0]
    assert record.stopped_at == NOW + timedelta(seconds=60)  # last seen + grace, not now
    assert round(store.cpu_hours("sam", timedelta(days=30), now=NOW + 10 * HOUR), 3) == 8.067


def test_cpu_hours_count_only_the_window(store: QuotaStore) -> None:
    old = UsageRecord(
        "server",
        "ola",
        "",
        "large",
        8.0,
        0,
        NOW - timedelta(days=40),
        NOW - timedelta(days=29),
        NOW - timedelta(days=29),
    )
    store.add_usage(old)
    used = store.cpu_hours("ola", timedelta(days=30), now=NOW)
    assert round(used, 6) == 8 * 24  # only the last day of it lies in the window
    assert store.cpu_hours_by_user(timedelta(days=30), now=NOW) == {"ola": used}


def test_cluster_usage_is_recorded_and_counted(store: QuotaStore) -> None:
    store.record_cluster_usage("sam", "c1", 6.0, 12 * 2**30, NOW - HOUR)
    store.record_cluster_usage("sam", "c1", 6.0, 12 * 2**30, NOW - HOUR, stopped_at=NOW)
    assert [r.kind for r in store.usage_records("sam")] == ["dask-cluster"]
    assert store.cpu_hours("sam", timedelta(days=1), now=NOW + HOUR) == 6.0
    store.record_servers([], now=NOW)  # polls never close cluster records
    assert store.usage_records("sam")[0].stopped_at == NOW


def test_known_users_and_home_sizes(store: QuotaStore) -> None:
    store.remember_users([("sam", ["students"], False), ("ada", [], True)])
    store.remember_users([("sam", ["students", "staff"], False)])
    assert [(u.name, u.groups, u.admin) for u in store.known_users()] == [
        ("ada", (), True),
        ("sam", ("staff", "students"), False),
    ]
    store.set_home_usage("sam", 123)
    store.set_home_usage("sam", 456)
    assert store.home_usages()["sam"][0] == 456


def test_hub_and_service_may_create_the_database_at_once(pg_data_dir) -> None:
    import uuid

    from hub.db.access import private_database_url
    from hub.db.urls import PlatformPostgres

    name = f"race_{uuid.uuid4().hex[:8]}"
    server = PlatformPostgres(pg_data_dir)
    errors: list[Exception] = []

    def create() -> None:
        try:
            private_database_url(server, name)  # as the hub and the quota service do
        except Exception as exc:  # collected: the assertion below shows them
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
