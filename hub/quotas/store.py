"""Policies, usage records, known users and home sizes in the `sdl` PostgreSQL database.

Synchronous SQLAlchemy Core (psycopg2): callers in an event loop run these methods in a
thread. Every write is one short transaction, so the hub, the quota service, the CLI
and the Dask gateway may use the same database at the same time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from hub.policy.quota import EffectivePolicy, Policy, effective_policy, parse_policy
from hub.quotas.migrations import LATEST, migrate

KINDS = ("group", "user")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PolicyRow:
    kind: str
    name: str
    policy: Policy
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class KnownUser:
    name: str
    groups: tuple[str, ...]
    admin: bool
    seen_at: datetime


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


class QuotaStore:
    """One database of quota policies and usage (see `hub.quotas.migrations`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url, pool_pre_ping=True, pool_size=3, max_overflow=2)

    def migrate(self, target: int = LATEST) -> list[int]:
        return migrate(self.engine, target)

    def close(self) -> None:
        self.engine.dispose()

    # -- policies -------------------------------------------------------------------
    def policy(self, kind: str, name: str) -> Policy | None:
        row = self.policies(kind, [name]).get((kind, name))
        return row.policy if row else None

    def policies(
        self, kind: str | None = None, names: Sequence[str] | None = None
    ) -> dict[tuple[str, str], PolicyRow]:
        query = "SELECT kind, name, policy, updated_at, updated_by FROM quota_policies WHERE true"
        params: dict[str, Any] = {}
        if kind is not None:
            query += " AND kind = :kind"
            params["kind"] = _kind(kind)
        if names is not None:
            query += " AND name = ANY(:names)"
            params["names"] = list(names)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(query + " ORDER BY kind, name"), params).all()
        return {
            (r.kind, r.name): PolicyRow(
                r.kind,
                r.name,
                parse_policy(r.policy, f"{r.kind} {r.name}"),
                r.updated_at,
                r.updated_by,
            )
            for r in rows
        }

    def set_policy(self, kind: str, name: str, policy: Policy, by: str = "") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO quota_policies (kind, name, policy, updated_by) "
                    "VALUES (:kind, :name, CAST(:policy AS jsonb), :by) "
                    "ON CONFLICT (kind, name) DO UPDATE SET policy = EXCLUDED.policy, "
                    "updated_at = now(), updated_by = EXCLUDED.updated_by"
                ),
                {
                    "kind": _kind(kind),
                    "name": _name(name),
                    "by": by,
                    "policy": json.dumps(policy.to_json()),
                },
            )

    def delete_policy(self, kind: str, name: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.text("DELETE FROM quota_policies WHERE kind = :kind AND name = :name"),
                {"kind": _kind(kind), "name": name},
            )
        return bool(result.rowcount)

    def effective(self, user: str, groups: Iterable[str], defaults: Policy) -> EffectivePolicy:
        groups = list(groups)
        group_rows = self.policies("group", groups)
        return effective_policy(
            user,
            groups,
            {name: row.policy for (_, name), row in group_rows.items()},
            self.policy("user", user),
            defaults,
        )

    # -- users the hub told us about ------------------------------------------------
    def remember_users(self, users: Iterable[tuple[str, Sequence[str], bool]]) -> None:
        rows = [{"name": n, "groups": sorted(g), "admin": a} for n, g, a in users]
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO known_users (name, groups, admin) VALUES (:name, :groups, :admin) "
                    "ON CONFLICT (name) DO UPDATE SET groups = EXCLUDED.groups, "
                    "admin = EXCLUDED.admin, seen_at = now()"
                ),
                rows,
            )

    def known_users(self) -> list[KnownUser]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT name, groups, admin, seen_at FROM known_users ORDER BY name")
            ).all()
        return [KnownUser(r.name, tuple(r.groups), r.admin, r.seen_at) for r in rows]

    def known_user(self, name: str) -> KnownUser | None:
        return next((u for u in self.known_users() if u.name == name), None)

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


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"policy kind {kind!r}: use 'group' or 'user'")
    return kind


def _name(name: str) -> str:
    if not name or len(name) > 255 or any(ch in name for ch in "/\n\r\t"):
        raise ValueError(f"{name!r} is not a group or user name")
    return name
