"""A home of its own size: an ext4 image the size of the user's `home_storage` limit,
loop-mounted on their home folder.

Homes, PostgreSQL and the hub's state share the data dir's file system. A check at spawn
(`du`) cannot stop a user who writes 300 MiB into a 50 MiB quota once their server runs,
and one user could fill the disk for everyone. On a file system of its own, the kernel
says "No space left on device" at the limit, and what users write can never take the
platform's own space. The image is sparse: it takes on disk what the user wrote.

Used where the platform runs as root and can loop-mount (`quotas.home_filesystem:
auto`); elsewhere the home stays a folder and the spawn log says the limit is checked at
spawn only. The image grows when an admin raises the limit (online, while mounted) and
is never shrunk (that could lose files): a lowered limit is reported instead.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hub.errors import SdlError

IMAGES_DIR = "home-images"  # in the data dir, next to homes/ (private to the platform)
MOUNT_OPTIONS = "loop,nodev,nosuid"
MIN_SIZE = 16 * 2**20  # ext4 needs a few MiB for itself


class HomeFilesystemError(SdlError):
    """A home's own file system could not be made, grown or mounted."""


@dataclass(frozen=True)
class HomeLimit:
    """What was done for a home, in a line for the spawn log."""

    enforced: bool
    message: str


def _run(*command: str, ok: tuple[int, ...] = (0,)) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode not in ok:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise HomeFilesystemError(f"{' '.join(command[:2])} failed: {detail[0]}")
    return result.stdout


@functools.cache
def can_mount_images() -> str:
    """ "" when this process can make and loop-mount ext4 images, else why not."""
    if os.geteuid() != 0:
        return "the platform does not run as root"
    tools = ("mkfs.ext4", "resize2fs", "e2fsck", "losetup", "mount", "umount", "findmnt")
    missing = [tool for tool in tools if not shutil.which(tool)]
    if missing:
        return f"{', '.join(missing)} not installed (e2fsprogs, util-linux)"
    with tempfile.TemporaryDirectory(prefix="sdl-home-probe-") as scratch:
        image, target = Path(scratch) / "probe.ext4", Path(scratch) / "mnt"
        target.mkdir()
        try:
            _make_image(image, MIN_SIZE, os.getuid(), os.getgid())
            _run("mount", "-o", MOUNT_OPTIONS, str(image), str(target))
            _run("umount", str(target))
        except HomeFilesystemError as exc:
            return f"loop mounts do not work here ({exc})"
    return ""


def image_of(data_dir: Path, home: Path) -> Path:
    return data_dir / IMAGES_DIR / f"{home.name}.ext4"


def _make_image(image: Path, size: int, uid: int, gid: int) -> None:
    with image.open("wb") as handle:
        handle.truncate(size)  # sparse: no block is written until the user writes one
    image.chmod(0o600)
    # -m 0: no blocks reserved for root (the user owns all of it); root_owner: the
    # file system's top folder is the user's
    _run("mkfs.ext4", "-q", "-F", "-m", "0", "-E", f"root_owner={uid}:{gid}", str(image))


def _mounted_source(home: Path) -> str:
    """The device mounted on `home` ("" if none)."""
    result = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE", "--mountpoint", str(home)],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def _grow(image: Path, size: int, home: Path) -> bool:
    """Grow the image and its file system; False if that must wait for the next start
    (mounted, the kernel refuses an online resize, and something still uses the home)."""
    with image.open("r+b") as handle:
        handle.truncate(size)
    device = _mounted_source(home)
    if device:
        try:  # online: the loop device learns the new size, then the file system
            _run("losetup", "-c", device)
            _run("resize2fs", device)
            return True
        except HomeFilesystemError:
            # not every kernel allows it (containers); offline, if nothing uses the home
            if subprocess.run(["umount", str(home)], capture_output=True).returncode != 0:
                return False
    _run("e2fsck", "-f", "-p", str(image), ok=(0, 1))  # 1: fixed what it found
    _run("resize2fs", str(image))
    return True


def _move_into(image: Path, home: Path) -> None:
    """A home that already holds files (the limit is new): its files go into the image
    first, and are removed from the shared file system only once all are copied."""
    with tempfile.TemporaryDirectory(prefix=".sdl-home-", dir=home.parent) as staging:
        _run("mount", "-o", MOUNT_OPTIONS, str(image), staging)
        try:
            _run("cp", "-a", f"{home}/.", staging)
        finally:
            _run("umount", staging)
    for entry in home.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def ensure_home_filesystem(data_dir: Path, home: Path, limit: int, uid: int, gid: int) -> HomeLimit:
    """Mount a file system of `limit` bytes on `home` (made, grown or reused)."""
    size = max(limit, MIN_SIZE)
    image = image_of(data_dir, home)
    image.parent.mkdir(mode=0o700, exist_ok=True)
    mounted = bool(_mounted_source(home))
    note = ""
    if not image.exists():
        _make_image(image, size, uid, gid)
        if any(home.iterdir()) and not mounted:
            try:
                _move_into(image, home)
            except HomeFilesystemError as exc:
                image.unlink()  # the home is as it was: nothing copied was removed
                return HomeLimit(
                    False,
                    f"home limit {_gib(limit)}: not enforced (the home's files do not fit "
                    f"in it: {exc}); checked at spawn only",
                )
    elif image.stat().st_size < size:
        before = image.stat().st_size
        grown = _grow(image, size, home)
        mounted = bool(_mounted_source(home))  # an offline grow unmounted it
        note = f", grown from {_gib(before)}" if grown else ", grows at the next start"
    elif image.stat().st_size > size:
        note = f" (limit lowered to {_gib(limit)}: never shrunk, that could lose files)"
    if not mounted:
        _run("mount", "-o", MOUNT_OPTIONS, str(image), str(home))
        lost = home / "lost+found"  # e2fsck makes it again if it ever needs it
        if lost.is_dir() and not any(lost.iterdir()):
            lost.rmdir()
    os.chown(home, uid, gid)
    home.chmod(0o700)
    size_now = image.stat().st_size
    return HomeLimit(
        True,
        f"home limit {_gib(size_now)}: enforced (a file system of its own{note})",
    )


def unmount_homes(data_dir: Path) -> list[str]:
    """Unmount every home of this platform (at `sdl up`'s stop); their images stay."""
    homes = (data_dir / "homes").resolve()
    done = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        target = line.split()[1].replace("\\040", " ")
        if Path(target).parent == homes:
            # lazy: a process still in the folder must not stop the platform's shutdown
            subprocess.run(["umount", "-l", target], capture_output=True)
            done.append(target)
    return done


def _gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB" if size >= 2**30 else f"{size / 2**20:.0f} MiB"
