"""What a server's limits become, as cgroup settings and plain sentences.

Kept apart from the limiter (`hub.spawners.limits`), which writes these settings, so the
plans and their wording are tested without touching /sys.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from hub.profiles import format_size

CFS_PERIOD_US = 100_000
DEFAULT_PIDS_MAX = 4096
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+=-]{0,254}$")
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids")
V2_CONTROLLERS = ("memory", "cpu", "pids")


@dataclass(frozen=True)
class LimitReport:
    """What `prepare()` did, as sentences "<what>: enforced (...)" / "<what>: not ... (why)"."""

    enforced: list[str]
    not_enforced: list[str]

    def lines(self) -> list[str]:
        """Every sentence, enforced first; each one reads on its own in a spawn log."""
        return [*self.enforced, *self.not_enforced]

    def enforces(self, what: str) -> bool:
        """e.g. `report.enforces("memory limit")`, for a spawner that refuses without it."""
        return any(line.startswith(what) for line in self.enforced)


@dataclass(frozen=True)
class Setting:
    """One control-file write; `what` ('' = silent) starts the sentence that reports it."""

    controller: str
    file: str
    value: str
    what: str


def check_name(name: str) -> str:
    """Refuse anything but one harmless path component: names end up in paths under /sys."""
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise ValueError(
            f"{name!r} is not a valid cgroup name; use letters, digits and . _ @ + = - "
            "(no '/', no '..', at most 255 characters)"
        )
    return name


def _size(n: int) -> str:
    text = format_size(n)
    return f"{text} bytes" if text.isdigit() else text


def common_gaps(
    cpu_limit: float, mem_limit: int, cpu_guarantee: float, mem_guarantee: int
) -> list[str]:
    """What no cgroup on one machine gives, whichever limiter runs.

    GPUs are not a cgroup's: the spawner gives each server its own (hub.spawners.gpu,
    the one place that finds this machine's GPUs) and says so in the spawn log.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0
    ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    more = "ineffective, this machine has only"
    why = "not reserved (one machine has no scheduler: only the limit is enforced)"
    checks = [
        (cpu_guarantee > 0, f"CPU guarantee {cpu_guarantee:g}: {why}"),
        (mem_guarantee > 0, f"memory guarantee {_size(mem_guarantee)}: {why}"),
        (mem_limit <= 0, "memory limit: not enforced (the profile sets none)"),
        (cpu_limit <= 0, "CPU limit: not enforced (the profile sets none)"),
        (cpus > 0 and cpu_limit > cpus, f"CPU limit {cpu_limit:g}: {more} {cpus} CPUs"),
        (mem_limit > ram, f"memory limit {_size(mem_limit)}: {more} {_size(ram)} of RAM"),
    ]
    return [sentence for applies, sentence in checks if applies]


def plan_settings(
    version: int, cpu_limit: float, mem_limit: int, cpu_guarantee: float, pids_max: int
) -> list[Setting]:
    """The control-file writes for one server, in the order the kernel accepts them."""
    one, quota = version == 1, max(1000, round(cpu_limit * CFS_PERIOD_US))
    mem, cpu = f"memory limit {_size(mem_limit)}", f"CPU limit {cpu_limit:g}"
    weight = f"CPU weight for the guarantee {cpu_guarantee:g}"
    mem_on, cpu_on = mem_limit > 0, cpu_limit > 0
    if one:
        shares = str(min(262144, max(2, round(cpu_guarantee * 1024))))
        plan = [  # memory+swap must stay >= memory at every step: open it before lowering both
            (mem_on, "memory", "memory.memsw.limit_in_bytes", "-1", ""),
            (mem_on, "memory", "memory.limit_in_bytes", str(mem_limit), mem),
            (mem_on, "memory", "memory.memsw.limit_in_bytes", str(mem_limit), "swap limit"),
            (cpu_on, "cpu", "cpu.cfs_period_us", str(CFS_PERIOD_US), ""),
            (cpu_on, "cpu", "cpu.cfs_quota_us", str(quota), cpu),
            (cpu_guarantee > 0, "cpu", "cpu.shares", shares, weight),
        ]
    else:
        weights = str(min(10000, max(1, round(cpu_guarantee * 100))))
        plan = [
            (mem_on, "memory", "memory.max", str(mem_limit), mem),
            (mem_on, "memory", "memory.swap.max", "0", "swap limit"),
            (cpu_on, "cpu", "cpu.max", f"{quota} {CFS_PERIOD_US}", cpu),
            (cpu_guarantee > 0, "cpu", "cpu.weight", weights, weight),
        ]
    plan.append((pids_max > 0, "pids", "pids.max", str(pids_max), f"process limit {pids_max}"))
    return [Setting(*rest) for wanted, *rest in plan if wanted]


def parse_mountinfo(text: str) -> tuple[dict[str, str], str | None]:
    """v1 controller -> mount point, and the cgroup2 mount point, from /proc/self/mountinfo."""
    v1: dict[str, str] = {}
    v2: str | None = None
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        mount_point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        if tail[0] == "cgroup2" and v2 is None:
            v2 = mount_point
        elif tail[0] == "cgroup":
            for option in tail[2].split(","):
                v1.setdefault(option, mount_point)
    return {c: m for c, m in v1.items() if c in V1_CONTROLLERS}, v2
