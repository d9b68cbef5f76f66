"""The processes `sdl up` runs and reaps: its parts, each in a session of its own with
its log, and every process of this platform, found by its environment."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Collection
from pathlib import Path

import psutil

from hub.ossetup import private_file
from hub.settings import Settings


def terminate_within(timeout: float) -> Callable[[subprocess.Popen[bytes]], None]:
    def stop(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # anything the child started in its group goes with it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    return stop


def processes_where(matches: Callable[[dict[str, str]], bool]) -> list[psutil.Process]:
    """Every process but this one whose environment `matches` (unreadable ones skipped)."""
    me, found = os.getpid(), []
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
        except (psutil.Error, OSError):
            continue
        if proc.pid != me and matches(env):
            found.append(proc)
    return found


def platform_processes(settings: Settings, servers_only: bool = False) -> list[psutil.Process]:
    """Processes of this platform (by their environment), but `sdl up` itself."""
    markers = {("SDL_ARCHIVE_DIR", str(settings.archive)), ("SDL_DATA_DIR", str(settings.data_dir))}

    def ours(env: dict[str, str]) -> bool:
        marked = any(env.get(key) == value for key, value in markers)
        return marked and (not servers_only or "JUPYTERHUB_USER" in env)

    return processes_where(ours)


def stop_processes(procs: list[psutil.Process], grace: float = 5) -> None:
    """SIGTERM them (kernels shut down cleanly), SIGKILL what is left after `grace`."""
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def stop_user_servers(settings: Settings, grace: float) -> int:
    """SIGTERM every user server (kernels shut down cleanly), SIGKILL what is left."""
    servers = platform_processes(settings, servers_only=True)
    stop_processes(servers, grace)
    return len(servers)


def reap_user_servers(settings: Settings) -> None:
    """Kill any process of this platform the hub did not stop: user servers, services."""
    for proc in platform_processes(settings):
        with contextlib.suppress(psutil.Error):
            proc.kill()


def spawn_logged(
    command: list[str],
    log: Path,
    env: dict[str, str],
    cwd: Path,
    pass_fds: tuple[int, ...] = (),
) -> subprocess.Popen[bytes]:
    with private_file(log).open("ab") as out:
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            pass_fds=pass_fds,
        )


def reap_orphaned_services(settings: Settings, spare: Collection[str] = ()) -> int:
    """Kill the services a dead hub left running (a hub killed outright cannot stop the
    idle culler or the quota and workshop services it started): before a hub (re)starts,
    a service process of this platform whose parent is neither `sdl up` nor another of
    its processes is an orphan, and the new hub starts its own. Services named in `spare`
    are not the hub's (Dask Gateway runs beside it; its clusters outlive its crashes).
    Returns how many were killed."""
    ours = platform_processes(settings)
    parents = {os.getpid(), *(proc.pid for proc in ours)}  # a live part's children stay
    orphans = []
    for proc in ours:
        try:
            env, parent = proc.environ(), proc.ppid()
        except psutil.Error:
            continue
        name = env.get("JUPYTERHUB_SERVICE_NAME")  # set for services, never for servers
        if name and name not in spare and parent not in parents:
            orphans.append(proc)
    for proc in orphans:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    # gone before the new hub starts its own on the same ports (sdl up picked them once)
    deadline = time.monotonic() + 10
    while any(map(_running, orphans)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(orphans)


def _running(proc: psutil.Process) -> bool:
    """Not yet exited: a zombie's sockets are closed (and only its new parent, not we,
    can reap it, so waiting for its PID to go could last)."""
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
