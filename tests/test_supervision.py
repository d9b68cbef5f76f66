"""The fault suite: kill the proxy, Dask Gateway, the hub and PostgreSQL of a real
`sdl up` in turn, while a user runs a kernel and a Dask cluster, another user's spawn is
pending and a steady stream of requests goes through the proxy; nothing is lost and
every part comes back.

Recovery times and the failed requests of each kill are printed (speed targets live in
benchmarks, not in tests); what is asserted is that each part restarts, no server and
no kernel is lost (the same server processes, the same kernel id, reachable again
through the proxy), requests succeed again once the part is back, the spawn pending
during the kill ends in a ready server (a hub killed mid-spawn drops it: asked once
more, it works) with exactly one server process for its user, the Dask cluster runs on
(same scheduler process, still known to the gateway), and the stop by SIGTERM leaves
nothing.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
import requests
import sqlalchemy as sa

from hub.spawners.limits import instance_tag
from tests.gateway.support import (
    close_gateways,
    cluster_processes,
    gateway_as,
    server_environment,
)
from tests.support.platform import (
    SHARED_PASSWORD,
    HubClient,
    server_process,
    start_platform,
    wait_until,
)

SETTINGS = {"auth": {"type": "shared-password", "admin_users": ["ada"]}}


def part_pid(data_dir: Path, part: str) -> int:
    """The pid of one of `sdl up`'s children on this data dir."""
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            env = proc.environ() if part != "PostgreSQL" else {}
        except (psutil.Error, OSError):
            continue
        if part == "PostgreSQL" and f"-D {data_dir}/postgres" in cmdline.replace("=", " "):
            return proc.pid
        if env.get("SDL_DATA_DIR") != str(data_dir):
            continue
        if part == "proxy" and "-m hub.proxy" in cmdline:
            return proc.pid
        if part == "JupyterHub" and "-m jupyterhub" in cmdline:
            return proc.pid
        if part == "Dask Gateway" and "-m hub.gateway" in cmdline:
            return proc.pid
    raise AssertionError(f"no {part} process for {data_dir}")


def server_pid(name: str, data_dir: Path) -> int:
    return server_process(name, data_dir).pid


def kernel_ids(url: str, headers: dict[str, str]) -> list[str] | None:
    try:
        reply = requests.get(f"{url}/user/fay/api/kernels", headers=headers, timeout=5)
    except requests.RequestException:
        return None
    return [k["id"] for k in reply.json()] if reply.status_code == 200 else None


def hub_knows_fay(fay: HubClient) -> bool:
    """The hub answers its API and still has fay's server, ready."""
    try:
        reply = fay.api("GET", "/users/fay")
        return reply.status_code == 200 and reply.json()["servers"][""]["ready"] is True
    except (requests.RequestException, ValueError, KeyError):
        return False


def headers_token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("token ")


def cluster_known(gateway: Any, name: str) -> bool:
    try:
        return any(c.name == name and c.status.name == "RUNNING" for c in gateway.list_clusters())
    except Exception:  # the gateway or the hub behind it may still be coming back
        return False


