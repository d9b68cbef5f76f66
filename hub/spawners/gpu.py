"""This machine's GPUs, and which local server holds which.

Each server of a GPU profile gets devices of its own: the hub assigns them at start,
puts them in the server's `CUDA_VISIBLE_DEVICES` and releases them at stop. Servers
without a GPU get an empty `CUDA_VISIBLE_DEVICES`, so CUDA does not hand them (and let
them fill) another user's device. This is CUDA's own selection, not an access control:
the device files stay open to every account, as on any machine without a device cgroup.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

_DEVICE_FILE = re.compile(r"^nvidia(\d+)$")
_UUID = re.compile(r"^GPU-[0-9a-fA-F-]+$")


def device_file_ids(dev: Path = Path("/dev")) -> list[str]:
    """Minor numbers of /dev/nvidia0, /dev/nvidia1, ... in numeric order."""
    minors = [int(m.group(1)) for p in dev.glob("nvidia*") if (m := _DEVICE_FILE.match(p.name))]
    return [str(n) for n in sorted(minors)]


def parse_gpu_uuids(text: str) -> list[str]:
    """UUIDs from `nvidia-smi --query-gpu=uuid --format=csv,noheader` output."""
    return [line.strip() for line in text.splitlines() if _UUID.match(line.strip())]


def machine_gpus() -> list[str]:
    """This machine's NVIDIA GPUs, as `CUDA_VISIBLE_DEVICES` accepts them.

    UUIDs where `nvidia-smi` answers: they name a device whatever order CUDA counts in.
    Else the device files' numbers, which `CUDA_DEVICE_ORDER=PCI_BUS_ID` (set with them)
    makes CUDA count in the same order as the driver does. The one place that finds
    GPUs: an AMD GPU (/dev/kfd) is not one here, as servers are given GPUs through CUDA.
    """
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run(
                [smi, "--query-gpu=uuid", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        if uuids := parse_gpu_uuids(out):
            return uuids
    return device_file_ids()


def visible_gpus() -> int:
    """How many NVIDIA GPUs this machine has."""
    return len(machine_gpus())


class GpusBusy(Exception):
    """Not enough free GPUs for a server; the message says how many are taken."""


class GpuPool:
    """Which server (an owner key, e.g. "user/server") holds which of a fixed device list.

    Pure bookkeeping, safe across threads; devices are handed out in list order.
    """

    def __init__(self, devices: Sequence[str]) -> None:
        if len(set(devices)) != len(devices):
            raise ValueError(f"duplicate GPU ids in {list(devices)}")
        self.devices: tuple[str, ...] = tuple(devices)
        self._held: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def held_by(self, owner: str) -> list[str]:
        with self._lock:
            return list(self._held.get(owner, ()))

    def free(self) -> list[str]:
        with self._lock:
            return self._free()

    def _free(self) -> list[str]:
        taken = {d for held in self._held.values() for d in held}
        return [d for d in self.devices if d not in taken]

    def assign(self, owner: str, count: int) -> list[str]:
        """`count` devices for `owner`, or GpusBusy. A second call keeps what it holds."""
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        with self._lock:
            held = self._held.get(owner, ())
            if len(held) == count:
                return list(held)
            others = {d for o, h in self._held.items() if o != owner for d in h}
            free = [d for d in self.devices if d not in others]
            if len(free) < count:
                raise GpusBusy(
                    f"needs {count} GPU(s); this machine has {len(self.devices)} and "
                    f"{len(self.devices) - len(free)} are in use by other servers"
                )
            # keep devices the owner already had, so a restart does not move its work
            chosen = [*(d for d in held if d in free), *(d for d in free if d not in held)]
            self._held[owner] = tuple(chosen[:count])
            return list(self._held[owner])

    def reclaim(self, owner: str, devices: Iterable[str]) -> list[str]:
        """After a hub restart: `owner` (still running) keeps the devices it was given,
        of those this machine has and nobody else holds. Returns what it kept."""
        with self._lock:
            others = {d for o, h in self._held.items() if o != owner for d in h}
            kept = tuple(d for d in devices if d in self.devices and d not in others)
            if kept:
                self._held[owner] = kept
            else:
                self._held.pop(owner, None)
            return list(kept)

    def release(self, owner: str) -> list[str]:
        with self._lock:
            return list(self._held.pop(owner, ()))


def cuda_environment(devices: Sequence[str]) -> dict[str, str]:
    """The environment that limits CUDA to `devices` (empty: to none)."""
    env = {"CUDA_VISIBLE_DEVICES": ",".join(devices)}
    if not all(_UUID.match(d) for d in devices):
        env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"  # numbers count in the driver's order
    return env
