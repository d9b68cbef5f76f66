"""A hard home limit: the quota's `home_storage` as a file system of the home's own.

Before, the limit was checked at spawn only: with 50 MiB, a user wrote 300 MiB at once.
Real ext4 images, real loop mounts, real OS accounts (as root, as CI runs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.spawners.home_fs import (
    can_mount_images,
    ensure_home_filesystem,
    image_of,
    unmount_homes,
)
from tests.support.platform import SHARED_PASSWORD, HubClient, make_data_dir, start_platform

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
    # the platform's own file system took at most the image's used blocks
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
