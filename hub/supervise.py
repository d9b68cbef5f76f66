"""Keeping `sdl up`'s parts alive: a part that dies is restarted, with backoff.

The proxy, PostgreSQL and JupyterHub each run as a child of `sdl up`. When one exits
on its own it is started again (1 s, 2 s, 4 s ... at most 30 s apart); one that dies
more than `MAX_RESTARTS` times in `RESTART_WINDOW` seconds stops the platform, since
restarting it again would only hide the problem. Users lose nothing on the way:

- the proxy keeps its routes only in memory, so a copy of its routing table is taken
  every second and given back to the restarted proxy at once; a route added in the
  last second before a crash comes back at the hub's own route check, once a minute
  (`JupyterHub.last_activity_interval`);
- the hub does not stop user servers when it exits (`cleanup_servers = False`), and
  finds them running again when it starts (their processes and kernels never stop);
- PostgreSQL comes back on the same port, so every login URL stays valid;
- a spawn pending meanwhile completes (its quota check, workshop account lookup and
  database login wait for PostgreSQL, hub.db.wait), but a hub that dies mid-spawn
  drops it, and the server it had started is stopped when the hub is back
  (hub.spawners.lost_servers).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

Say = Callable[[str], None]

MAX_RESTARTS = 5
RESTART_WINDOW = 300.0
FIRST_DELAY, MOST_DELAY = 1.0, 30.0


@dataclass
class Backoff:
    """When to restart a part again, or None once it fails too often to be worth it."""

    failures: list[float] = field(default_factory=list)

    def next_delay(self, now: float) -> float | None:
        self.failures = [t for t in self.failures if now - t < RESTART_WINDOW] + [now]
        if len(self.failures) > MAX_RESTARTS:
            return None
        return min(MOST_DELAY, FIRST_DELAY * 2 ** (len(self.failures) - 1))


class RouteKeeper:
    """A copy of the proxy's routing table (configurable-http-proxy's REST API)."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.headers = {"Authorization": f"token {token}"}
        self.routes: dict[str, dict[str, Any]] = {}

    def snapshot(self) -> None:
        """Take the current table; a proxy that does not answer keeps the last copy."""
        with contextlib.suppress(requests.RequestException, ValueError):
            reply = requests.get(f"{self.api_url}/api/routes", headers=self.headers, timeout=2)
            if reply.status_code == 200:
                self.routes = dict(reply.json())

    def wait_answering(self, timeout: float) -> bool:
        """Until the proxy answers its API (its socket accepts before: `sdl up` holds it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                reply = requests.get(f"{self.api_url}/api/routes", headers=self.headers, timeout=2)
                if reply.status_code == 200:
                    return True
            time.sleep(0.2)
        return False

    def restore(self) -> int:
        """Give every route of the copy back to a (restarted) proxy; how many it took."""
        given = 0
        for path, route in self.routes.items():
            body = {k: v for k, v in route.items() if k != "last_activity"}
            with contextlib.suppress(requests.RequestException):
                reply = requests.post(
                    f"{self.api_url}/api/routes{path}", json=body, headers=self.headers, timeout=5
                )
                given += reply.status_code in (200, 201)
        return given


@dataclass
class Restart:
    """How to start a part again, and what to do once it runs."""

    start: Callable[[], Any]  # -> subprocess.Popen
    then: Callable[[], None] = lambda: None
    backoff: Backoff = field(default_factory=Backoff)


def wait_or_stop(seconds: float, stopping: Callable[[], bool]) -> bool:
    """Sleep up to `seconds`; True if a stop was asked for meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if stopping():
            return True
        time.sleep(0.1)
    return stopping()


ROUTE_SNAPSHOT_SECONDS = 1.0  # a local GET of a small table: cheap


# What is supervised, as hub.local builds it (Child, Platform); described here so that
# this module needs nothing of the module that imports it.
class Child(Protocol):
    name: str
    proc: subprocess.Popen[bytes]
    restart: Restart | None


class Platform(Protocol):
    routes: RouteKeeper | None

    def failed_child(self) -> Child | None: ...

    def stop(self, say: Say) -> None: ...


def stop_on_signals() -> Callable[[], bool]:
    """From now on Ctrl-C (SIGINT) and SIGTERM only ask for a stop; the function returned
    says whether one was asked for, so the caller stops its parts in order."""
    asked: list[int] = []

    def request_stop(signum: int, frame: object) -> None:
        asked.append(signum)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return lambda: bool(asked)


def run_until_stopped(platform: Platform, say: Say) -> int:
    """Block until Ctrl-C / SIGTERM, restarting a part that dies (hub.supervise); stop
    everything; return the exit code (1 when a part kept dying)."""
    stopping = stop_on_signals()
    code, next_snapshot = 0, 0.0
    while not stopping():
        failed = platform.failed_child()
        if failed is not None and not restart_child(failed, say, stopping):
            code = 1
            break
        if platform.routes is not None and time.monotonic() >= next_snapshot:
            platform.routes.snapshot()
            next_snapshot = time.monotonic() + ROUTE_SNAPSHOT_SECONDS
        time.sleep(0.5)
    platform.stop(say)
    say("stopped")
    return code


def restart_child(child: Child, say: Say, stopping: Callable[[], bool]) -> bool:
    """Start a dead part again after its backoff; False when it should not be."""
    exited = child.proc.returncode
    delay = child.restart.backoff.next_delay(time.monotonic()) if child.restart else None
    if child.restart is None or delay is None:
        say(f"{child.name} exited (code {exited}) too often; stopping the platform")
        return False
    say(f"{child.name} exited unexpectedly (code {exited}); restarting it in {delay:.0f}s")
    if wait_or_stop(delay, stopping):
        return True  # the stop that was asked for takes over
    try:
        child.proc = child.restart.start()
    except Exception as exc:  # e.g. PostgreSQL refuses to start: try again later
        say(f"{child.name} did not start again: {exc}")
        return True
    child.restart.then()
    say(f"{child.name} restarted")
    return True
