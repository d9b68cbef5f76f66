"""Per-server resource limits for the local spawner, with an honest report.

One machine can cap a server (memory, CPU time, process count) with cgroups, but it
cannot reserve guarantees the way a Kubernetes scheduler does. `ResourceLimiter.detect()`
picks cgroup v2, cgroup v1 or a no-op limiter; `prepare()` says in plain sentences what
it enforced and what it could not, so the spawn log never promises more than happened.
The plans come from `hub.spawners.limit_plan`; the file writes from `hub.spawners.cgroupfs`.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from hub.spawners import cgroupfs
from hub.spawners.cgroupfs import UsageFile, read
from hub.spawners.limit_plan import (
    DEFAULT_PIDS_MAX,
    V1_CONTROLLERS,
    V2_CONTROLLERS,
    LimitReport,
    check_name,
    common_gaps,
    parse_mountinfo,
    plan_settings,
)


def instance_tag(data_dir: str | Path) -> str:
    """What tells one platform's cgroups from another's on the same machine."""
    return hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:8]


def server_cgroup_name(os_user: str, data_dir: str | Path) -> str:
    """The cgroup of a user's server, which their Dask clusters join too.

    OS accounts are per machine, cgroups must be per platform: two platforms on one
    machine (tests, a trial next to production) must never stop each other's servers.
    """
    return f"{os_user}-{instance_tag(data_dir)}"


def remove_instance_groups(data_dir: str | Path) -> list[str]:
    """Remove every server cgroup of this platform (what is left in one is killed);
    the names removed. For `sdl up`'s stop: the hub's own stops remove theirs."""
    limiter = ResourceLimiter.detect()
    if not isinstance(limiter, CgroupLimiter):
        return []
    suffix = f"-{instance_tag(data_dir)}"
    names = {
        path.name
        for root in set(limiter.mounts.values())
        for path in (Path(root) / limiter.parent).glob(f"*{suffix}")
        if path.is_dir()
    }
    for name in sorted(names):
        limiter.remove(name)
    return sorted(names)


class ResourceLimiter:
    """Per-server cgroup under a platform-owned parent (/sys/fs/cgroup[/<controller>]/sdl/<name>).

    This base class enforces nothing and says so; `detect()` returns the real one.
    """

    kind = "none"

    def __init__(self, parent: str = "sdl") -> None:
        for part in parent.split("/"):
            check_name(part)
        self.parent = parent
        self.pids_max = DEFAULT_PIDS_MAX
        self.reason = "no cgroup limiter was chosen (use ResourceLimiter.detect())"

    @classmethod
    def detect(cls, parent: str = "sdl", *, pids_max: int = DEFAULT_PIDS_MAX) -> ResourceLimiter:
        """The best limiter this machine allows, else a `NoopLimiter` that names the reason."""
        if not sys.platform.startswith("linux"):
            return NoopLimiter(parent, f"resource limits need Linux cgroups, not {sys.platform}")
        if os.geteuid() != 0:
            return NoopLimiter(parent, "the hub does not run as root, so it cannot create cgroups")
        v1, v2 = parse_mountinfo(read(Path("/proc/self/mountinfo")))
        # hybrid machines mount an empty cgroup2 at /sys/fs/cgroup/unified: look for memory
        if v2 is not None and "memory" in read(Path(v2) / "cgroup.controllers").split():
            limiter: CgroupLimiter = CgroupV2Limiter(parent, root=v2, pids_max=pids_max)
        elif "memory" in v1:
            limiter = CgroupV1Limiter(parent, mounts=v1, pids_max=pids_max)
        else:
            return NoopLimiter(parent, "no cgroup hierarchy with a memory controller is mounted")
        problem = limiter.setup_parent()
        return NoopLimiter(parent, problem) if problem else limiter

    def prepare(
        self,
        name: str,
        *,
        cpu_limit: float,
        mem_limit: int,
        cpu_guarantee: float,
        mem_guarantee: int,
    ) -> LimitReport:
        """Report every requested limit as not enforced, with the reason."""
        check_name(name)
        plan = plan_settings(1, cpu_limit, mem_limit, cpu_guarantee, self.pids_max)
        gaps = [f"{s.what}: not enforced ({self.reason})" for s in plan if s.what]
        gaps += common_gaps(cpu_limit, mem_limit, cpu_guarantee, mem_guarantee)
        return LimitReport(enforced=[], not_enforced=gaps)

    def attach_self(self, name: str) -> None:
        """Nothing to join."""

    def procs_files(self, name: str) -> list[str]:
        """No groups: nothing to join."""
        return []

    def remove(self, name: str) -> None:
        """Nothing to clean up."""

    def usage(self, name: str) -> dict[str, float]:
        """No cgroup, no numbers."""
        return {}


class NoopLimiter(ResourceLimiter):
    """Used where cgroups cannot be written (non-root, read-only cgroupfs, macOS)."""

    def __init__(self, parent: str = "sdl", reason: str = "cgroups are not available") -> None:
        super().__init__(parent)
        self.reason = reason


class CgroupLimiter(ResourceLimiter):
    """What cgroup v1 and v2 share: directories per controller, procs files, cleanup."""

    version = 0
    usage_files: tuple[UsageFile, ...] = ()

    def __init__(
        self, parent: str = "sdl", *, mounts: dict[str, str], pids_max: int = DEFAULT_PIDS_MAX
    ) -> None:
        super().__init__(parent)
        self.mounts = mounts  # controller -> hierarchy root (v2: the same root for all)
        self.pids_max = pids_max
        self.reason = ""
        self._attach: dict[str, tuple[bytes, ...]] = {}
        self._owner_pid = os.getpid()

    def setup_parent(self) -> str:
        """Create the platform's parent group(s); '' when usable, else why not."""
        try:
            for root in set(self.mounts.values()):
                (Path(root) / self.parent).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"cannot create the parent cgroup {exc.filename} ({exc.strerror})"
        return ""

    def group_dirs(self, name: str) -> dict[str, Path]:
        """controller -> this server's group directory."""
        check_name(name)
        return {c: Path(root) / self.parent / name for c, root in self.mounts.items()}

    def unavailable(self, dirs: dict[str, Path]) -> dict[str, str]:
        """Controllers that cannot be used in the new group, with the reason."""
        wanted = (c for c in V1_CONTROLLERS if c != "cpuacct")
        return {c: f"no cgroup v1 {c} hierarchy is mounted" for c in wanted if c not in dirs}

    def prepare(
        self,
        name: str,
        *,
        cpu_limit: float,
        mem_limit: int,
        cpu_guarantee: float,
        mem_guarantee: int,
    ) -> LimitReport:
        """Create the group(s) and write the limits, before any process joins."""
        self._owner_pid = os.getpid()  # the process that will fork the server
        dirs = self.group_dirs(name)
        broken: dict[str, str] = {}
        for controller, path in dirs.items():
            try:
                path.mkdir(exist_ok=True)
            except OSError as exc:
                broken[controller] = f"cannot create {path} ({exc.strerror})"
        joinable = {p for c, p in dirs.items() if c not in broken}  # even without a limit: usage
        broken = {**self.unavailable(dirs), **broken}
        enforced: list[str] = []
        gaps: list[str] = []
        for s in plan_settings(self.version, cpu_limit, mem_limit, cpu_guarantee, self.pids_max):
            target = dirs[s.controller] / s.file if s.controller in dirs else Path()
            problem = broken.get(s.controller) or cgroupfs.write_control(target, s.value)
            if s.what and problem is None:
                enforced.append(f"{s.what}: enforced (cgroup v{self.version} {s.file} = {s.value})")
            elif s.what:
                gaps.append(f"{s.what}: not enforced ({problem})")
        gaps += common_gaps(cpu_limit, mem_limit, cpu_guarantee, mem_guarantee)
        self._attach[name] = tuple(os.fsencode(p / "cgroup.procs") for p in sorted(joinable))
        self.balance_parent()
        return LimitReport(enforced=enforced, not_enforced=gaps)

    #: The CPU weight file, its default and its maximum (v1: cpu.shares; v2: cpu.weight).
    weight_file: tuple[str, int, int] = ("cpu.shares", 1024, 262144)

    def balance_parent(self) -> None:
        """Give the parent group the sum of its servers' CPU weights.

        Under one parent, all servers together would weigh as much as one process outside
        it: 20 servers starting at once would get a fraction of the CPU that the hub's own
        processes get. With the sum, each server weighs what its guarantee says, as pods
        do on Kubernetes, and the hub keeps its own share.
        """
        root = self.mounts.get("cpu")
        if root is not None:
            cgroupfs.sum_weights(Path(root) / self.parent, self.weight_file)

    def attach_self(self, name: str) -> None:
        """Join the prepared group(s); runs in the child between fork and exec, as root.

        Nothing is formatted after fork (the paths were encoded by `prepare`). Raises if
        the group was not prepared, so Popen fails instead of starting an unlimited server.
        """
        if os.getpid() == self._owner_pid:
            raise RuntimeError("attach_self() belongs in the child (preexec_fn), not the hub")
        cgroupfs.join(self._attach[name])

    def procs_files(self, name: str) -> list[str]:
        """The `cgroup.procs` files a process writes to join an existing group (from
        another process than the one that prepared it, e.g. the Dask gateway)."""
        dirs = sorted(set(self.group_dirs(name).values()))
        missing = [str(d) for d in dirs if not d.is_dir()]
        if missing:
            raise FileNotFoundError(f"no cgroup {', '.join(missing)}")
        return [str(d / "cgroup.procs") for d in dirs]

    def pids(self, name: str) -> set[int]:
        """Every process still in the server's group(s)."""
        return cgroupfs.group_pids(self.group_dirs(name).values())

    def remove(self, name: str, *, timeout: float = 5.0) -> None:
        """Kill what is left in the group and remove it; quiet if it is already gone."""
        dirs = sorted(set(self.group_dirs(name).values()))
        self._attach.pop(name, None)
        cgroupfs.kill_and_remove(dirs, name, timeout)
        self.balance_parent()

    def usage(self, name: str) -> dict[str, float]:
        """Memory now and at peak, CPU seconds, OOM kills, processes: whichever can be read."""
        return cgroupfs.read_usage(self.group_dirs(name), self.usage_files)


