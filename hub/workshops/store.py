"""Workshops in PostgreSQL: their own database `sdl_workshops`, tables `workshop_*`.

The hub (login of pre-created accounts) and the workshops service both read it; only
the service writes. Synchronous SQLAlchemy Core: callers in an event loop run these
methods in a thread. Where the database is: `hub.db.urls`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hub.db.access import private_database_url
from hub.db.urls import PlatformPostgres
from hub.errors import Conflict, NotFound
from hub.workshops.invitation_store import InvitationStore
from hub.workshops.model import WorkshopSpec, utcnow
from hub.workshops.tables import (
    Workshop,
    accounts_t,
    deliveries_t,
    invitations_t,
    meta,
    participants_t,
    versions_t,
    workshop_of,
    workshops_t,
)

DATABASE = "sdl_workshops"


def open_store(server: PlatformPostgres) -> Store:
    """The store on `server` (the database made private if missing), tables created."""
    store = Store(private_database_url(server, DATABASE))
    store.create_tables()
    return store


class Store(InvitationStore):
    """The workshops' rows; invitations: `hub.workshops.invitation_store`."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, pool_pre_ping=True, pool_size=3)

    def create_tables(self) -> None:
        meta.create_all(self.engine)

    # -- workshops ------------------------------------------------------------------
    def create(self, spec: WorkshopSpec, owner: str, join_code: str | None) -> Workshop:
        row = {
            "name": spec.name,
            "title": spec.title or spec.name,
            "owner": owner,
            "starts_at": spec.starts_at,
            "ends_at": spec.ends_at,
            "profiles": json.dumps(spec.profiles),
            "quota": json.dumps(spec.quota),
            "template_kind": spec.template.kind,
            "template_url": spec.template.url,
            "template_ref": spec.template.ref,
            "join_code": join_code,
            "version": 0,
            "created_at": utcnow(),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(workshops_t.insert().values(**row))
        except sa.exc.IntegrityError:
            raise Conflict(f"a workshop named {spec.name!r} already exists") from None
        return self.get(spec.name)

    def find(self, name: str) -> Workshop | None:
        with self.engine.connect() as conn:
            row = conn.execute(workshops_t.select().where(workshops_t.c.name == name)).first()
        return workshop_of(row) if row else None

    def get(self, name: str) -> Workshop:
        workshop = self.find(name)
        if workshop is None:
            raise NotFound(f"no workshop named {name!r}")
        return workshop

    def by_join_code(self, code: str) -> Workshop | None:
        query = workshops_t.select().where(workshops_t.c.join_code == code.strip().upper())
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return workshop_of(row) if row else None

    def all(self, owner: str | None = None) -> list[Workshop]:
        query = workshops_t.select().order_by(workshops_t.c.starts_at)
        if owner is not None:
            query = query.where(workshops_t.c.owner == owner)
        with self.engine.connect() as conn:
            return [workshop_of(row) for row in conn.execute(query)]

    def update(self, name: str, **values: Any) -> Workshop:
        for key in ("profiles", "quota"):
            if key in values:
                values[key] = json.dumps(values[key])
        with self.engine.begin() as conn:
            conn.execute(workshops_t.update().where(workshops_t.c.name == name).values(**values))
        return self.get(name)

    def delete(self, name: str) -> None:
        with self.engine.begin() as conn:
            for table in (deliveries_t, versions_t, accounts_t, participants_t, invitations_t):
                conn.execute(table.delete().where(table.c.workshop == name))
            conn.execute(workshops_t.delete().where(workshops_t.c.name == name))

    # -- participants and accounts --------------------------------------------------
    def add_participants(self, name: str, usernames: Iterable[str], via: str) -> list[str]:
        """Adds the ones not yet in; returns those added now."""
        present = set(self.participants(name))
        added = [u for u in dict.fromkeys(usernames) if u not in present]
        if added:
            with self.engine.begin() as conn:
                conn.execute(
                    participants_t.insert(),
                    [
                        {"workshop": name, "username": u, "via": via, "added_at": utcnow()}
                        for u in added
                    ],
                )
        return added

    def remove_participant(self, name: str, username: str) -> None:
        with self.engine.begin() as conn:
            for table in (participants_t, deliveries_t):
                conn.execute(
                    table.delete().where(
                        (table.c.workshop == name) & (table.c.username == username)
                    )
                )

    def participants(self, name: str) -> dict[str, str]:
        """user name → how they joined, in the order they joined."""
        query = (
            participants_t.select()
            .where(participants_t.c.workshop == name)
            .order_by(participants_t.c.added_at, participants_t.c.username)
        )
        with self.engine.connect() as conn:
            return {row.username: row.via for row in conn.execute(query)}

    def workshops_of(self, username: str) -> list[Workshop]:
        names = sa.select(participants_t.c.workshop).where(participants_t.c.username == username)
        with self.engine.connect() as conn:
            rows = conn.execute(workshops_t.select().where(workshops_t.c.name.in_(names)))
            return [workshop_of(row) for row in rows]

    def add_accounts(self, name: str, hashed: list[tuple[str, str]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                accounts_t.insert(),
                [
                    {"username": u, "workshop": name, "password_hash": h, "created_at": utcnow()}
                    for u, h in hashed
                ],
            )

    def account(self, username: str) -> tuple[str, datetime, datetime] | None:
        """(password hash, starts_at, ends_at) of a pre-created account, or None."""
        query = (
            sa.select(accounts_t.c.password_hash, workshops_t.c.starts_at, workshops_t.c.ends_at)
            .join(workshops_t, workshops_t.c.name == accounts_t.c.workshop)
            .where(accounts_t.c.username == username)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (row[0], row[1], row[2]) if row else None

    def account_names(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(accounts_t.c.username)).scalars())

    def expired_accounts(self, now: datetime) -> list[str]:
        query = (
            sa.select(accounts_t.c.username)
            .join(workshops_t, workshops_t.c.name == accounts_t.c.workshop)
            .where(workshops_t.c.ends_at <= now)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    # -- versions and deliveries ----------------------------------------------------
    def latest_version(self, name: str) -> tuple[int, str] | None:
        query = (
            sa.select(versions_t.c.version, versions_t.c.digest)
            .where(versions_t.c.workshop == name)
            .order_by(versions_t.c.version.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (row[0], row[1]) if row else None

    def add_version(self, name: str, version: int, digest: str, files: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                versions_t.insert().values(
                    workshop=name, version=version, digest=digest, files=files, created_at=utcnow()
                )
            )
            conn.execute(
                workshops_t.update().where(workshops_t.c.name == name).values(version=version)
            )

    def record_delivery(
        self, name: str, username: str, version: int, report: dict[str, Any], error: str = ""
    ) -> None:
        values = {
            "version": version,
            "delivered_at": utcnow(),
            "report": json.dumps(report),
            "error": error,
        }
        key = (deliveries_t.c.workshop == name) & (deliveries_t.c.username == username)
        with self.engine.begin() as conn:
            if conn.execute(deliveries_t.update().where(key).values(**values)).rowcount == 0:
                conn.execute(
                    deliveries_t.insert().values(workshop=name, username=username, **values)
                )

    def deliveries(self, name: str) -> dict[str, dict[str, Any]]:
        """user name → {version, delivered_at, report, error} of their last hand-out."""
        query = deliveries_t.select().where(deliveries_t.c.workshop == name)
        with self.engine.connect() as conn:
            return {
                row.username: {
                    "version": row.version,
                    "delivered_at": row.delivered_at.isoformat(),
                    "report": json.loads(row.report),
                    "error": row.error,
                }
                for row in conn.execute(query)
            }
