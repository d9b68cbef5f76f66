"""Profile sizes that pack a node: `sdl profiles fit --node 16,64Gi`.

Like 2i2c's resource allocation generator: start from the node's capacity, take off what
the kubelet and system reserve and what every node's DaemonSets request, then split the
rest into 1, 2, 4, ... equal shares. Memory guarantee = limit (memory cannot be
reclaimed without killing a process); CPU is guaranteed per share and may burst to the
whole node, since idle CPU is reclaimable.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.profiles import format_size, parse_size

MIB = 2**20
GIB = 2**30
#: Kubelet's default hard eviction threshold (memory.available).
EVICTION = 100 * MIB
#: (up to this many bytes, fraction reserved) — the tiers GKE and AKS document.
_MEMORY_TIERS = ((4 * GIB, 0.25), (8 * GIB, 0.20), (16 * GIB, 0.10), (128 * GIB, 0.06))
_MEMORY_REST = 0.02
#: (up to this many cores, fraction reserved).
_CPU_TIERS = ((1, 0.06), (2, 0.01), (4, 0.005))
_CPU_REST = 0.0025


def system_reserve(cpu: float, memory: int) -> tuple[float, int]:
    """CPU cores and bytes a managed node keeps for the kubelet, runtime and OS."""
    if memory < GIB:
        reserved_memory: float = 255 * MIB
    else:
        reserved_memory, below = 0.0, 0
        for upper, fraction in _MEMORY_TIERS:
            reserved_memory += max(0, min(memory, upper) - below) * fraction
            below = upper
        reserved_memory += max(0, memory - below) * _MEMORY_REST
    reserved_cpu, lower = 0.0, 0.0
    for upper, fraction in _CPU_TIERS:
        reserved_cpu += max(0.0, min(cpu, upper) - lower) * fraction
        lower = upper
    reserved_cpu += max(0.0, cpu - lower) * _CPU_REST
    return reserved_cpu, -(-int(reserved_memory) // MIB) * MIB + EVICTION


@dataclass(frozen=True)
class Share:
    """One row of the packing table: `users` equal workspaces on one node.

    Packing is the share of the node's allocatable (capacity minus system reserve) that
    the users' guarantees and the DaemonSets request together: what the scheduler sees.
    """

    users: int
    cpu_guarantee: float
    cpu_limit: float
    mem_guarantee: int
    mem_limit: int
    cpu_packing: float
    mem_packing: float

    @property
    def packing(self) -> float:
        return min(self.cpu_packing, self.mem_packing)

    def as_profile_fields(self) -> dict[str, object]:
        return {
            "cpu_guarantee": self.cpu_guarantee,
            "cpu_limit": self.cpu_limit,
            "mem_guarantee": format_size(self.mem_guarantee),
            "mem_limit": format_size(self.mem_limit),
        }


@dataclass(frozen=True)
class NodeFit:
    cpu: float
    memory: int
    reserved_cpu: float
    reserved_memory: int
    available_cpu: float
    available_memory: int
    shares: list[Share]


def parse_node(text: str) -> tuple[float, int]:
    """'16,64Gi' → (16.0, bytes). Raises ValueError naming the expected form."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise ValueError(f"{text!r}: expected CPU,MEMORY such as 16,64Gi")
    try:
        cpu = float(parts[0])
    except ValueError:
        raise ValueError(f"{parts[0]!r} is not a CPU count; use e.g. 16 or 7.5") from None
    memory = parse_size(parts[1])
    if cpu <= 0 or memory <= 0:
        raise ValueError(f"{text!r}: CPU and memory must be positive")
    return cpu, memory


def fit_node(
    cpu: float,
    memory: int,
    daemonset_cpu: float = 0.1,
    daemonset_memory: int = 256 * MIB,
    max_users: int = 64,
    min_memory: int = 512 * MIB,
) -> NodeFit:
    """Shares of 1, 2, 4, ... users per node, each rounded down to MiB and millicores."""
    reserved_cpu, reserved_memory = system_reserve(cpu, memory)
    available_cpu = cpu - reserved_cpu - daemonset_cpu
    available_memory = memory - reserved_memory - daemonset_memory
    if available_cpu <= 0 or available_memory <= min_memory:
        raise ValueError(
            f"a node of {cpu:g} CPU and {format_size(memory)} has nothing left for users "
            "after system reserve and DaemonSets; choose a bigger node"
        )
    shares: list[Share] = []
    users = 1
    while users <= max_users:
        mem = available_memory // users // MIB * MIB
        cpu_share = int(available_cpu / users * 1000) / 1000
        if mem < min_memory or cpu_share < 0.001:
            break
        shares.append(
            Share(
                users=users,
                cpu_guarantee=cpu_share,
                cpu_limit=int(available_cpu * 1000) / 1000,
                mem_guarantee=mem,
                mem_limit=mem,
                cpu_packing=(users * cpu_share + daemonset_cpu) / (cpu - reserved_cpu),
                mem_packing=(users * mem + daemonset_memory) / (memory - reserved_memory),
            )
        )
        users *= 2
    return NodeFit(
        cpu=cpu,
        memory=memory,
        reserved_cpu=reserved_cpu,
        reserved_memory=reserved_memory,
        available_cpu=available_cpu,
        available_memory=available_memory,
        shares=shares,
    )
