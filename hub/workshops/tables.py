"""The workshops database's tables and the `Workshop` its rows become.

The database is `sdl_workshops` on the platform's PostgreSQL, tables `workshop_*`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hub.workshops.model import group_name, utcnow

meta = sa.MetaData()


def _workshop(**kwargs: Any) -> sa.Column[Any]:
    """The workshop a row belongs to: deleting the workshop deletes the row."""
    owner = sa.ForeignKey("workshop_workshops.name", ondelete="CASCADE")
    return sa.Column("workshop", sa.String(30), owner, **kwargs)


def _instant(name: str) -> sa.Column[Any]:
    """A required point in time, with its time zone."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


workshops_t = sa.Table(
    "workshop_workshops",
    meta,
    sa.Column("name", sa.String(30), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False, default=""),
    sa.Column("owner", sa.String(64), nullable=False, index=True),
    _instant("starts_at"),
    _instant("ends_at"),
    sa.Column("profiles", sa.Text, nullable=False, default="[]"),
    sa.Column("quota", sa.Text, nullable=False, default="{}"),
    sa.Column("template_kind", sa.String(10), nullable=False, default="builtin"),
    sa.Column("template_url", sa.Text, nullable=False, default=""),
    sa.Column("template_ref", sa.String(200), nullable=False, default=""),
    sa.Column("template_note", sa.Text, nullable=False, default=""),
    sa.Column("join_code", sa.String(20), nullable=True, unique=True),
    sa.Column("version", sa.Integer, nullable=False, default=0),
    _instant("created_at"),
)
participants_t = sa.Table(
    "workshop_participants",
    meta,
    _workshop(primary_key=True),
    sa.Column("username", sa.String(64), primary_key=True, index=True),
    sa.Column("via", sa.String(10), nullable=False),  # name | account | code | invitation
    _instant("added_at"),
)
accounts_t = sa.Table(
    "workshop_accounts",
    meta,
    sa.Column("username", sa.String(64), primary_key=True),
    _workshop(nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    _instant("created_at"),
)
versions_t = sa.Table(
    "workshop_versions",
    meta,
    _workshop(primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("files", sa.Integer, nullable=False),
    _instant("created_at"),
)
#: An instructor named an existing hub user: they are in once they accept.
invitations_t = sa.Table(
    "workshop_invitations",
    meta,
    _workshop(primary_key=True),
    sa.Column("username", sa.String(64), primary_key=True, index=True),
    sa.Column("invited_by", sa.String(64), nullable=False),
    _instant("invited_at"),
)
deliveries_t = sa.Table(
    "workshop_deliveries",
    meta,
    _workshop(primary_key=True),
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    _instant("delivered_at"),
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


def workshop_of(row: sa.Row[Any]) -> Workshop:
    return workshop_from(dict(row._mapping))


def workshop_from(data: dict[str, Any]) -> Workshop:
    """A `Workshop` from its table's columns (a join's other columns taken out first)."""
    data["profiles"] = json.loads(data["profiles"])
    data["quota"] = json.loads(data["quota"])
    return Workshop(**data)
