"""A hard home limit: the quota's `home_storage` as a file system of the home's own.

Before, the limit was checked at spawn only: with 50 MiB, a user wrote 300 MiB at once.
Real ext4 images, real loop mounts, real OS accounts (as root, as CI runs).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tornado import web
from traitlets.config import Config

from hub.kube.render import SampleUser
from hub.spawners.home_fs import (
    HomeSpaceError,
    can_mount_images,
    ensure_home_filesystem,
    image_of,
    unmount_homes,
)
from hub.spawners.local import SdlLocalSpawner
from tests.support.platform import (
    SHARED_PASSWORD,
    HubClient,
    account_prefix,
    make_data_dir,
    start_platform,
)

MiB = 2**20
NOBODY = 65534

pytestmark = pytest.mark.skipif(
    bool(os.geteuid() != 0 or can_mount_images()),
    reason=f"needs root and loop mounts: {can_mount_images() or 'not root'}",
)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = make_data_dir("sdl-home-limit-")
    (path / "homes").mkdir()
    yield path
    unmount_homes(path)
    shutil.rmtree(path, ignore_errors=True)


def write_as(uid: int, path: Path, mib: int) -> subprocess.CompletedProcess[str]:
    """dd as that user: what a notebook writing a big file does."""
    return subprocess.run(
        [
            *("setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"),
            *("dd", "if=/dev/zero", f"of={path}", "bs=1M", f"count={mib}"),
        ],
        capture_output=True,
        text=True,
    )


def test_the_limit_holds_while_writing_and_files_already_there_move_in(data_dir: Path) -> None:
    home = data_dir / "homes" / "ulla"
    home.mkdir()
    (home / "notes.txt").write_text("kept")
    os.chown(home, NOBODY, NOBODY)
    done = ensure_home_filesystem(data_dir, home, 50 * MiB, NOBODY, NOBODY)
    assert done.enforced and "enforced" in done.message
    assert os.path.ismount(home)
    assert (home / "notes.txt").read_text() == "kept"  # moved in, not lost
    assert home.stat().st_uid == NOBODY and home.stat().st_mode & 0o777 == 0o700
    result = write_as(NOBODY, home / "big", 300)
    assert result.returncode != 0 and "No space left on device" in result.stderr
    assert (home / "big").stat().st_size <= 50 * MiB
    # the platform's own file system gave the image its size, and not a block more
    assert image_of(data_dir, home).stat().st_blocks * 512 <= 52 * MiB


def test_a_raised_limit_grows_the_home_online_and_a_lowered_one_loses_nothing(
    data_dir: Path,
) -> None:
    home = data_dir / "homes" / "vera"
    home.mkdir()
    ensure_home_filesystem(data_dir, home, 32 * MiB, NOBODY, NOBODY)
    assert write_as(NOBODY, home / "a", 20).returncode == 0
    before = shutil.disk_usage(home).total
    grown = ensure_home_filesystem(data_dir, home, 96 * MiB, NOBODY, NOBODY)  # still mounted
    assert "grown" in grown.message
    assert shutil.disk_usage(home).total > before + 50 * MiB
    assert write_as(NOBODY, home / "b", 60).returncode == 0
    lowered = ensure_home_filesystem(data_dir, home, 16 * MiB, NOBODY, NOBODY)
    assert "never shrunk" in lowered.message
    assert (home / "a").stat().st_size == 20 * MiB and (home / "b").stat().st_size == 60 * MiB


def test_a_grow_that_had_to_wait_happens_at_the_next_start(data_dir: Path) -> None:
    """A raised limit whose online grow could not run (the home was busy) leaves the
    image at its new size and the file system at its old one: the next start grows it
    (before, it saw the image's size, grew nothing and the home stayed small)."""
    home = data_dir / "homes" / "xena"
    home.mkdir()
    ensure_home_filesystem(data_dir, home, 32 * MiB, NOBODY, NOBODY)
    assert write_as(NOBODY, home / "a", 20).returncode == 0
    unmount_homes(data_dir)
    image = image_of(data_dir, home)
    os.truncate(image, 96 * MiB)  # what the waiting grow left: a larger file, same fs
    again = ensure_home_filesystem(data_dir, home, 96 * MiB, NOBODY, NOBODY)
    assert os.path.ismount(home) and "grown to" in again.message, again.message
    assert shutil.disk_usage(home).total > 80 * MiB
    assert (home / "a").stat().st_size == 20 * MiB


def test_a_home_bigger_than_a_new_limit_is_left_as_it_was(data_dir: Path) -> None:
    home = data_dir / "homes" / "wim"
    home.mkdir()
    (home / "data.bin").write_bytes(os.urandom(40 * MiB))
    done = ensure_home_filesystem(data_dir, home, 16 * MiB, NOBODY, NOBODY)
    assert not done.enforced and "do not fit" in done.message
    assert not os.path.ismount(home) and not image_of(data_dir, home).exists()
    assert (home / "data.bin").stat().st_size == 40 * MiB


def test_a_platform_user_cannot_write_past_their_quota() -> None:
    """The reported case, end to end: a 50 MiB quota, a 300 MiB write from the server's
    own account; and the home (and its image) survive a restart of the platform."""
    settings = {
        "auth": {"type": "shared-password"},
        "quotas": {"defaults": {"home_storage": "50Mi"}},
    }
    with start_platform(settings) as platform:
        client = HubClient(platform.url)
        assert client.login("ulrik", SHARED_PASSWORD).status_code == 200
        assert client.spawn("ulrik", {"profile": "small"}).status_code in (201, 202)
        home = platform.data_dir / "homes" / "ulrik"
        assert os.path.ismount(home)
        assert "home limit 50 MiB: enforced" in platform.hub_log()
        result = write_as(home.stat().st_uid, home / "big", 300)
        assert "No space left on device" in result.stderr
        assert (home / "big").stat().st_size <= 50 * MiB
        data_dir = platform.data_dir
    assert not os.path.ismount(home), "sdl up's stop unmounts the homes"
    assert image_of(data_dir, home).exists()


# -- the platform's reserve: the data dir on a small file system of its own, so that
# its free space is real and known
@pytest.fixture
def small_data_dir() -> Iterator[Path]:
    """A data dir that is a 300 MiB ext4 file system (loop-mounted)."""
    path = make_data_dir("sdl-home-reserve-")
    disk = path.with_suffix(".disk")
    with disk.open("wb") as handle:
        handle.truncate(300 * MiB)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(disk)], check=True)
    subprocess.run(["mount", "-o", "loop", str(disk), str(path)], check=True)
    path.chmod(0o755)
    (path / "homes").mkdir()
    yield path
    unmount_homes(path)
    subprocess.run(["umount", str(path)], check=True)
    disk.unlink()
    shutil.rmtree(path, ignore_errors=True)


