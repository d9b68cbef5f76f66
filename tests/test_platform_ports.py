"""The platform's parts on ports no user can take, on a real `sdl up` as root.

The review's finding 4: a user's code may bind any free unprivileged port, so one who
bound a part's port while that part restarts would answer in its place (a service's
users would send it their OAuth logins and tokens). The hub's services listened on
free unprivileged ports; picked like the other parts' privileged ones, one at a time,
two parts drew the same port in about a quarter of starts, and the one that bound
second never came up (the quota service "not reachable after 60s").
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator

import psutil
import pytest
import requests

from hub.db.embedded import EmbeddedPostgres
from hub.ports import PLATFORM_PORTS, unprivileged_port_start
from hub.runtime import read_runtime
from tests.support.platform import RunningPlatform, start_platform, wait_until
from tests.support.squat import bind_as

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="privileged ports and other OS users need root"
)

SERVICES = ("quotas", "workshops", "archive")


@pytest.fixture(scope="module")
def platform() -> Iterator[RunningPlatform]:
    with start_platform() as running:
        wait_until(lambda: serving(running), 90, "every service listening and routed")
        yield running


def service_processes(platform: RunningPlatform) -> dict[str, list[psutil.Process]]:
    """This platform's processes of each of the hub's services (by their environment)."""
    found: dict[str, list[psutil.Process]] = {name: [] for name in SERVICES}
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            env = proc.environ()
            name = env.get("JUPYTERHUB_SERVICE_NAME", "")
            if env.get("SDL_DATA_DIR") == str(platform.data_dir) and name in found:
                found[name].append(proc)
    return found


def listening(proc: psutil.Process) -> set[int]:
    try:
        connections = proc.net_connections("tcp")
    except psutil.Error:
        return set()
    return {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN}


def routed(platform: RunningPlatform, name: str) -> bool:
    try:
        health = requests.get(f"{platform.url}/services/{name}/health", timeout=5)
    except requests.RequestException:
        return False
    return health.status_code == 200


def serving(platform: RunningPlatform) -> dict[str, tuple[int, int]] | None:
    """Each service's one process and the one port it listens on, once each answers
    through the proxy; None until then."""
    found = {}
    for name, procs in service_processes(platform).items():
        ports = [listening(proc) for proc in procs]
        if len(procs) != 1 or len(ports[0]) != 1 or not routed(platform, name):
            return None
        found[name] = (procs[0].pid, ports[0].pop())
    return found


def served_anew(
    platform: RunningPlatform, before: dict[str, tuple[int, int]]
) -> dict[str, int] | None:
    """Each service's port once every one runs in a new process; None until then."""
    now = serving(platform)
    if now is None or any(now[name][0] == before[name][0] for name in now):
        return None
    return ports_of(now)


def ports_of(services: dict[str, tuple[int, int]]) -> dict[str, int]:
    return {name: port for name, (_, port) in services.items()}


def test_every_part_listens_on_a_privileged_port_of_its_own(platform: RunningPlatform) -> None:
    services = serving(platform)
    assert services is not None
    ports = ports_of(services)
    limit = unprivileged_port_start()
    for name, port in ports.items():
        assert port < limit and port in PLATFORM_PORTS, f"{name} listens on {port}"
    runtime = read_runtime(platform.data_dir)
    postgres = EmbeddedPostgres(platform.data_dir).running()
    assert postgres is not None
    ports |= {
        "hub": runtime.hub_port,
        "gateway": runtime.gateway_port,
        "gateway-tcp": runtime.gateway_tcp_port,
        "postgres": postgres.port,
    }
    assert all(port in PLATFORM_PORTS for port in ports.values()), ports
    assert len(set(ports.values())) == len(ports), f"two parts on one port: {ports}"


def test_no_user_takes_a_services_port_while_the_hub_restarts_it(
    platform: RunningPlatform,
) -> None:
    before = serving(platform)
    assert before is not None
    for pid, _ in before.values():  # all three down at once
        os.kill(pid, signal.SIGKILL)
    squats = {name: bind_as("nobody", port) for name, (_, port) in before.items()}
    assert squats == {name: "refused: Permission denied" for name in SERVICES}
    # the hub notices at its next poll of each (up to 30 s) and starts it on the same port
    after = wait_until(lambda: served_anew(platform, before), 120, "every service restarted")
    assert after == ports_of(before)


def test_a_restarted_hub_starts_its_services_on_the_same_ports(platform: RunningPlatform) -> None:
    """The dead hub's services are gone before the new hub's bind the same ports."""
    before = serving(platform)
    assert before is not None
    hub = next(
        p
        for p in psutil.process_iter(["cmdline", "ppid"])
        if p.info["ppid"] == platform.proc.pid
        and "-m jupyterhub" in " ".join(p.info["cmdline"] or [])
    )
    hub.kill()
    wait_until(lambda: "JupyterHub restarted" in platform.log(), 180, "the hub back")
    after = wait_until(lambda: served_anew(platform, before), 90, "the new hub's services")
    assert after == ports_of(before)
