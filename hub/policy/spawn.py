"""Spawn requests: the user options a client may send, checked on the server.

The form and the REST API both end here. Nothing from the request is trusted: keys,
types and values are compared with what this user may have.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hub.errors import Forbidden
from hub.profiles import Profile

#: The only key a spawn request may carry (KubeSpawner's name for it, in both modes).
PROFILE_KEY = "profile"
_MAX_VALUE_LENGTH = 63


class SpawnRefused(Forbidden):
    """A spawn request that this user may not make; the message says why and what to do
    (403, or 400 for a malformed request)."""


@dataclass(frozen=True)
class Requester:
    """The facts about a user that decide which profiles they see."""

    name: str
    groups: frozenset[str]
    admin: bool = False

    @classmethod
    def of(cls, name: str, groups: Iterable[str], admin: bool = False) -> Requester:
        return cls(name=name, groups=frozenset(groups), admin=admin)


class ProfileCatalog:
    """The profiles of a platform and the rule of who may use each."""

    def __init__(self, profiles: Sequence[Profile]) -> None:
        self.profiles = list(profiles)
        self._by_slug = {p.slug: p for p in self.profiles}

    def available_to(self, requester: Requester) -> list[Profile]:
        """Profiles this user may start; admins may start every profile."""
        return [p for p in self.profiles if requester.admin or p.allows(requester.groups)]

    def default_for(self, requester: Requester) -> Profile | None:
        available = self.available_to(requester)
        flagged = [p for p in available if p.default]
        candidates = flagged or available
        return candidates[0] if candidates else None

    def resolve(self, options: Any, requester: Requester) -> Profile:
        """The profile a request asks for, or `SpawnRefused` saying what is wrong."""
        if options is None:
            options = {}
        if not isinstance(options, dict):
            raise SpawnRefused(
                'Spawn options must be a JSON object like {"profile": "small"}.', 400
            )
        extra = sorted(str(k)[:_MAX_VALUE_LENGTH] for k in options if k != PROFILE_KEY)
        if extra:
            raise SpawnRefused(
                f"Unknown spawn option(s) {', '.join(map(repr, extra))}; "
                f"the only option is {PROFILE_KEY!r}.",
                400,
            )
        available = self.available_to(requester)
        names = ", ".join(p.slug for p in available) or "none"
        slug = options.get(PROFILE_KEY)
        if isinstance(slug, list) and len(slug) == 1:  # HTML forms send lists
            slug = slug[0]
        if slug is None or slug == "":
            default = self.default_for(requester)
            if default is None:
                raise SpawnRefused(
                    f"No profile is available to {requester.name}; ask an admin to add you "
                    "to a group that has one."
                )
            return default
        if not isinstance(slug, str) or len(slug) > _MAX_VALUE_LENGTH:
            raise SpawnRefused(f"{PROFILE_KEY!r} must be a profile name; yours are: {names}.", 400)
        profile = self._by_slug.get(slug)
        if profile is None:
            raise SpawnRefused(f"There is no profile {slug!r}; yours are: {names}.", 400)
        if profile not in available:
            groups = ", ".join(profile.groups)
            raise SpawnRefused(
                f"Profile {slug!r} is not available to you (it is for group(s): {groups}); "
                f"yours are: {names}. Ask an admin to add you to one of those groups."
            )
        return profile
