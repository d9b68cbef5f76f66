"""Policies and known users in the `sdl` PostgreSQL database.

Usage records and home sizes are `hub.quotas.usage`, the other half of `QuotaStore`.
Synchronous SQLAlchemy Core (psycopg2): callers in an event loop run these methods in a
thread. Every write is one short transaction, so the hub, the quota service, the CLI
and the Dask gateway may use the same database at the same time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hub.policy.quota import EffectivePolicy, Policy, effective_policy, parse_policy
from hub.quotas.migrations import LATEST, migrate
from hub.quotas.usage import ServerSeen, UsageRecord, UsageStore

# the usage records are named from the store by its callers, as before the split
__all__ = ["KINDS", "KnownUser", "PolicyRow", "QuotaStore", "ServerSeen", "UsageRecord"]

KINDS = ("group", "user")


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


class QuotaStore(UsageStore):
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


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"policy kind {kind!r}: use 'group' or 'user'")
    return kind


def _name(name: str) -> str:
    if not name or len(name) > 255 or any(ch in name for ch in "/\n\r\t"):
        raise ValueError(f"{name!r} is not a group or user name")
    return name
