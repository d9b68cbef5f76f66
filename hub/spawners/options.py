"""Profile choice for any spawner: offered per group, checked again on the server."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from traitlets import Dict, HasTraits, Unicode, default

from hub.policy.spawn import PROFILE_KEY, ProfileCatalog
from hub.profiles import Profile, load_profiles
from hub.spawners.admission import admit, offered_profiles, requester_of
from hub.spawners.form import render_profile_form


@cache
def catalog_for(profiles_dir: str) -> ProfileCatalog:
    """Profiles are validated once per hub process (and again by `sdl up` before start)."""
    return ProfileCatalog(load_profiles(Path(profiles_dir)))


async def apply_profile_options(spawner: Any, user_options: Any) -> None:
    """JupyterHub's `apply_user_options` hook: admit the request, then set its limits.

    Runs for the spawn form and the REST API alike, before the spawner starts anything.
    A `tornado.web.HTTPError` passes through JupyterHub with its message intact.
    """
    profile = await admit(spawner, user_options)
    spawner.profile = profile
    spawner.cpu_limit = profile.cpu_limit
    spawner.cpu_guarantee = profile.cpu_guarantee
    spawner.mem_limit = profile.mem_limit
    spawner.mem_guarantee = profile.mem_guarantee


async def profile_form(spawner: Any) -> str:
    """The spawn form: the profiles admission would accept for this user now."""
    return render_profile_form(await offered_profiles(spawner), spawner.user.name)


class ProfileAwareMixin(HasTraits):
    """Adds `profiles_dir`, the spawn form's parsing and the server-side profile check."""

    profiles_dir = Unicode(
        config=True,
        help="""Folder of profile files (*.yaml), validated at start-up.

        Users see only the profiles their groups allow; a request naming any other
        profile is refused by the server.""",
    )
    profile: Profile | None = None
    hook_seconds = Dict(help="Seconds each platform hook took in the last spawn (hub log).")

    @default("apply_user_options")
    def _default_apply_user_options(self) -> Any:
        return apply_profile_options

    @property
    def catalog(self) -> ProfileCatalog:
        return catalog_for(self.profiles_dir)

    def available_profiles(self) -> list[Profile]:
        return self.catalog.available_to(requester_of(self))

    def options_from_form(self, formdata: dict[str, list[str]]) -> dict[str, Any]:
        # pass every field through (but the hub's XSRF token): the check refuses extras
        return {
            key: values[0] if len(values) == 1 else values
            for key, values in formdata.items()
            if key != "_xsrf"
        }

    def check_profile_fits(self, profile: Profile) -> None:
        """Refuse (web.HTTPError) a profile this kind of spawner cannot provide."""


__all__ = [
    "PROFILE_KEY",
    "ProfileAwareMixin",
    "apply_profile_options",
    "catalog_for",
    "profile_form",
    "requester_of",
]
