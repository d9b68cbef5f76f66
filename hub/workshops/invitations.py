"""Invitations: an existing hub user joins a workshop only if they (or an admin) say so.

A workshop's group carries its quota policy, so being put into it changes what a user
may spawn. An instructor who names a user that already exists on the hub (and is not
one of this workshop's own accounts) therefore only invites them; the user sees the
invitation on the workshops page (`GET api/invitations`) and accepts it, which adds
them as `add_participants` would, or declines it, which deletes it. Admins, and users
the workshop creates itself, are added at once.

Until it is answered, whoever may manage the workshop (its owner, or an admin: `owned`)
may withdraw the invitation. A workshop that has ended can no longer be joined: its
invitations are listed as ended and accepting one is refused (the invitation stays, so
it can be accepted if the instructor extends the workshop). An invitation to a workshop
that has not started yet may be accepted: that is how people sign up ahead.
"""

from __future__ import annotations

from typing import Any

from hub.errors import Conflict, NotFound
from hub.workshops.actors import Actor
from hub.workshops.handouts import Handouts
from hub.workshops.tables import Workshop


class Invitations(Handouts):
    async def needs_consent(
        self, actor: Actor, workshop: Workshop, existing: list[str]
    ) -> list[str]:
        """Those of `existing` (hub users before this request) the actor may only invite."""
        if actor.admin:
            return []
        own = await self.db(self.store.accounts_of, workshop.name)
        members = set(await self.db(self.store.participants, workshop.name))
        return [u for u in existing if u != actor.name and u not in own and u not in members]

    async def invite(self, actor: Actor, workshop: Workshop, usernames: list[str]) -> list[str]:
        if not usernames:
            return []
        return await self.db(self.store.invite, workshop.name, usernames, actor.name)

    async def invitations(self, username: str) -> list[dict[str, Any]]:
        """The invitations `username` has not answered, oldest first."""
        return [
            {
                "workshop": workshop.name,
                "title": workshop.title,
                "owner": workshop.owner,
                "invited_by": by,
                "invited_at": at.isoformat(),
                "starts_at": workshop.starts_at.isoformat(),
                "ends_at": workshop.ends_at.isoformat(),
                "profiles": workshop.profiles,
                "quota": workshop.quota,
                "ended": not workshop.is_open(),
            }
            for workshop, by, at in await self.db(self.store.invitations_of, username)
        ]

    async def accept(self, username: str, name: str) -> Workshop:
        """`username` takes part from now on: the group first, then the row."""
        workshop = await self._invited(username, name)
        if not workshop.is_open():
            raise Conflict(
                f"workshop {name!r} ended at {workshop.ends_at:%Y-%m-%d %H:%M} UTC and can no "
                f"longer be joined; ask {workshop.owner} to extend it, or decline the invitation"
            )
        await self.hub.add_to_group(workshop.group, [username])
        if not await self.db(self.store.accept_invitation, name, username):
            # withdrawn since we looked: take the group back, unless they take part anyway
            if username not in await self.db(self.store.participants, name):
                await self.hub.remove_from_group(workshop.group, [username])
            raise self._none(username, name)
        self.kick()
        return workshop

    async def decline(self, username: str, name: str) -> None:
        if not await self.db(self.store.drop_invitation, name, username):
            raise self._none(username, name)

    async def withdraw(self, actor: Actor, name: str, username: str) -> None:
        """The workshop's owner (or an admin) takes back an invitation not yet answered."""
        await self.owned(actor, name)
        if await self.db(self.store.drop_invitation, name, username):
            return
        if username in await self.db(self.store.participants, name):
            raise NotFound(
                f"{username} takes part in {name!r} already, so there is no invitation to "
                "withdraw; remove them as a participant instead"
            )
        raise NotFound(f"{username} has no invitation to workshop {name!r} to withdraw")

    async def _invited(self, username: str, name: str) -> Workshop:
        workshop = await self.db(self.store.find, name)
        if workshop is None or not await self.db(self.store.is_invited, name, username):
            raise self._none(username, name)
        return workshop

    @staticmethod
    def _none(username: str, name: str) -> NotFound:
        # the same answer whether the workshop exists or not: nothing to learn from it
        return NotFound(f"{username} has no invitation to workshop {name!r}")
