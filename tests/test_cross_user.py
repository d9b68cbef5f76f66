"""The cross-user matrix: every way one user (bob) might reach another's (alice's)
server, home, database login, Dask clusters, files and processes, each refused.

One real `sdl up` runs both users' servers, each under its own OS account (as root, as
CI runs), and alice a Dask cluster. Each row is one attempt, made as bob would make it:
with bob's hub token or browser session, or from bob's OS account (`runuser`), the way
code in his notebook would.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
import sqlalchemy as sa

from tests.gateway.support import close_gateways, gateway_as, server_environment
from tests.support.kernels import kernel_ws_url, run_cell
from tests.support.platform import (
    SHARED_PASSWORD,
    HubClient,
    RunningPlatform,
    server_process,
    start_platform,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="OS accounts per user need root")

SETTINGS = {"auth": {"type": "shared-password"}}


@dataclass
class World:
    platform: RunningPlatform
    alice: HubClient
    bob: HubClient
    alice_token: str
    bob_token: str
    alice_env: dict[str, str]
    bob_env: dict[str, str]
    alice_account: str
    bob_account: str
    alice_server_pid: int
    alice_cluster: str
    bob_gateway: Any


def start_user(platform: RunningPlatform, name: str) -> tuple[HubClient, str]:
    client = HubClient(platform.url)
    assert client.login(name, SHARED_PASSWORD).status_code == 200
    assert client.spawn(name, {"profile": "small"}).status_code in (201, 202)
    return client, client.new_token(name)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with start_platform(SETTINGS) as platform:
        alice, alice_token = start_user(platform, "alice")
        bob, bob_token = start_user(platform, "bob")
        put = alice.session.put(
            f"{platform.url}/user/alice/api/contents/secret.txt",
            json={"type": "file", "format": "text", "content": "alice's"},
            headers={"Authorization": f"token {alice_token}"},
            timeout=30,
        )
        assert put.status_code == 201
        alice_env = server_environment("alice", platform.data_dir)
        bob_env = server_environment("bob", platform.data_dir)
        alice_gateway = gateway_as(alice_env, alice_token)
        cluster = alice_gateway.submit()
        server = server_process("alice", platform.data_dir)
        yield World(
            platform,
            alice,
            bob,
            alice_token,
            bob_token,
            alice_env,
            bob_env,
            server.username(),
            server_process("bob", platform.data_dir).username(),
            server.pid,
            cluster,
            gateway_as(bob_env, bob_token),
        )
        alice_gateway.stop_cluster(cluster)
        close_gateways()


def as_bob(world: World, *command: str) -> subprocess.CompletedProcess[str]:
    """A command run as bob's OS account, as his notebook's code would run."""
    return subprocess.run(
        ["runuser", "-u", world.bob_account, "--", *command],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/tmp",
    )


def bob_python(world: World, code: str) -> subprocess.CompletedProcess[str]:
    return as_bob(world, sys.executable, "-c", code)


# -- the hub and alice's server ---------------------------------------------------------
def test_bobs_token_opens_nothing_of_alices_server(world: World) -> None:
    url = f"{world.platform.url}/user/alice/api/contents/secret.txt"
    reply = requests.get(url, headers={"Authorization": f"token {world.bob_token}"}, timeout=30)
    assert reply.status_code in (403, 404), reply.status_code


def test_bobs_browser_session_opens_nothing_of_alices_server(world: World) -> None:
    reply = world.bob.session.get(
        f"{world.platform.url}/user/alice/api/contents/secret.txt", timeout=30
    )
    assert reply.status_code in (403, 404) or "alice's" not in reply.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/users/alice"),
        ("POST", "/users/alice/tokens"),
        ("DELETE", "/users/alice/server"),
        ("POST", "/users/alice/server"),
        ("PATCH", "/users/alice"),
    ],
)
def test_bobs_token_cannot_act_on_alice_in_the_hub(world: World, method: str, path: str) -> None:
    reply = requests.request(
        method,
        f"{world.platform.url}/hub/api{path}",
        headers={"Authorization": f"token {world.bob_token}"},
        json={"admin": True} if method == "PATCH" else {},
        timeout=30,
    )
    assert reply.status_code in (403, 404), f"{method} {path}: {reply.status_code}"
    assert world.alice.api("GET", "/users/alice").json()["servers"][""]["ready"]


def test_bob_cannot_talk_to_alices_server_port_directly(world: World) -> None:
    """Around the proxy: straight to the port alice's server listens on, from bob's
    account. The server asks for alice's own hub login, so bob gets nothing."""
    ports = {
        c.laddr.port
        for c in psutil.Process(world.alice_server_pid).net_connections("tcp")
        if c.status == psutil.CONN_LISTEN
    }
    assert ports, "alice's server listens on a port"
    for port in ports:
        code = (
            "import urllib.request, urllib.error\n"
            f"url = 'http://127.0.0.1:{port}/user/alice/api/contents/secret.txt'\n"
            "req = urllib.request.Request(url, headers={'Authorization': 'token "
            f"{world.bob_token}'}})\n"
            "try:\n"
            "    print(urllib.request.urlopen(req, timeout=20).read().decode())\n"
            "except urllib.error.HTTPError as e:\n"
            "    print('HTTP', e.code)\n"
        )
        result = bob_python(world, code)
        assert "alice's" not in result.stdout and "HTTP 403" in result.stdout, result


