"""The cgroup file system itself: control files read and written, groups joined and emptied.

The limiters (`hub.spawners.limits`) decide which groups exist and what goes into them;
these functions do the writing with the kernel's quirks: a join from a forked child that
must not allocate, cgroup.kill where the kernel has it, EBUSY while killed processes exit,
controllers enabled level by level in cgroup v2, files missing on older kernels.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

#: (key, controller, file, field in the file or '' for its whole text, scale to units)
UsageFile = tuple[str, str, str, str, float]


def read(path: Path) -> str:
    """The file's text, '' where it cannot be read (no such controller, group gone)."""
    try:
        return path.read_text()
    except OSError:
        return ""


def write_control(path: Path, value: str) -> str | None:
    """Write one control file; None once written, else why not."""
    if not path.exists():
        return f"{path.name} does not exist on this kernel"
    try:
        path.write_text(value)
    except OSError as exc:
        return f"writing {value} to {path} failed: {exc.strerror}"
    return None


def join(procs_files: Iterable[bytes]) -> None:
    """Move this process into the groups whose `cgroup.procs` files are given.

    Writes "0" (the kernel's "this process") with raw file descriptors, so nothing is
    formatted or allocated between fork and exec.
    """
    for path in procs_files:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)


def group_pids(dirs: Iterable[Path]) -> set[int]:
    """Every process still in these group directories."""
    return {int(pid) for path in set(dirs) for pid in read(path / "cgroup.procs").split()}


def kill_and_remove(dirs: list[Path], name: str, timeout: float) -> None:
    """Kill what is left in the groups and remove their directories; quiet if gone."""
    deadline = time.monotonic() + timeout
    while pids := (everyone := group_pids(dirs)) - {os.getpid()}:  # never the hub itself
        for path in dirs:  # cgroup.kill (v2, Linux 5.14+) also stops a fork storm at once
            if os.getpid() not in everyone and (path / "cgroup.kill").exists():
                with contextlib.suppress(OSError):
                    (path / "cgroup.kill").write_text("1")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            log.warning("cgroup %s: processes %s survived SIGKILL", name, sorted(pids))
            break
        time.sleep(0.02)
    for path in dirs:
        while path.exists():
            try:
                path.rmdir()  # EBUSY for a moment while killed processes finish exiting
            except OSError as exc:
                if time.monotonic() > deadline:
                    log.warning("cannot remove cgroup %s: %s", path, exc.strerror)
                    break
                time.sleep(0.02)


def sum_weights(parent: Path, weight: tuple[str, int, int]) -> None:
    """Give `parent` the sum of its children's CPU weights (file, default, maximum)."""
    file, default, ceiling = weight
    children = (child / file for child in parent.iterdir() if child.is_dir())
    total = sum(int(text) for path in children if (text := read(path).strip()).isdigit())
    with contextlib.suppress(OSError):
        (parent / file).write_text(str(min(ceiling, max(default, total))))


def read_usage(dirs: dict[str, Path], usage_files: Iterable[UsageFile]) -> dict[str, float]:
    """The numbers of `usage_files` that can be read in the groups (controller -> dir)."""
    out: dict[str, float] = {}
    for key, controller, file, field, scale in usage_files:
        text = read(dirs[controller] / file) if controller in dirs else ""
        pairs = (line.split(maxsplit=1) for line in text.splitlines() if " " in line)
        raw = dict(pairs).get(field, "").strip() if field else text.strip()
        if raw.isdigit():
            out[key] = int(raw) * scale
    return out


def enable_controllers(root: Path, parent: str, controllers: Iterable[str]) -> None:
    """cgroup v2: enable `controllers` in the subtree_control of the root and of every
    level down to `parent`, where the kernel offers them; says why where it cannot."""
    wanted = set(controllers)
    node = root
    for part in [".", *parent.split("/")]:
        node = node / part
        offered = set(read(node / "cgroup.controllers").split())
        enabled = set(read(node / "cgroup.subtree_control").split())
        for controller in offered.intersection(wanted) - enabled:
            try:  # EBUSY: that cgroup holds processes (the hub's own, not delegated)
                (node / "cgroup.subtree_control").write_text(f"+{controller}")
            except OSError as exc:
                log.warning("cannot enable %s below %s: %s", controller, node, exc.strerror)
