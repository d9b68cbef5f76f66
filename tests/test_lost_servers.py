"""A server a dead hub lost track of is stopped by the restarted hub's poll, and nothing
else is. tests/test_supervision.py kills the hub mid-spawn and lands in that window in
most runs, not all; here the window is made by hand: a server record, no pid."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from jupyterhub.objects import Server
from traitlets.config import Config

from hub.kube.render import SampleUser
from hub.spawners.local import SdlLocalSpawner

SLEEP = [sys.executable, "-c", "import time; time.sleep(120)"]


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


def workspace(
    procs: list[subprocess.Popen[bytes]], user: str, archive: Path, server: str = ""
) -> subprocess.Popen[bytes]:
    """A process with the environment every workspace process of `user` has."""
    env = {
        **os.environ,
        "JUPYTERHUB_USER": user,
        "JUPYTERHUB_SERVER_NAME": server,
        "SDL_ARCHIVE_DIR": str(archive),
    }
    proc = subprocess.Popen(SLEEP, env=env)
    procs.append(proc)
    return proc


def spawner_of(user: str, archive: Path) -> SdlLocalSpawner:
    c = Config()
    c.SdlLocalSpawner.archive_dir = str(archive)
    return SdlLocalSpawner(config=c, user=SampleUser(user))


def alive(proc: subprocess.Popen[bytes]) -> bool:
    try:
        return psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_restarted_hubs_poll_stops_the_lost_server_and_nothing_else(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    archive, elsewhere = tmp_path / "archive", tmp_path / "other-platform-archive"
    lost = workspace(started, "gus", archive)
    its_kernel = workspace(started, "gus", archive)  # kernels inherit the environment
    keep = [
        workspace(started, "fay", archive),  # another user's server
        workspace(started, "gus", archive, server="gpu"),  # gus's named server
        workspace(started, "gus", elsewhere),  # gus on another platform of this machine
    ]
    spawner = spawner_of("gus", archive)
    spawner.server = Server()  # the hub's record of the server, with no pid stored
    assert asyncio.run(spawner.poll()) is not None  # stopped, as the hub believes
    for proc in (lost, its_kernel):
        proc.wait(timeout=10)
    assert [alive(proc) for proc in keep] == [True, True, True]


def test_a_server_the_hub_knows_or_is_starting_is_left_alone(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    archive = tmp_path / "archive"
    server = workspace(started, "gus", archive)
    spawner = spawner_of("gus", archive)
    spawner.server = Server()
    spawner._spawn_pending = True  # this hub's own spawn, before start returns
    asyncio.run(spawner.poll())
    assert alive(server)
    spawner._spawn_pending = False
    spawner.pid = server.pid  # a server whose pid the hub stored
    assert asyncio.run(spawner.poll()) is None and alive(server)
