"""Invitations in the workshops database: an existing user named by an instructor.

A user who already has a hub account is not put into a workshop's group (and under its
quota) by someone else: the instructor's add records an invitation, and only the
invited user turns it into a participation (or deletes it). `Store` carries these
methods; like the rest of it they are synchronous and run in a thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hub.workshops.model import utcnow
from hub.workshops.tables import (
    Workshop,
    accounts_t,
    invitations_t,
    participants_t,
    workshop_from,
    workshops_t,
)

#: How a participant who accepted an invitation joined (the `via` of their row).
VIA_INVITATION = "invitation"


def _key(name: str, username: str) -> sa.ColumnElement[bool]:
    return (invitations_t.c.workshop == name) & (invitations_t.c.username == username)


class InvitationStore:
    engine: sa.Engine

    def invite(self, name: str, usernames: Iterable[str], by: str) -> list[str]:
        """Records the invitations not yet there; returns every name now invited."""
        names = list(dict.fromkeys(usernames))
        present = set(self.invited(name))
        new = [u for u in names if u not in present]
        if new:
            with self.engine.begin() as conn:
                conn.execute(
                    invitations_t.insert(),
                    [
                        {"workshop": name, "username": u, "invited_by": by, "invited_at": utcnow()}
                        for u in new
                    ],
                )
        return names

    def invited(self, name: str) -> list[str]:
        """The users invited to workshop `name` who have not answered, oldest first."""
        query = (
            sa.select(invitations_t.c.username)
            .where(invitations_t.c.workshop == name)
            .order_by(invitations_t.c.invited_at, invitations_t.c.username)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def invitations_of(self, username: str) -> list[tuple[Workshop, str, datetime]]:
        """(workshop, invited by, when) of each invitation `username` has not answered."""
        query = (
            sa.select(workshops_t, invitations_t.c.invited_by, invitations_t.c.invited_at)
            .join(invitations_t, invitations_t.c.workshop == workshops_t.c.name)
            .where(invitations_t.c.username == username)
            .order_by(invitations_t.c.invited_at)
        )
        out = []
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                data: dict[str, Any] = dict(row._mapping)
                by, at = data.pop("invited_by"), data.pop("invited_at")
                out.append((workshop_from(data), by, at))
        return out

    def is_invited(self, name: str, username: str) -> bool:
        query = sa.select(invitations_t.c.username).where(_key(name, username))
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def accept_invitation(self, name: str, username: str) -> bool:
        """The invitation becomes a participation, in one transaction; False if none."""
        with self.engine.begin() as conn:
            if conn.execute(invitations_t.delete().where(_key(name, username))).rowcount == 0:
                return False
            member = sa.select(participants_t.c.username).where(
                (participants_t.c.workshop == name) & (participants_t.c.username == username)
            )
            if conn.execute(member).first() is None:
                conn.execute(
                    participants_t.insert().values(
                        workshop=name, username=username, via=VIA_INVITATION, added_at=utcnow()
                    )
                )
        return True

    def drop_invitation(self, name: str, username: str) -> bool:
        """Deletes the invitation; False if there was none."""
        with self.engine.begin() as conn:
            return conn.execute(invitations_t.delete().where(_key(name, username))).rowcount > 0

    def accounts_of(self, name: str) -> set[str]:
        """The accounts workshop `name` created itself (`create_accounts`)."""
        query = sa.select(accounts_t.c.username).where(accounts_t.c.workshop == name)
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())