def free(path: Path) -> int:
    return shutil.disk_usage(path).free


def test_an_image_takes_its_whole_size_from_the_disk_when_made_and_grown(
    small_data_dir: Path,
) -> None:
    """Sparse images let N users with 10 GiB each fill the shared disk together."""
    home = small_data_dir / "homes" / "xia"
    home.mkdir()
    before = free(small_data_dir)
    ensure_home_filesystem(small_data_dir, home, 64 * MiB, NOBODY, NOBODY, reserve=32 * MiB)
    image = image_of(small_data_dir, home)
    assert image.stat().st_blocks * 512 >= 64 * MiB  # allocated, not sparse
    assert before - free(small_data_dir) >= 64 * MiB
    grown = ensure_home_filesystem(
        small_data_dir, home, 128 * MiB, NOBODY, NOBODY, reserve=32 * MiB
    )
    assert "grown" in grown.message
    assert image.stat().st_blocks * 512 >= 128 * MiB
    assert before - free(small_data_dir) >= 128 * MiB
    assert write_as(NOBODY, home / "data", 100).returncode == 0


def test_a_limit_that_eats_into_the_reserve_is_refused_and_changes_nothing(
    small_data_dir: Path,
) -> None:
    home = small_data_dir / "homes" / "yann"
    home.mkdir()
    (home / "notes.txt").write_text("kept")
    os.chown(home, NOBODY, NOBODY)
    available = free(small_data_dir)  # about 280 MiB
    with pytest.raises(HomeSpaceError) as refused:
        ensure_home_filesystem(
            small_data_dir, home, 150 * MiB, NOBODY, NOBODY, reserve=200 * MiB, user="yann"
        )
    message = str(refused.value)
    assert message.startswith(
        f"home limit 150 MiB for yann: the platform's disk has {available / MiB:.0f} MiB free "
        "and keeps 200 MiB for PostgreSQL and the hub"
    )
    assert "free space" in message and "sdl quota set user yann home_storage=" in message
    assert not image_of(small_data_dir, home).exists() and not os.path.ismount(home)
    assert not (small_data_dir / "home-images").exists()
    assert [entry.name for entry in home.iterdir()] == ["notes.txt"]
    assert (home / "notes.txt").read_text() == "kept"
    assert free(small_data_dir) == available
    # the default reserve (2 GiB) is more than this whole disk: even the smallest image
    with pytest.raises(HomeSpaceError, match=r"keeps 2\.00 GiB for PostgreSQL"):
        ensure_home_filesystem(small_data_dir, home, 16 * MiB, NOBODY, NOBODY)
    # within the reserve it is made, and the home's files move in
    done = ensure_home_filesystem(small_data_dir, home, 64 * MiB, NOBODY, NOBODY, reserve=200 * MiB)
    assert done.enforced and (home / "notes.txt").read_text() == "kept"


