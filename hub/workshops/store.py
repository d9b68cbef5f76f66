"""Workshops in PostgreSQL: their own database `sdl_workshops`, tables `workshop_*`.

The hub (login of pre-created accounts) and the workshops service both read it; only
the service writes, except `record_login`. The embedded server is reached over its
private socket as the superuser (root / the platform only), an external one by URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hub.settings import Settings
from hub.workshops.model import WorkshopError, WorkshopSpec, group_name, utcnow

DATABASE = "sdl_workshops"
meta = sa.MetaData()


def _ws_fk() -> sa.ForeignKey:
    return sa.ForeignKey("workshop_workshops.name", ondelete="CASCADE")


workshops_t = sa.Table(
    "workshop_workshops",
    meta,
    sa.Column("name", sa.String(30), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False, default=""),
    sa.Column("owner", sa.String(64), nullable=False, index=True),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("profiles", sa.Text, nullable=False, default="[]"),
    sa.Column("quota", sa.Text, nullable=False, default="{}"),
    sa.Column("template_kind", sa.String(10), nullable=False, default="builtin"),
    sa.Column("template_url", sa.Text, nullable=False, default=""),
    sa.Column("template_ref", sa.String(200), nullable=False, default=""),
    sa.Column("template_note", sa.Text, nullable=False, default=""),
    sa.Column("join_code", sa.String(20), nullable=True, unique=True),
    sa.Column("version", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
participants_t = sa.Table(
    "workshop_participants",
    meta,
    sa.Column("workshop", sa.String(30), _ws_fk(), primary_key=True),
    sa.Column("username", sa.String(64), primary_key=True, index=True),
    sa.Column("via", sa.String(10), nullable=False),  # name | account | code
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
)
accounts_t = sa.Table(
    "workshop_accounts",
    meta,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("workshop", sa.String(30), _ws_fk(), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
versions_t = sa.Table(
    "workshop_versions",
    meta,
    sa.Column("workshop", sa.String(30), _ws_fk(), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("files", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
deliveries_t = sa.Table(
    "workshop_deliveries",
    meta,
    sa.Column("workshop", sa.String(30), _ws_fk(), primary_key=True),
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("report", sa.Text, nullable=False, default="{}"),
    sa.Column("error", sa.Text, nullable=False, default=""),
)


@dataclass
class Workshop:
    name: str
    title: str
    owner: str
    starts_at: datetime
    ends_at: datetime
    profiles: list[str] = field(default_factory=list)
    quota: dict[str, Any] = field(default_factory=dict)
    template_kind: str = "builtin"
    template_url: str = ""
    template_ref: str = ""
    template_note: str = ""
    join_code: str | None = None
    version: int = 0
    created_at: datetime | None = None

    @property
    def group(self) -> str:
        return group_name(self.name)

    def is_open(self, now: datetime | None = None) -> bool:
        return (now or utcnow()) < self.ends_at

    def public(self) -> dict[str, Any]:
        """The JSON form for the REST API."""
        out = {k: v for k, v in self.__dict__.items() if k != "created_at"}
        out.update(
            starts_at=self.starts_at.isoformat(), ends_at=self.ends_at.isoformat(), group=self.group
        )
        return out


def _workshop(row: sa.Row[Any]) -> Workshop:
    data = dict(row._mapping)
    data["profiles"] = json.loads(data["profiles"])
    data["quota"] = json.loads(data["quota"])
    return Workshop(**data)


def database_url(settings: Settings) -> str:
    """The workshops database (created if missing) on the platform's PostgreSQL."""
    from hub.data.db import psycopg2_url
    from hub.db.access import ensure_private_database

    if settings.database.url:
        ensure_private_database(settings.database.url, DATABASE)
        return psycopg2_url(settings.database.url, DATABASE)
    from hub.db.embedded import EmbeddedPostgres

    pg = EmbeddedPostgres(settings.data_dir)
    ensure_private_database(pg.superuser_url("postgres"), DATABASE)
    return pg.superuser_url(DATABASE)


class Store:
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
            raise WorkshopError(f"a workshop named {spec.name!r} already exists", 409) from None
        return self.get(spec.name)

    def find(self, name: str) -> Workshop | None:
        with self.engine.connect() as conn:
            row = conn.execute(workshops_t.select().where(workshops_t.c.name == name)).first()
        return _workshop(row) if row else None

    def get(self, name: str) -> Workshop:
        workshop = self.find(name)
        if workshop is None:
            raise WorkshopError(f"no workshop named {name!r}", 404)
        return workshop

    def by_join_code(self, code: str) -> Workshop | None:
        query = workshops_t.select().where(workshops_t.c.join_code == code.strip().upper())
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _workshop(row) if row else None

    def all(self, owner: str | None = None) -> list[Workshop]:
        query = workshops_t.select().order_by(workshops_t.c.starts_at)
        if owner is not None:
            query = query.where(workshops_t.c.owner == owner)
        with self.engine.connect() as conn:
            return [_workshop(row) for row in conn.execute(query)]

    def update(self, name: str, **values: Any) -> Workshop:
        for key in ("profiles", "quota"):
            if key in values:
                values[key] = json.dumps(values[key])
        with self.engine.begin() as conn:
            conn.execute(workshops_t.update().where(workshops_t.c.name == name).values(**values))
        return self.get(name)

    def delete(self, name: str) -> None:
        with self.engine.begin() as conn:
            for table in (deliveries_t, versions_t, accounts_t, participants_t):
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
            return [_workshop(row) for row in rows]

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
