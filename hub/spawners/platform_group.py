"""The platform's own parts in a cgroup of their own, weighing more than a server.

Users' servers each get a cgroup whose CPU weight follows their guarantee, and their
parent the sum of those weights. The proxy, the hub, PostgreSQL and the gateway stayed
where `sdl up` was started: one task among 100 busy servers (cgroup v1), or a slice of
default weight beside a parent weighing 100 servers (v2), got about 2 % of the CPU. Under
the load benchmark the proxy then answered the hub's "add this route" too late, and the
hub stopped a server it had just started ("Failed to add load-099 to proxy!").

`sdl up` moves itself into `<parent>/platform-<instance tag>` before starting any part,
so every part (and every restart of one) inherits it. The group weighs as much as
`PLATFORM_CPUS` guaranteed CPUs: under contention the platform gets what it needs first
(it needs little), as systemd's system.slice does beside user.slice. No limit is set on
it. Servers leave it at their start for their own group. At the stop `sdl up` moves back
to where it was, and the group goes with the servers' (same tag).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hub.spawners import cgroupfs
from hub.spawners.limits import CgroupLimiter, ResourceLimiter, instance_tag

#: The platform's CPU weight, in guaranteed CPUs (a server's weight is its guarantee).
PLATFORM_CPUS = 32


@dataclass(frozen=True)
class PlatformGroup:
    """Where `sdl up` runs now, and where it came from (its cgroup.procs files)."""

    joined: tuple[Path, ...]
    came_from: tuple[Path, ...]
    message: str

    def leave(self) -> None:
        """Back to where `sdl up` was, so the group can be removed with the servers'."""
        cgroupfs.join(os.fsencode(path) for path in self.came_from)


def platform_group_name(data_dir: str | Path) -> str:
    return f"platform-{instance_tag(data_dir)}"


def join_platform_group(data_dir: str | Path) -> PlatformGroup:
    """Move this process (`sdl up`) into the platform's group, with its CPU weight."""
    limiter = ResourceLimiter.detect()
    if not isinstance(limiter, CgroupLimiter) or "cpu" not in limiter.mounts:
        return PlatformGroup((), (), f"platform CPU weight: not set ({limiter.reason})")
    root = Path(limiter.mounts["cpu"])
    group = root / limiter.parent / platform_group_name(data_dir)
    group.mkdir(exist_ok=True)
    file, _default, ceiling = limiter.weight_file
    per_cpu = 1024 if limiter.version == 1 else 100  # as a server's guarantee is written
    weight = str(min(ceiling, PLATFORM_CPUS * per_cpu))
    problem = cgroupfs.write_control(group / file, weight)
    came_from = _own_procs_file(root)
    cgroupfs.join([os.fsencode(group / "cgroup.procs")])
    limiter.balance_parent()  # the parent weighs its servers and the platform together
    said = f"{problem}" if problem else f"cgroup v{limiter.version} {file} = {weight}"
    return PlatformGroup((group / "cgroup.procs",), (came_from,), f"platform CPU weight: {said}")


def _own_procs_file(root: Path) -> Path:
    """The cgroup.procs file of the group this process is in now, in the hierarchy
    mounted at `root` (the hierarchy's own root where the path cannot be resolved, as
    in a container that sees its cgroup as /)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _id, controllers, path = line.split(":", 2)
        if controllers == "" or "cpu" in controllers.split(","):
            candidate = root / path.lstrip("/") / "cgroup.procs"
            if candidate.is_file() and str(os.getpid()) in candidate.read_text().split():
                return candidate
    return root / "cgroup.procs"
