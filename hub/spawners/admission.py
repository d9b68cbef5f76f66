"""One admission for every spawner: resolve → fit → quota, once per spawn.

The local spawner and `SdlKubeSpawner` both run `admit` from JupyterHub's
`apply_user_options` hook, for the spawn form and the REST API alike, before anything is
started or built. A refusal is a `tornado.web.HTTPError` whose message JupyterHub shows
as it is, and it is the same text in both modes because it is the same code.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

from tornado import web

from hub.policy.spawn import ProfileCatalog, Requester, SpawnRefused
from hub.profiles import Profile
from hub.quotas.enforce import check_spawn, quota_offer
from hub.spawners.timing import timed


class Admitting(Protocol):
    """What admission needs of a spawner (both of ours have it)."""

    user: Any
    log: Any
    hook_seconds: dict[str, float]

    @property
    def catalog(self) -> ProfileCatalog: ...

    def check_profile_fits(self, profile: Profile) -> None: ...


def requester_of(spawner: Any) -> Requester:
    """The user facts that decide profiles; hub groups are objects, stand-ins names."""
    user = spawner.user
    groups = (getattr(group, "name", group) for group in getattr(user, "groups", None) or [])
    return Requester.of(user.name, groups, bool(getattr(user, "admin", False)))


async def admit(spawner: Admitting, user_options: Any) -> Profile:
    """The profile this request may start now, or `web.HTTPError` saying why not.

    1. resolve: the only option is a profile this user's groups allow (400/403);
    2. fit: this kind of spawner can provide it (409, e.g. no GPU on this machine);
    3. quota: limits, budget and expiry of the user's policy (403; 503 if unreadable).
    The result is kept with the request, so the spawner applies it without resolving
    again (`admitted_profile`).
    """
    try:
        profile = spawner.catalog.resolve(user_options, requester_of(spawner))
    except SpawnRefused as refused:
        spawner.log.warning("refused spawn for %s: %s", spawner.user.name, refused)
        raise web.HTTPError(refused.status, str(refused)) from None
    spawner.check_profile_fits(profile)
    spawner.hook_seconds = {}  # the first hook of a spawn
    with timed(spawner.hook_seconds, "quota"):
        await check_spawn(spawner, profile)
    spawner._sdl_admitted = (copy.deepcopy(user_options), profile)  # type: ignore[attr-defined]
    return profile


def admitted_profile(spawner: Any, user_options: Any) -> Profile | None:
    """The profile `admit` gave these very options in this spawn, else None (then the
    caller admits them itself: a deployment may have replaced the hook)."""
    admitted = getattr(spawner, "_sdl_admitted", None)
    if admitted is None or admitted[0] != user_options:
        return None
    return admitted[1]


async def offered_profiles(spawner: Admitting) -> list[Profile]:
    """What the spawn form offers: the profiles of the user's groups that admission
    would accept under their quota (so no choice on the form ends in a 403)."""
    return await quota_offer(spawner, spawner.catalog.available_to(requester_of(spawner)))
