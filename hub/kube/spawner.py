"""KubeSpawner for Space Data Lab: profiles by group and quotas, refused before any
object is built.

Every spawn request, from the form or the REST API, goes through the same admission as
in local mode (`hub.spawners.admission.admit`: profile, fit, quota), once, in JupyterHub's
`apply_user_options` hook (before `start`, so the user sees a clear 400/403).
`load_user_options`, which KubeSpawner calls first thing in `start`, applies the profile
admitted for those very options, and admits them itself when the hook did not run (a
deployment may replace it) — so no pod or PVC is ever built from an unchecked request.

The home PVC's size is the user's quota `home_storage` where their policy sets one, else
`storage_capacity` (settings `kubernetes.home_size`); it is read in `load_user_options`,
before KubeSpawner builds the PVC. It applies to PVCs created from then on: KubeSpawner
leaves an existing PVC as it is, so growing one is a patch of its request by an admin,
which Kubernetes carries out where the storage class has `allowVolumeExpansion: true`.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
from collections.abc import Iterable
from typing import Any

from kubespawner import KubeSpawner
from traitlets import Any as AnyTrait
from traitlets import Dict, Float, List, default

from hub.kube.builders import PROFILE_TRAITS, kubespawner_profiles
from hub.policy.spawn import PROFILE_KEY, ProfileCatalog, Requester
from hub.profiles import Profile, format_size, parse_size
from hub.quotas.api import effective_for
from hub.spawners.admission import admit, admitted_profile, offered_profiles, requester_of

_VOLUME_TRAITS = ("volumes", "volume_mounts", "storage_capacity")


def home_capacity(quota_bytes: int | None, configured: str) -> str:
    """The home PVC request: the quota's `home_storage` if it sets a size, else the
    configured `kubernetes.home_size` (unlimited or unset has no size to give)."""
    return format_size(quota_bytes) if quota_bytes else configured


def quota_home_storage(settings: Any, username: str, groups: Iterable[str]) -> int | None:
    """Blocking: the user's effective `home_storage` (bytes; None: unlimited or unset)."""
    return effective_for(settings, username, groups).value("home_storage")


async def allowed_profile_list(spawner: SdlKubeSpawner) -> list[dict[str, Any]]:
    """KubeSpawner `profile_list` callable: only the profiles admission would accept."""
    return await spawner.allowed_profile_list()


async def refuse_tampered_options(spawner: SdlKubeSpawner, user_options: Any) -> None:
    """JupyterHub `apply_user_options` hook: admit the request or raise HTTPError."""
    await admit(spawner, user_options)


@functools.lru_cache(maxsize=8)
def _catalog(profiles_json: str) -> ProfileCatalog:
    """Profiles validated once per distinct configuration, not at every access."""
    return ProfileCatalog([Profile.model_validate(p) for p in json.loads(profiles_json)])