#: Bob's notebook binds every port it can: the range the spawner once picked from, and the
#: privileged ports the hub now binds servers on. It prints what it holds, then holds it.
SQUAT = """
import resource, socket, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
for port in [*range(20000, 32000), *range(512, 1024)]:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        s.listen(1)
        held.append(s)
    except OSError:
        s.close()
low = [s for s in held if s.getsockname()[1] < 1024]
print(len(held) - len(low), len(low), flush=True)
time.sleep(300)
"""


def test_bob_holding_every_port_he_can_stops_no_spawn(world: World) -> None:
    """Finding 4: one user bound all 12,000 ports of the spawner's range and no one could
    start a server. The hub now binds each server's port itself, below the ports users
    may bind, so carol's spawn succeeds while bob holds every port he can."""
    squatter = subprocess.Popen(
        ["runuser", "-u", world.bob_account, "--", sys.executable, "-c", SQUAT],
        stdout=subprocess.PIPE,
        text=True,
        cwd="/tmp",
        start_new_session=True,  # runuser and bob's python: one group, killed together
    )
    try:
        assert squatter.stdout is not None
        held_high, held_low = map(int, squatter.stdout.readline().split())
        assert held_high > 11000, "bob holds (nearly) the whole old range"
        assert held_low == 0, "no user binds a privileged port"
        carol, _ = start_user(world.platform, "carol")
        carol_server = server_process("carol", world.platform.data_dir)
        ports = {
            c.laddr.port
            for c in carol_server.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN
        }
        assert ports and all(port < 1024 for port in ports), ports
        assert carol.api("GET", "/users/carol").json()["servers"][""]["ready"]
    finally:
        os.killpg(squatter.pid, signal.SIGKILL)
        squatter.wait()


#: Bob's notebook subscribes to every TCP port listening on loopback, as a ZeroMQ SUB socket
#: would to a kernel's IOPub channel (signed, never encrypted: outputs in plain text), and
#: prints what it hears until stopped.
EAVESDROP = """
import psutil, zmq
ctx, poller, seen = zmq.Context(), zmq.Poller(), set()
print("listening", flush=True)
while True:  # ports that start listening later are joined at the next round
    for c in psutil.net_connections("tcp4"):
        port = c.laddr.port
        if c.status == psutil.CONN_LISTEN and c.laddr.ip == "127.0.0.1" and port >= 1024:
            if port not in seen:
                seen.add(port)
                sub = ctx.socket(zmq.SUB)
                sub.setsockopt(zmq.SUBSCRIBE, b"")
                sub.setsockopt(zmq.LINGER, 0)
                sub.connect(f"tcp://127.0.0.1:{port}")
                poller.register(sub, zmq.POLLIN)
    for sub, _ in poller.poll(500):
        print(b"".join(sub.recv_multipart()).decode(errors="replace"), flush=True)
"""


CHANNELS = ("shell", "iopub", "stdin", "control", "hb")


