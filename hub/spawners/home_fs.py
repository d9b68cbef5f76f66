"""A home of its own size: an ext4 image the size of the user's `home_storage` limit,
loop-mounted on their home folder.

Homes, PostgreSQL and the hub's state share the data dir's file system. A check at spawn
(`du`) cannot stop a user who writes 300 MiB into a 50 MiB quota once their server runs,
and one user could fill the disk for everyone. On a file system of its own, the kernel
says "No space left on device" at the limit, and what users write can never take the
platform's own space. The image's blocks are allocated when it is made or grown
(`fallocate`), not sparse: otherwise N users' images could together still fill the disk
they share. An image is made or grown only if the data dir's file system keeps
`quotas.platform_reserve` free afterwards (for PostgreSQL and the hub); else the spawn is
refused with what to do (`HomeSpaceError`), and nothing is changed.

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
DEFAULT_RESERVE = 2 * 2**30  # quotas.platform_reserve's default


class HomeFilesystemError(SdlError):
    """A home's own file system could not be made, grown or mounted."""


class HomeSpaceError(HomeFilesystemError):
    """Making or growing a home's image would leave the platform's disk under its
    reserve: the spawn is refused with this message (nothing was changed)."""


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
    tools = (
        "mkfs.ext4",
        "resize2fs",
        "e2fsck",
        "dumpe2fs",
        "losetup",
        "mount",
        "umount",
        "findmnt",
    )
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


def _allocate(image: Path, size: int) -> None:
    """Take the image's `size` bytes from the disk now (holes filled, data kept)."""
    try:
        with image.open("r+b") as handle:
            os.posix_fallocate(handle.fileno(), 0, size)
    except OSError as exc:
        raise HomeFilesystemError(
            f"{image} could not be allocated ({_gib(size)}): {exc.strerror}"
        ) from None


def _make_image(image: Path, size: int, uid: int, gid: int) -> None:
    image.touch(mode=0o600)
    try:
        _allocate(image, size)
        # -m 0: no blocks reserved for root (the user owns all of it); root_owner: the
        # file system's top folder is the user's; nodiscard: mkfs would punch the
        # allocated blocks out of the image file again
        options = f"nodiscard,root_owner={uid}:{gid}"
        _run("mkfs.ext4", "-q", "-F", "-m", "0", "-E", options, str(image))
    except BaseException:
        image.unlink(missing_ok=True)  # no half-made image is left behind
        raise


def _allocated(image: Path) -> int:
    return image.stat().st_blocks * 512 if image.exists() else 0


def check_space(
    data_dir: Path, needed: int, reserve: int, limit: int, user: str
) -> tuple[int, str]:
    """(free bytes, "") if `needed` more bytes leave `reserve` free on the data dir's
    file system (the images' too), else (free bytes, the refusal: what is short and
    what to do)."""
    free = shutil.disk_usage(data_dir).free  # what non-root may use: PostgreSQL's share
    if needed <= 0 or free - needed >= reserve:
        return free, ""
    return free, (
        f"home limit {_gib(limit)} for {user}: the platform's disk has {_gib(free)} free "
        f"and keeps {_gib(reserve)} for PostgreSQL and the hub, so the home's "
        f"{_gib(needed)} cannot be taken from it; an admin can free space on the disk of "
        f"{data_dir} or lower the limit (`sdl quota set user {user} "
        f"home_storage=SIZE`, or the group's)"
    )


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
    before = image.stat().st_size
    try:
        _allocate(image, size)
    except HomeFilesystemError:
        os.truncate(image, before)  # the file system inside never saw the new size
        raise
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


def _filesystem_bytes(image: Path) -> int:
    """The size of the ext4 file system in `image` (its superblock's block count)."""
    fields = {}
    for line in _run("dumpe2fs", "-h", str(image)).splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return int(fields["Block count"]) * int(fields["Block size"])


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


def ensure_home_filesystem(
    data_dir: Path,
    home: Path,
    limit: int,
    uid: int,
    gid: int,
    reserve: int = DEFAULT_RESERVE,
    user: str = "",
) -> HomeLimit:
    """Mount a file system of `limit` bytes on `home` (made, grown or reused).

    `HomeSpaceError` if making or growing it would leave less than `reserve` free on
    the data dir's file system; the home and its image are then as they were."""
    size = max(limit, MIN_SIZE)
    image = image_of(data_dir, home)
    current = image.stat().st_size if image.exists() else 0
    # what the disk must still give: the new size, or the holes of an image made sparse
    # (before images were allocated, or punched out by an fstrim of the mounted home)
    needed = max(size, current) - _allocated(image)
    free, short = check_space(data_dir, needed, reserve, limit, user or home.name)
    if short and size > current:
        raise HomeSpaceError(short)  # checked before anything is made or changed
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
    elif current < size:
        grown = _grow(image, size, home)
        mounted = bool(_mounted_source(home))  # an offline grow unmounted it
        note = f", grown from {_gib(current)}" if grown else ", grows at the next start"
    else:
        if current > size:
            note = f" (limit lowered to {_gib(limit)}: never shrunk, that could lose files)"
        if needed > 0 and not short:
            _allocate(image, current)
    if not mounted:
        if _filesystem_bytes(image) < image.stat().st_size - 2**20:
            # a grow that waited (the home was busy): the image is larger than its
            # file system, which grows now, before it is mounted again
            _run("e2fsck", "-f", "-p", str(image), ok=(0, 1))
            _run("resize2fs", str(image))
            note = f", grown to {_gib(image.stat().st_size)} at this start"
        _run("mount", "-o", MOUNT_OPTIONS, str(image), str(home))
        lost = home / "lost+found"  # e2fsck makes it again if it ever needs it
        if lost.is_dir() and not any(lost.iterdir()):
            lost.rmdir()
    os.chown(home, uid, gid)
    home.chmod(0o700)
    message = f"home limit {_gib(image.stat().st_size)}: enforced (a file system of its own{note})"
    if short:  # reused as it is all the same: refusing would keep the user from their files
        message += (
            f"; {_gib(needed)} of its image is not yet taken from the platform's disk "
            f"({_gib(free)} free, {_gib(reserve)} kept for PostgreSQL and the hub), so "
            "writing into it can still fill that disk: free space on it"
        )
    return HomeLimit(True, message)


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