def test_growing_past_the_reserve_is_refused_and_the_home_stays_as_it_was(
    small_data_dir: Path,
) -> None:
    home = small_data_dir / "homes" / "zoe"
    home.mkdir()
    ensure_home_filesystem(small_data_dir, home, 64 * MiB, NOBODY, NOBODY, reserve=100 * MiB)
    assert write_as(NOBODY, home / "a", 10).returncode == 0
    image = image_of(small_data_dir, home)
    size, available = image.stat().st_size, free(small_data_dir)
    with pytest.raises(HomeSpaceError, match="home limit 200 MiB for zoe: "):
        ensure_home_filesystem(
            small_data_dir, home, 200 * MiB, NOBODY, NOBODY, reserve=100 * MiB, user="zoe"
        )
    assert image.stat().st_size == size and free(small_data_dir) == available
    assert os.path.ismount(home) and (home / "a").stat().st_size == 10 * MiB
    assert write_as(NOBODY, home / "b", 10).returncode == 0  # still usable
    # a grow that fits is still made
    grown = ensure_home_filesystem(
        small_data_dir, home, 96 * MiB, NOBODY, NOBODY, reserve=100 * MiB
    )
    assert "grown" in grown.message


def spawner_for(data_dir: Path, name: str, reserve: int) -> SdlLocalSpawner:
    c = Config()
    c.SdlLocalSpawner.data_dir = str(data_dir)
    c.SdlLocalSpawner.os_user_prefix = account_prefix(data_dir)
    c.SdlLocalSpawner.platform_reserve = reserve
    return SdlLocalSpawner(config=c, user=SampleUser(name))


def test_the_spawn_says_what_the_home_gets_or_is_refused_saying_why(
    small_data_dir: Path,
) -> None:
    """The local spawner's own step: a home without a limit is said to be able to fill
    the disk; a limit the disk cannot hold refuses the spawn with the message as it is."""
    spawner = spawner_for(small_data_dir, "ada", reserve=200 * MiB)
    try:
        spawner._prepare_home()
        asyncio.run(spawner._limit_home())
        assert "no size limit" in spawner.spawn_log[-1]
        assert "can fill that disk for every user" in spawner.spawn_log[-1]
        spawner.home_limit = 150 * MiB
        with pytest.raises(web.HTTPError) as refused:
            asyncio.run(spawner._limit_home())
        assert refused.value.status_code == 507
        shown = getattr(refused.value, "jupyterhub_message", "")
        assert shown.startswith("home limit 150 MiB for ada: the platform's disk has ")
        assert not image_of(small_data_dir, spawner.home).exists()
    finally:
        subprocess.run(["userdel", spawner.os_user], capture_output=True)
