"""Servers' ports: chosen where no user may bind, bound by the hub, served by the server.

The pool is read from the kernel and /etc/services of this machine; the server test
starts a real Jupyter Server with the workspace extension on an inherited socket.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from hub.ports import (
    LISTEN_FD_ENV,
    UNPROTECTED_RANGE,
    PortPool,
    bind_server_socket,
    port_pool,
)
from tests.support.platform import wait_until

REPO = Path(__file__).resolve().parent.parent


def test_as_root_servers_get_privileged_ports_that_no_service_is_named_for() -> None:
    pool = port_pool(as_root=True, unprivileged_start=1024)
    assert pool.protected
    assert pool.ports and max(pool.ports) < 1024 and min(pool.ports) >= 600
    named = set()
    for port in range(600, 1024):
        with contextlib.suppress(OSError):  # not named
            socket.getservbyport(port, "tcp")
            named.add(port)
    assert not named & set(pool.ports), "left to their services"
    assert "which no user may bind" in pool.describe()


@pytest.mark.parametrize(
    ("as_root", "start", "why"),
    [
        (True, 0, "net.ipv4.ip_unprivileged_port_start is 0"),
        (False, 1024, "the platform does not run as root"),
    ],
)
def test_where_users_may_bind_low_ports_the_pool_says_it_is_unprotected(
    as_root: bool, start: int, why: str
) -> None:
    pool = port_pool(as_root=as_root, unprivileged_start=start)
    assert not pool.protected and pool.ports == tuple(UNPROTECTED_RANGE)
    assert pool.describe() == f"ports 20000-31999, which any user may bind ({why})"


def test_a_held_port_is_never_handed_out_twice() -> None:
    first = bind_server_socket(port_pool(as_root=False))
    port = first.getsockname()[1]
    try:
        with pytest.raises(RuntimeError, match=f"no free port among ports {port}-{port}"):
            bind_server_socket(PortPool((port,), False, "test"))
    finally:
        first.close()


def test_the_server_serves_on_the_socket_the_hub_bound(tmp_path: Path) -> None:
    """Jupyter Server with the workspace extension adopts the inherited socket instead of
    binding (it would fail: its own process holds the port)."""
    listening = bind_server_socket(port_pool(as_root=False))
    port = listening.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--ServerApp.jpserver_extensions={'hub.workspace': True}",
        "--IdentityProvider.token=secret",
        f"--ServerApp.root_dir={tmp_path}",
        f"--port={port}",
        "--no-browser",
        *(["--allow-root"] if os.geteuid() == 0 else []),
    ]
    env = {**os.environ, LISTEN_FD_ENV: str(listening.fileno()), "PYTHONPATH": str(REPO)}
    server = subprocess.Popen(
        command,
        env=env,
        pass_fds=(listening.fileno(),),
        stderr=subprocess.PIPE,
        text=True,
    )
    listening.close()  # as the spawner does: the server holds its own copy

    def status() -> requests.Response | None:
        try:
            return requests.get(
                f"http://127.0.0.1:{port}/api/status",
                headers={"Authorization": "token secret"},
                timeout=5,
            )
        except (requests.ConnectionError, requests.Timeout):
            return None  # the socket accepts from the start; the server answers once up

    try:
        reply = wait_until(status, timeout=60, what="the server answers on the hub's port")
        assert reply.status_code == 200 and "last_activity" in reply.json()
    finally:
        server.terminate()
        _, log = server.communicate(timeout=30)
    assert f"serving on port {port}, bound by the hub" in log