def test_bob_hears_nothing_of_alices_kernel(world: World) -> None:
    """A kernel on TCP listens on five loopback ports any local user may connect to, and
    its IOPub channel sends every output unencrypted; its ports were also taken at random,
    so two users' kernels started at once could collide and one died (the load
    benchmark's lost kernel). Kernels now talk over Unix sockets in a folder of the
    user's own: no port to hear, none to collide on."""
    headers = {"Authorization": f"token {world.alice_token}"}
    started = world.alice.session.post(
        f"{world.platform.url}/user/alice/api/kernels",
        json={"name": "python3"},
        headers=headers,
        timeout=120,
    )
    assert started.status_code == 201, started.text
    kernel = started.json()["id"]
    bob = subprocess.Popen(
        ["runuser", "-u", world.bob_account, "--", sys.executable, "-c", EAVESDROP],
        stdout=subprocess.PIPE,
        text=True,
        cwd="/tmp",
    )
    try:
        assert bob.stdout is not None
        assert bob.stdout.readline().startswith("listening")
        time.sleep(2)  # bob has joined every port listening now: alice's kernel's too
        secret = "alice-" + uuid.uuid4().hex
        code = f"'alice-' + {secret.removeprefix('alice-')!r}"
        ws_url = kernel_ws_url(world.platform.url, "alice", kernel)
        assert asyncio.run(run_cell(ws_url, world.alice_token, code, 120)) == repr(secret)
        time.sleep(2)  # what IOPub sent has reached every subscriber
    finally:
        bob.terminate()
    heard = bob.communicate(timeout=30)[0]
    assert secret not in heard, "bob read alice's output off her kernel's IOPub port"
    # the kernel's five channels are Unix sockets in her folder (ipykernel's one TCP port
    # left is a PULL pipe for subprocess output: it sends nothing and checks a secret)
    sockets_dir = Path(world.alice_env["JUPYTER_RUNTIME_DIR"])
    connection = json.loads((sockets_dir / f"kernel-{kernel}.json").read_text())
    assert connection["transport"] == "ipc", connection
    channels = [Path(f"{connection['ip']}-{connection[f'{c}_port']}") for c in CHANNELS]
    assert all(path.parent == sockets_dir and path.is_socket() for path in channels), channels
    result = as_bob(world, "ls", str(sockets_dir))
    assert result.returncode != 0 and "Permission denied" in result.stderr, result


# -- alice's home, files and processes ----------------------------------------------------
def home_of_alice(world: World) -> Path:
    return Path(world.alice_env["HOME"])


@pytest.mark.parametrize(
    "command",
    [
        ("cat", "{home}/secret.txt"),
        ("ls", "{home}"),
        ("touch", "{home}/from-bob"),
        ("cp", "/etc/hostname", "{home}/.bashrc"),
    ],
)
def test_bob_cannot_read_list_or_write_alices_home(world: World, command: tuple[str, ...]) -> None:
    args = [part.format(home=home_of_alice(world)) for part in command]
    result = as_bob(world, *args)
    assert result.returncode != 0 and "Permission denied" in result.stderr, result
    assert not (home_of_alice(world) / "from-bob").exists()


def test_bob_cannot_signal_alices_processes(world: World) -> None:
    result = as_bob(world, "kill", "-0", str(world.alice_server_pid))
    assert result.returncode != 0 and "not permitted" in result.stderr, result
    assert psutil.pid_exists(world.alice_server_pid)


def test_bob_cannot_read_the_environment_of_alices_server(world: World) -> None:
    """Her server's environment holds her hub token and database password."""
    result = as_bob(world, "cat", f"/proc/{world.alice_server_pid}/environ")
    assert result.returncode != 0 and "Permission denied" in result.stderr, result


def test_bob_cannot_enter_the_working_folder_of_alices_cluster(world: World) -> None:
    folder = world.platform.data_dir / "dask" / "clusters" / world.alice_cluster
    result = as_bob(world, "ls", str(folder))
    assert result.returncode != 0, result


# -- the index database -----------------------------------------------------------------
def test_bobs_database_password_opens_no_other_login_or_database(world: World) -> None:
    bobs = sa.engine.make_url(world.bob_env["ODC_DEFAULT_DB_URL"])
    alices = sa.engine.make_url(world.alice_env["ODC_DEFAULT_DB_URL"])
    assert bobs.username != alices.username
    with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
        sa.create_engine(bobs.set(username=alices.username)).connect()
    for database in ("postgres", "sdl_workshops", "sdl"):
        with pytest.raises(sa.exc.OperationalError):
            sa.create_engine(bobs.set(database=database)).connect()


# -- Dask Gateway -------------------------------------------------------------------------
def test_bob_does_not_see_alices_cluster(world: World) -> None:
    assert world.alice_cluster not in {c.name for c in world.bob_gateway.list_clusters()}


def test_bob_cannot_connect_to_or_stop_alices_cluster(world: World) -> None:
    for attempt in (world.bob_gateway.connect, world.bob_gateway.stop_cluster):
        with pytest.raises(Exception) as refused:
            attempt(world.alice_cluster)
        assert any(code in str(refused.value) for code in ("403", "404")), refused.value
    alices = gateway_as(world.alice_env, world.alice_token)
    assert world.alice_cluster in {c.name for c in alices.list_clusters()}
