"""GPUs for local servers: each server of a GPU profile gets devices of its own.

A mixin of `SdlLocalSpawner`: the device list (a trait), whether a profile fits this
machine's GPUs, and claiming and releasing them for one server (the pool is shared by
every server of the hub process).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tornado import web
from traitlets import List, Unicode, default
from traitlets.config import LoggingConfigurable

from hub.profiles import Profile
from hub.spawners.gpu import GpuPool, GpusBusy, cuda_environment, machine_gpus

# nvidia-smi is asked once per hub process: GPUs do not come and go under a running hub
_machine_gpus = cache(machine_gpus)


@cache
def gpu_pool(devices: tuple[str, ...]) -> GpuPool:
    """One pool per device list, shared by every server of this hub process."""
    return GpuPool(devices)


class GpuClaims(LoggingConfigurable):
    """What a spawner needs to hand out GPUs (its user, server name, profile, notes)."""

    user: Any
    name: str
    profile: Profile | None

    gpu_devices = List(
        Unicode(),
        config=True,
        help="""GPUs that servers of GPU profiles are given, one server per device
        (`CUDA_VISIBLE_DEVICES` ids). Default: every NVIDIA GPU of this machine (UUIDs
        from nvidia-smi, else the /dev/nvidiaN numbers); list fewer to keep some out.""",
    )

    @default("gpu_devices")
    def _default_gpu_devices(self) -> list[str]:
        return list(_machine_gpus())

    def note(self, message: str) -> None:
        raise NotImplementedError  # the spawner's spawn log

    def check_profile_fits(self, profile: Profile) -> None:
        if not profile.gpus:
            return
        pool = self.gpu_pool
        if len(pool.devices) < profile.gpus:
            raise web.HTTPError(
                409,
                f"Profile {profile.slug!r} needs {profile.gpus} GPU(s) but this machine has "
                f"{len(pool.devices)}; choose a profile without a GPU.",
            )
        free = len(pool.free()) + len(pool.held_by(self.gpu_owner))
        if free < profile.gpus:
            raise web.HTTPError(
                409,
                f"Profile {profile.slug!r} needs {profile.gpus} GPU(s); all but {free} of "
                f"this machine's {len(pool.devices)} are in use by other servers. Try "
                "again later or choose a profile without a GPU.",
            )

    @property
    def gpu_pool(self) -> GpuPool:
        return gpu_pool(tuple(self.gpu_devices))

    @property
    def gpu_owner(self) -> str:
        """This server's key in the pool: a user's named servers hold GPUs apart."""
        return f"{self.user.name}/{self.name}"

    def claim_gpus(self) -> dict[str, str]:
        """Assign this server its GPUs; the environment that shows CUDA only those.

        A server without a GPU sees none where the machine has some, so it cannot take
        memory or time on a device another user was given."""
        pool = self.gpu_pool
        wanted = self.profile.gpus if self.profile else 0
        if not wanted:
            pool.release(self.gpu_owner)
            if not pool.devices:
                return {}
            self.note("no GPU: hidden from CUDA (CUDA_VISIBLE_DEVICES is empty).")
            return cuda_environment([])
        try:
            devices = pool.assign(self.gpu_owner, wanted)
        except GpusBusy as busy:
            slug = self.profile.slug if self.profile else "?"
            raise web.HTTPError(409, f"Profile {slug!r} {busy}; try again later.") from None
        self.note(
            f"GPU {', '.join(devices)}: this server's own (CUDA_VISIBLE_DEVICES; other "
            "servers' GPUs are hidden from CUDA, their device files are not locked)."
        )
        return cuda_environment(devices)

    def release_gpus(self) -> None:
        self.gpu_pool.release(self.gpu_owner)