def platform_environs(data_dir: Path) -> list[dict[str, str]]:
    """The environments of this platform's processes (each carries SDL_DATA_DIR)."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            env = proc.environ()
            if env.get("SDL_DATA_DIR") == str(data_dir):
                found.append(env)
    return found


def hub_services(data_dir: Path) -> Counter[str]:
    """How many processes of each service the hub started run now (Dask Gateway and
    its helpers run beside the hub, not under it)."""
    return Counter(
        env["JUPYTERHUB_SERVICE_NAME"]
        for env in platform_environs(data_dir)
        if env.get("JUPYTERHUB_SERVICE_NAME", "dask-gateway") != "dask-gateway"
    )


#: who asks for a server just before each part is killed (a fresh name each time)
NEWCOMERS = {
    "proxy": "gus-proxy",
    "Dask Gateway": "gus-gateway",
    "JupyterHub": "gus-hub",
    "PostgreSQL": "gus-pg",
}
QUIET_AFTER_RECOVERY = 3.0  # seconds of requests that must all succeed once a part is back


class RequestStream:
    """A request through the proxy every 0.2 s, in a thread, as a user's open notebook
    makes them; each one's send time and whether it succeeded."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.headers = url, headers
        self.results: list[tuple[float, bool]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.is_set():
            sent = time.monotonic()
            try:  # a new connection each time: a dead proxy's kept-alive ones are gone
                ok = requests.get(self.url, headers=self.headers, timeout=5).status_code == 200
            except requests.RequestException:
                ok = False
            self.results.append((sent, ok))
            self.stopping.wait(0.2)

    def __enter__(self) -> RequestStream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(10)

    def sent(self, since: float, until: float = math.inf) -> list[tuple[float, bool]]:
        return [(t, ok) for t, ok in list(self.results) if since <= t < until]

    def failed(self, since: float, until: float = math.inf) -> list[float]:
        return [t for t, ok in self.sent(since, until) if not ok]


def server_processes(name: str, data_dir: Path) -> list[psutil.Process]:
    """Every single-user server process of `name` on this platform (not its kernels)."""
    archive, found = str(data_dir / "archive"), []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            env = proc.environ()
        except (psutil.Error, OSError):
            continue
        singleuser = any("jupyterhub-singleuser" in arg for arg in proc.info["cmdline"] or [])
        if (
            singleuser
            and env.get("JUPYTERHUB_USER") == name
            and env.get("SDL_ARCHIVE_DIR") == archive
        ):
            found.append(proc)
    return found


def server_state(client: HubClient, name: str) -> str:
    """The hub's idea of the user's server: ready, pending or none ('' if no answer)."""
    try:
        reply = client.api("GET", f"/users/{name}", timeout=5)
        if reply.status_code != 200:
            return ""
        server = reply.json()["servers"].get("")
    except (requests.RequestException, ValueError, KeyError):
        return ""
    if not server:
        return "none"
    return "ready" if server["ready"] else "pending"


def settled_state(client: HubClient, name: str) -> str | None:
    state = server_state(client, name)
    return state if state in ("ready", "none") else None


def ask_for_server(client: HubClient, name: str) -> threading.Thread:
    """POST the spawn and do not wait for it (the request itself may die with a part)."""

    def post() -> None:
        with contextlib.suppress(requests.RequestException):
            client.api("POST", f"/users/{name}/server", json={"profile": "small"}, timeout=30)

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread


def spawning(part: str, client: HubClient, name: str, data_dir: Path) -> None:
    """Until the moment of the spawn `part` is killed at: PostgreSQL as soon as the hub
    starts the spawn (the database login is made during it), the others once the
    server's process runs (for the hub: before it has stored the server's pid)."""
    if part == "PostgreSQL":
        watcher = HubClient(client.base_url)  # the POST holds the client's own session
        watcher.session.cookies.update(client.session.cookies)
        wait_until(lambda: server_state(watcher, name) == "pending", 60, f"{name}'s spawn", 0.02)
        return
    wait_until(lambda: server_processes(name, data_dir), 60, f"{name}'s server starting", 0.05)


def answers_through_proxy(url: str, name: str, token: str) -> bool:
    try:
        reply = requests.get(
            f"{url}/user/{name}/api/status",
            headers={"Authorization": f"token {token}"},
            timeout=5,
        )
    except requests.RequestException:
        return False
    return reply.status_code == 200


def database_login_works(name: str, data_dir: Path) -> bool:
    """The user's own read-only ODC login, from their server's environment."""
    engine = sa.create_engine(server_process(name, data_dir).environ()["ODC_DEFAULT_DB_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM agdc.dataset")).scalar() is not None
    finally:
        engine.dispose()


def offsets(times: list[float], origin: float) -> str:
    return ", ".join(f"{t - origin:+.1f}s" for t in times) or "none"


def test_each_dead_part_comes_back_and_the_user_loses_nothing() -> None:
    with start_platform(SETTINGS) as platform:
        fay = HubClient(platform.url)
        assert fay.login("fay", SHARED_PASSWORD).status_code == 200
        assert fay.spawn("fay", {"profile": "small"}).status_code in (201, 202)
        headers = {"Authorization": f"token {fay.new_token('fay')}"}
        started = requests.post(
            f"{platform.url}/user/fay/api/kernels",
            json={"name": "python3"},
            headers=headers,
            timeout=60,
        )
        kernel = started.json()["id"]
        server = server_pid("fay", platform.data_dir)
        time.sleep(2)  # sdl up copies the proxy's routes every second: fay's is in the copy
        odc_url = psutil.Process(server).environ()["ODC_DEFAULT_DB_URL"]
        gateway = gateway_as(server_environment("fay", platform.data_dir), headers_token(headers))
        cluster = gateway.submit()  # the cluster's name; its scheduler starts at once
        wait_until(lambda: cluster_known(gateway, cluster), 60, "the new cluster")
        scheduler = {p.pid for p in cluster_processes(cluster)}
        assert scheduler, "the cluster's scheduler runs"
        servers = {"fay": server}  # every ready server, and its process: none may be lost
        probe_url = f"{platform.url}/user/fay/api/kernels/{kernel}"
        with RequestStream(probe_url, headers) as stream:
            part_began = time.monotonic()
            for part in ("proxy", "Dask Gateway", "JupyterHub", "PostgreSQL"):
                # a spawn pending when the part dies: the newcomer's server is starting
                name = NEWCOMERS[part]
                newcomer = HubClient(platform.url)
                assert newcomer.login(name, SHARED_PASSWORD).status_code == 200
                asked = ask_for_server(newcomer, name)
                spawning(part, newcomer, name, platform.data_dir)
                before = part_pid(platform.data_dir, part)
                os.kill(before, signal.SIGKILL)
                killed = time.monotonic()
                wait_until(lambda p=part: f"{p} restarted" in platform.log(), 60, f"{part} back")
                wait_until(
                    lambda: kernel in (kernel_ids(platform.url, headers) or []), 60, "the kernel"
                )
                back = time.monotonic() - killed
                assert part_pid(platform.data_dir, part) != before
                wait_until(lambda: hub_knows_fay(fay), 60, "the hub's API")
                recovered = time.monotonic()  # from now on every request must succeed
                lost_servers = sorted(
                    n
                    for n, pid in servers.items()
                    if pid not in {p.pid for p in server_processes(n, platform.data_dir)}
                )
                lost_kernels = 0 if kernel in (kernel_ids(platform.url, headers) or []) else 1
                assert (lost_servers, lost_kernels) == ([], 0)
                if part == "JupyterHub":  # the dead hub's services are gone, the new hub's run
                    services = wait_until(
                        lambda: (
                            hub_services(platform.data_dir)["idle-culler"] == 1
                            and hub_services(platform.data_dir)
                        ),
                        60,
                        "one idle culler",
                    )
                    assert set(services.values()) == {1}, services
                # the pending spawn ends in a ready server; only a dead hub may drop it
                asked.join(60)
                state = wait_until(
                    lambda n=name, c=newcomer: settled_state(c, n), 120, f"{name}'s spawn to end"
                )
                if state == "none":
                    assert part == "JupyterHub", f"the spawn pending while {part} died was dropped"
                    assert newcomer.spawn(name, {"profile": "small"}).status_code in (201, 202)
                token = newcomer.new_token(name)
                wait_until(
                    lambda n=name, t=token: answers_through_proxy(platform.url, n, t),
                    30,
                    f"{name}'s server through the proxy",
                )
                # exactly one server process: none left behind by a spawn the hub lost
                processes = server_processes(name, platform.data_dir)
                assert len(processes) == 1, f"{name}'s servers: {[p.pid for p in processes]}"
                servers[name] = processes[0].pid
                assert database_login_works(name, platform.data_dir)
                # the same cluster, still running and known to the (maybe restarted) gateway
                assert {p.pid for p in cluster_processes(cluster)} == scheduler
                wait_until(lambda: cluster_known(gateway, cluster), 60, "the cluster")
                time.sleep(max(0.0, recovered + QUIET_AFTER_RECOVERY - time.monotonic()))
                part_ended = time.monotonic()
                failed = stream.failed(part_began, part_ended)
                print(
                    f"{part}: the user's kernel answered again {back:.1f}s after the kill; "
                    f"lost servers {len(lost_servers)}, lost kernels {lost_kernels}, "
                    f"failed requests {len(failed)} ({part}) of "
                    f"{len(stream.sent(part_began, part_ended))}, at {offsets(failed, killed)}; "
                    f"{name}'s pending spawn: "
                    + ("dropped, asked again" if state == "none" else "completed")
                )
                after = stream.failed(recovered, part_ended)
                assert after == [], f"{part}: requests failed once back: {offsets(after, killed)}"
                part_began = part_ended
        gateway.stop_cluster(cluster)
        close_gateways()
        # the workspace's own database login works against the restarted PostgreSQL
        engine = sa.create_engine(odc_url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM agdc.dataset")).scalar() >= 0
        engine.dispose()
        # systemd stops services with SIGTERM: the same clean stop as Ctrl-C
        started = time.monotonic()
        os.killpg(platform.proc.pid, signal.SIGTERM)
        assert platform.proc.wait(60) == 0, platform.log()[-3000:]
        print(f"stop by SIGTERM took {time.monotonic() - started:.1f}s")
    assert not any(
        p.info["cmdline"] and str(platform.data_dir) in " ".join(p.info["cmdline"])
        for p in psutil.process_iter(["cmdline"])
    )
    assert platform_environs(platform.data_dir) == [], "a process of the platform outlived it"
    tag = instance_tag(platform.data_dir)
    root = Path("/sys/fs/cgroup")
    left = [*root.glob(f"*/sdl/*-{tag}"), *root.glob(f"sdl/*-{tag}")]
    assert left == [], "server cgroups left after the stop"
