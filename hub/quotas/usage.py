"""Usage in the quota database: server sessions, Dask cluster segments, home sizes.

What the budget counts (CPU-hours in the window) and what the storage quota compares
with. Synchronous like the rest of `QuotaStore`, of which this is the usage half.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ServerSeen:
    """A running server as the hub API reports it."""

    username: str
    name: str
    profile: str
    cpu: float
    memory: int
    started_at: datetime


@dataclass(frozen=True)
class UsageRecord:
    kind: str
    username: str
    name: str
    profile: str
    cpu: float
    memory: int
    started_at: datetime
    stopped_at: datetime | None
    last_seen: datetime

    def cpu_hours(self, since: datetime, now: datetime) -> float:
        end = min(self.stopped_at or now, now)
        start = max(self.started_at, since)
        return max(0.0, (end - start).total_seconds()) / 3600 * self.cpu


_CPU_HOURS = """
    SELECT username, coalesce(sum(cpu * extract(epoch FROM
        (least(coalesce(stopped_at, :now), :now) - greatest(started_at, :since))) / 3600), 0)
    FROM usage_records
    WHERE started_at < :now AND coalesce(stopped_at, :now) > :since {where}
    GROUP BY username"""


class UsageStore:
    """The usage tables of the quota database (`QuotaStore` adds policies and users)."""

    engine: sa.Engine

    # -- usage ----------------------------------------------------------------------
    def record_servers(
        self, seen: Sequence[ServerSeen], now: datetime | None = None, grace: float = 30
    ) -> int:
        """One complete poll of the hub: upsert running servers, close the others.

        A server that vanished is counted until it was last seen plus `grace` seconds
        (never past now). Returns how many sessions were closed.
        """
        now = now or utcnow()
        with self.engine.begin() as conn:
            ids = []
            for server in seen:
                ids.append(
                    conn.execute(
                        sa.text(
                            "INSERT INTO usage_records (kind, username, name, profile, cpu, "
                            "memory, started_at, last_seen) VALUES ('server', :username, :name, "
                            ":profile, :cpu, :memory, :started_at, :now) "
                            "ON CONFLICT (kind, username, name, started_at) DO UPDATE SET "
                            "last_seen = EXCLUDED.last_seen, stopped_at = NULL RETURNING id"
                        ),
                        {**server.__dict__, "now": now},
                    ).scalar_one()
                )
            closed = conn.execute(
                sa.text(
                    "UPDATE usage_records SET stopped_at = greatest(started_at, "
                    "least(CAST(:now AS timestamptz), last_seen + make_interval(secs => :grace))) "
                    "WHERE kind = 'server' AND stopped_at IS NULL AND NOT (id = ANY(:ids))"
                ),
                {"now": now, "grace": grace, "ids": ids},
            )
        return closed.rowcount

    def record_cluster_usage(
        self,
        username: str,
        cluster: str,
        cores: float,
        memory: int,
        started_at: datetime,
        stopped_at: datetime | None = None,
    ) -> None:
        """A Dask cluster segment of constant size (cores x hours count like servers).

        Call when a cluster starts, again with `stopped_at` when it stops or is resized
        (then start a new segment with the new size and a new `started_at`).
        """
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO usage_records (kind, username, name, cpu, memory, started_at, "
                    "stopped_at, last_seen) VALUES ('dask-cluster', :username, :name, :cpu, "
                    ":memory, :started_at, :stopped_at, :now) "
                    "ON CONFLICT (kind, username, name, started_at) DO UPDATE SET "
                    "cpu = EXCLUDED.cpu, memory = EXCLUDED.memory, "
                    "stopped_at = EXCLUDED.stopped_at, last_seen = EXCLUDED.last_seen"
                ),
                {
                    "username": username,
                    "name": cluster,
                    "cpu": cores,
                    "memory": memory,
                    "started_at": started_at,
                    "stopped_at": stopped_at,
                    "now": now,
                },
            )

    def add_usage(self, record: UsageRecord) -> None:
        """Insert one finished or running record as it is (imports, tests)."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO usage_records (kind, username, name, profile, cpu, memory, "
                    "started_at, stopped_at, last_seen) VALUES (:kind, :username, :name, "
                    ":profile, :cpu, :memory, :started_at, :stopped_at, :last_seen)"
                ),
                dict(record.__dict__),
            )

    def cpu_hours(self, username: str, window: timedelta, now: datetime | None = None) -> float:
        return self.cpu_hours_by_user(window, now, [username]).get(username, 0.0)

    def cpu_hours_by_user(
        self, window: timedelta, now: datetime | None = None, users: Sequence[str] | None = None
    ) -> dict[str, float]:
        now = now or utcnow()
        params: dict[str, Any] = {"now": now, "since": now - window}
        where = ""
        if users is not None:
            where, params["users"] = "AND username = ANY(:users)", list(users)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(_CPU_HOURS.format(where=where)), params).all()
        return {r[0]: float(r[1]) for r in rows}

    def usage_records(self, username: str | None = None, limit: int = 200) -> list[UsageRecord]:
        query = (
            "SELECT kind, username, name, profile, cpu, memory, started_at, stopped_at, "
            "last_seen FROM usage_records"
        )
        params: dict[str, Any] = {"limit": limit}
        if username is not None:
            query += " WHERE username = :username"
            params["username"] = username
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(query + " ORDER BY started_at DESC LIMIT :limit"), params
            ).all()
        return [UsageRecord(*row) for row in rows]

    # -- home sizes -----------------------------------------------------------------
    def set_home_usage(self, username: str, size: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO home_usage (username, bytes) VALUES (:u, :b) ON CONFLICT "
                    "(username) DO UPDATE SET bytes = EXCLUDED.bytes, measured_at = now()"
                ),
                {"u": username, "b": size},
            )

    def home_usages(self) -> dict[str, tuple[int, datetime]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT username, bytes, measured_at FROM home_usage"))
            return {r.username: (int(r.bytes), r.measured_at) for r in rows}
