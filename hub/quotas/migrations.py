"""Schema of the quota database, as numbered migrations recorded in `quota_schema`.

Each migration runs once, in its own transaction, under a PostgreSQL advisory lock, so
the hub and the quota service may start at the same time. Never edit a released
migration: add the next number.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

LOCK_KEY = 7_070_707  # pg_advisory_xact_lock key for schema changes


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "policies and usage records",
        (
            """CREATE TABLE quota_policies (
                kind text NOT NULL CHECK (kind IN ('group', 'user')),
                name text NOT NULL,
                policy jsonb NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                updated_by text NOT NULL DEFAULT '',
                PRIMARY KEY (kind, name))""",
            """CREATE TABLE usage_records (
                id bigserial PRIMARY KEY,
                kind text NOT NULL CHECK (kind IN ('server', 'dask-cluster')),
                username text NOT NULL,
                name text NOT NULL,
                profile text NOT NULL DEFAULT '',
                cpu double precision NOT NULL CHECK (cpu >= 0),
                started_at timestamptz NOT NULL,
                stopped_at timestamptz,
                last_seen timestamptz NOT NULL,
                UNIQUE (kind, username, name, started_at))""",
            "CREATE INDEX usage_records_user_time ON usage_records (username, started_at)",
        ),
    ),
    Migration(
        2,
        "known users and home sizes",
        (
            """CREATE TABLE known_users (
                name text PRIMARY KEY,
                groups text[] NOT NULL DEFAULT '{}',
                admin boolean NOT NULL DEFAULT false,
                seen_at timestamptz NOT NULL DEFAULT now())""",
            """CREATE TABLE home_usage (
                username text PRIMARY KEY,
                bytes bigint NOT NULL CHECK (bytes >= 0),
                measured_at timestamptz NOT NULL DEFAULT now())""",
            "ALTER TABLE usage_records ADD COLUMN memory bigint NOT NULL DEFAULT 0",
        ),
    ),
)

LATEST = MIGRATIONS[-1].version


def current_version(conn: sa.Connection) -> int:
    exists = conn.execute(sa.text("SELECT to_regclass('quota_schema')")).scalar()
    if exists is None:
        return 0
    return int(
        conn.execute(sa.text("SELECT coalesce(max(version), 0) FROM quota_schema")).scalar_one()
    )


def migrate(engine: sa.Engine, target: int = LATEST) -> list[int]:
    """Bring the schema up to `target`; returns the versions applied now."""
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version > target:
            break
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            conn.execute(
                sa.text(
                    "CREATE TABLE IF NOT EXISTS quota_schema (version int PRIMARY KEY, "
                    "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
                )
            )
            if current_version(conn) >= migration.version:
                continue
            for statement in migration.statements:
                conn.execute(sa.text(statement))
            conn.execute(
                sa.text("INSERT INTO quota_schema (version, name) VALUES (:v, :n)"),
                {"v": migration.version, "n": migration.name},
            )
            applied.append(migration.version)
    return applied
