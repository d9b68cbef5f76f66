"""Who is asking, and the checks every workshop action starts with.

Instructors (group `instructors`) create workshops and act only on their own; admins
may act on any. Participants act only on themselves. Every refusal names the reason.
The store is synchronous: every call on it runs in a thread (`db`), never on the
service's event loop, which serves every user at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from hub.errors import Forbidden, NotFound
from hub.settings import Settings
from hub.workshops import INSTRUCTORS_GROUP
from hub.workshops.hubapi import HubAPI
from hub.workshops.quota import GroupPolicies
from hub.workshops.store import Store
from hub.workshops.tables import Workshop

P = ParamSpec("P")
T = TypeVar("T")
PARALLEL = 4  # hand-outs at once (each is a short subprocess)


@dataclass(frozen=True)
class Actor:
    name: str
    admin: bool = False
    instructor: bool = False


class ManagerBase:
    """The service's state and the checks shared by every action."""

    def __init__(self, settings: Settings, store: Store, hub: HubAPI, public_url: str) -> None:
        self.settings, self.store, self.hub = settings, store, hub
        self.public_url = public_url
        self.policies = GroupPolicies(settings)
        self._locks: dict[str, asyncio.Lock] = {}
        self._parallel = asyncio.Semaphore(PARALLEL)
        #: Kubernetes: workspaces pull their materials at start; nothing is pushed.
        self.pull = settings.mode == "kubernetes"

    @staticmethod
    async def db(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A blocking call (the store, the file system) in a thread, off the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    def lock(self, username: str) -> asyncio.Lock:
        """One hand-out or reset at a time into one home."""
        return self._locks.setdefault(username, asyncio.Lock())

    async def actor(self, name: str) -> Actor:
        model = await self.hub.user(name) or {}
        groups = set(model.get("groups") or [])
        return Actor(name, bool(model.get("admin")), INSTRUCTORS_GROUP in groups)

    async def owned(self, actor: Actor, name: str) -> Workshop:
        workshop = await self.db(self.store.get, name)
        if workshop.owner != actor.name and not actor.admin:
            raise Forbidden(
                f"workshop {name!r} belongs to {workshop.owner}; only they (or an admin) may "
                "manage it"
            )
        return workshop

    @staticmethod
    def require_instructor(actor: Actor) -> None:
        if not (actor.instructor or actor.admin):
            raise Forbidden(
                f"{actor.name} is not an instructor: ask an admin to add you to the "
                f"{INSTRUCTORS_GROUP!r} group"
            )

    async def participant(self, workshop: Workshop, username: str) -> None:
        if username not in await self.db(self.store.participants, workshop.name):
            raise NotFound(f"{username} is not a participant of {workshop.name!r}")