class CgroupV1Limiter(CgroupLimiter):
    """cgroup v1: one hierarchy per controller (cpu and cpuacct may share one)."""

    kind = "cgroup1"
    version = 1
    usage_files = (
        ("memory_bytes", "memory", "memory.usage_in_bytes", "", 1),
        ("memory_peak_bytes", "memory", "memory.max_usage_in_bytes", "", 1),
        ("oom_kills", "memory", "memory.oom_control", "oom_kill", 1),
        ("cpu_seconds", "cpuacct", "cpuacct.usage", "", 1e-9),
        ("pids", "pids", "pids.current", "", 1),
    )


class CgroupV2Limiter(CgroupLimiter):
    """cgroup v2: one tree; controllers must be enabled in every ancestor's subtree_control."""

    weight_file = ("cpu.weight", 100, 10000)

    kind = "cgroup2"
    version = 2
    usage_files = (
        ("memory_bytes", "memory", "memory.current", "", 1),
        ("memory_peak_bytes", "memory", "memory.peak", "", 1),
        ("oom_kills", "memory", "memory.events", "oom_kill", 1),
        ("cpu_seconds", "cpu", "cpu.stat", "usage_usec", 1e-6),  # cpu.stat exists always
        ("pids", "pids", "pids.current", "", 1),
    )

    def __init__(
        self, parent: str = "sdl", *, root: str = "/sys/fs/cgroup", pids_max: int = DEFAULT_PIDS_MAX
    ) -> None:
        super().__init__(parent, mounts=dict.fromkeys(V2_CONTROLLERS, root), pids_max=pids_max)

    def setup_parent(self) -> str:
        """Create the parent and enable memory, cpu, pids for its children where offered."""
        problem = super().setup_parent()
        if not problem:
            cgroupfs.enable_controllers(Path(self.mounts["memory"]), self.parent, V2_CONTROLLERS)
        return problem

    def unavailable(self, dirs: dict[str, Path]) -> dict[str, str]:
        group = dirs["memory"]
        there = set(read(group / "cgroup.controllers").split())
        why = "is not enabled below {} (not offered by the kernel or not delegated)"
        return {c: f"the {c} controller {why.format(group.parent)}" for c in dirs if c not in there}