class SdlKubeSpawner(KubeSpawner):
    """KubeSpawner whose profiles, storage and checks come from the platform settings."""

    profiles = List(
        Dict(),
        config=True,
        help="""Profile documents, as in spawner_profiles/*.yaml (slug, cpu/memory
        guarantees and limits, gpus, node_selector, tolerations, image, groups).

        Users see and may start only the profiles their groups allow (admins: all);
        a request for any other profile, or with any other option, is refused.""",
    )
    user_volumes = List(
        Dict(),
        config=True,
        help="""Volumes added to every non-admin workspace (home PVC, read-only archive,
        templates), on top of `volumes`.""",
    )
    user_volume_mounts = List(
        Dict(),
        config=True,
        help="Mounts matching `user_volumes`; the archive mount is readOnly.",
    )
    admin_volumes = List(
        Dict(),
        config=True,
        help="""Volumes added to admins' workspaces instead of `user_volumes`; the
        archive volume is writable here.""",
    )
    admin_volume_mounts = List(
        Dict(),
        config=True,
        help="""Mounts matching `admin_volumes`: the archive read-only at the usual
        place and writable at a separate path, so writes are always deliberate.""",
    )

    settings = AnyTrait(
        None,
        allow_none=True,
        config=True,
        help="""The platform settings (hub.settings.Settings), set by hub.kube.config.

        With `quotas.enabled`, a user's quota `home_storage` sets the size of a home PVC
        created for them (else `storage_capacity`); None: `storage_capacity` only.""",
    )
    quota_timeout = Float(
        10,
        config=True,
        help="""Seconds to wait for the quota database when sizing a home PVC; after
        that, or if it fails, the PVC gets `storage_capacity` (and the log says so).""",
    )

    @default("profile_list")
    def _default_profile_list(self) -> Any:
        return allowed_profile_list

    @default("apply_user_options")
    def _default_apply_user_options(self) -> Any:
        return refuse_tampered_options

    # -- policy ---------------------------------------------------------------------

    hook_seconds = Dict(help="Seconds each platform hook took in the last spawn (hub log).")

    @property
    def catalog(self) -> ProfileCatalog:
        return _catalog(json.dumps(self.profiles, sort_keys=True, default=str))

    @property
    def requester(self) -> Requester:
        return requester_of(self)

    def available_profiles(self) -> list[Profile]:
        return self.catalog.available_to(self.requester)

    def check_profile_fits(self, profile: Profile) -> None:
        """Every profile fits: the scheduler places GPU pods on nodes that have them."""

    async def admitted(self, user_options: Any) -> Profile:
        """The profile admitted for these options in this spawn, else admit them now."""
        return admitted_profile(self, user_options) or await admit(self, user_options)

    async def allowed_profile_list(self) -> list[dict[str, Any]]:
        base = self._baseline().get("tolerations") or []
        if isinstance(base, dict):
            base = [base[k] for k in sorted(base)]
        return kubespawner_profiles(await offered_profiles(self), base)

    # -- applying a checked request -----------------------------------------------------

    def _baseline(self) -> dict[str, Any]:
        """Values of the attributes profiles change, as configured (taken once)."""
        if not hasattr(self, "_sdl_baseline"):
            names = (*PROFILE_TRAITS, *_VOLUME_TRAITS)
            self._sdl_baseline = {n: copy.deepcopy(getattr(self, n)) for n in names}
        return self._sdl_baseline

    async def load_user_options(self) -> None:
        """Apply the admitted profile, after resetting what an earlier profile set."""
        profile = await self.admitted(self.user_options)
        for name, value in self._baseline().items():
            setattr(self, name, copy.deepcopy(value))
        admin = self.requester.admin
        # annotated: KubeSpawner's traits are untyped, so mypy infers them from here
        self.volumes: list[Any] = [
            *self._listed(self.volumes),
            *(self.admin_volumes if admin else self.user_volumes),
        ]
        self.volume_mounts: list[Any] = [
            *self._listed(self.volume_mounts),
            *(self.admin_volume_mounts if admin else self.user_volume_mounts),
        ]
        self.storage_capacity = await self.home_size()
        # The canonical form of the checked request is what KubeSpawner applies.
        self.user_options: dict[str, Any] = {PROFILE_KEY: profile.slug}
        await super().load_user_options()

    async def home_size(self) -> str:
        """Size of a new home PVC for this user: quota `home_storage`, else configured."""
        configured = self.storage_capacity
        settings = self.settings
        if settings is None or not settings.quotas.enabled:
            return configured
        requester = self.requester
        try:
            size = await asyncio.wait_for(
                asyncio.to_thread(quota_home_storage, settings, requester.name, requester.groups),
                self.quota_timeout,
            )
        except Exception as exc:  # the quota database is away: the spawn goes on
            self.log.warning(
                "Home PVC of %s gets the configured %s: the quota database did not answer (%s: %s)",
                requester.name,
                configured,
                type(exc).__name__,
                exc,
            )
            return configured
        if size and requester.admin and settings.quotas.exempt_admins:
            size = max(size, parse_size(configured))  # quotas never shrink an exempt admin
        return home_capacity(size, configured)

    @staticmethod
    def _listed(value: Any) -> list[Any]:
        if isinstance(value, dict):
            return [value[k] for k in sorted(value)]
        return list(value or [])
