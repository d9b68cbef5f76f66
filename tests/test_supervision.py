"""The fault suite: kill the proxy, Dask Gateway, the hub and PostgreSQL of a real
`sdl up` in turn, while a user runs a kernel and a Dask cluster; nothing is lost and
every part comes back.

Recovery times are printed (speed targets live in benchmarks, not in tests); what is
asserted is that each part restarts, the user's server (same process) and kernel (same
id) are reachable again through the proxy, their cluster runs on (same scheduler
process, still known to the gateway), and the stop by SIGTERM leaves nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
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
        for part in ("proxy", "Dask Gateway", "JupyterHub", "PostgreSQL"):
            before = part_pid(platform.data_dir, part)
            os.kill(before, signal.SIGKILL)
            killed = time.monotonic()
            wait_until(lambda p=part: f"{p} restarted" in platform.log(), 60, f"{part} back")
            wait_until(
                lambda: kernel in (kernel_ids(platform.url, headers) or []), 60, "the kernel"
            )
            back = time.monotonic() - killed
            print(f"{part}: the user's kernel answered again {back:.1f}s after the kill")
            assert part_pid(platform.data_dir, part) != before
            assert server_pid("fay", platform.data_dir) == server  # the same server process
            wait_until(lambda: hub_knows_fay(fay), 60, "the hub's API")
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
            # the same cluster, still running and known to the (maybe restarted) gateway
            assert {p.pid for p in cluster_processes(cluster)} == scheduler
            wait_until(lambda: cluster_known(gateway, cluster), 60, "the cluster")
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
