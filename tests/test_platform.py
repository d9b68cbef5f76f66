"""The embedded platform end to end: a real `sdl up`, hub, proxy, PostgreSQL and servers."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from hub.db.embedded import connection_slots
from tests.support.platform import (
    ADMIN_PASSWORD,
    SHARED_PASSWORD,
    HubClient,
    RunningPlatform,
    start_platform,
)

AS_ROOT = os.geteuid() == 0
# shared-password mode, explicitly: these tests log in under many names with one password
SETTINGS = {
    "auth": {"type": "shared-password", "admin_users": ["ada"]},
    "groups": {"gpu-users": ["gina"]},
}


@pytest.fixture(scope="module")
def platform() -> Iterator[RunningPlatform]:
    with start_platform(SETTINGS) as running:
        yield running


def logged_in(platform: RunningPlatform, name: str, password: str = SHARED_PASSWORD) -> HubClient:
    client = HubClient(platform.url)
    response = client.login(name, password)
    assert response.status_code == 200, response.text[:500]
    return client


def token_headers(client: HubClient, name: str) -> dict[str, str]:
    return {"Authorization": f"token {client.new_token(name)}"}


def contents(client: HubClient, owner: str, path: str, headers: dict[str, str]):
    return client.session.get(
        f"{client.base_url}/user/{owner}/api/contents/{path}", headers=headers, timeout=30
    )


def put_text(client: HubClient, owner: str, path: str, headers: dict[str, str]):
    body = {"type": "file", "format": "text", "content": "written by a test"}
    return client.session.put(
        f"{client.base_url}/user/{owner}/api/contents/{path}",
        json=body,
        headers=headers,
        timeout=30,
    )


def test_form_login_with_xsrf_and_wrong_password(platform: RunningPlatform) -> None:
    client = HubClient(platform.url)
    assert client.login("walter", "not-the-password").status_code == 403
    response = client.login("walter", SHARED_PASSWORD)
    assert response.status_code == 200
    assert response.url.endswith(("/hub/spawn", "/hub/home"))
    assert client.api("GET", "/user").json()["name"] == "walter"


def test_login_page_and_banner_name_the_workshop_mode(platform: RunningPlatform) -> None:
    page = HubClient(platform.url).session.get(f"{platform.url}/hub/login", timeout=30).text
    assert 'id="login-mode"' in page and 'data-mode="shared-password"' in page
    assert "Workshop mode (shared password)" in page
    assert "Login: workshop mode (shared password)." in platform.log()


def test_spawn_page_offers_only_the_users_profiles(platform: RunningPlatform) -> None:
    offered = {}
    for name in ("alice", "gina"):
        page = logged_in(platform, name).session.get(f"{platform.url}/hub/spawn", timeout=30)
        offered[name] = re.findall(r'name="profile" value="([a-z0-9-]+)"', page.text)
    assert offered["alice"] == ["small", "medium", "large"]
    assert "gpu" in offered["gina"]


def test_rest_spawn_home_templates_and_read_only_archive(platform: RunningPlatform) -> None:
    client = logged_in(platform, "alice")
    assert client.spawn("alice", {"profile": "medium"}).status_code in (201, 202)
    headers = token_headers(client, "alice")
    home = contents(client, "alice", "", headers)
    assert home.status_code == 200
    assert {"examples", "shared"} <= {item["name"] for item in home.json()["content"]}
    examples = contents(client, "alice", "examples", headers).json()["content"]
    assert "00-welcome.ipynb" in {item["name"] for item in examples}
    assert put_text(client, "alice", "shared/intruder.txt", headers).status_code == 403
    assert not (platform.data_dir / "archive" / "intruder.txt").exists()
    assert put_text(client, "alice", "notes.txt", headers).status_code == 201
    written = platform.data_dir / "homes" / "alice" / "notes.txt"
    assert written.read_text() == "written by a test"
    if AS_ROOT:
        assert Path(written).owner() == platform.account("alice")
    log = platform.hub_log()
    assert "[alice] Starting JupyterLab (profile medium: 4 CPU, 16Gi RAM)" in log
    assert re.search(r"\[alice\] memory limit 16Gi: (enforced|not enforced)", log)
    assert "[alice] CPU guarantee 1: not reserved" in log


def test_a_second_user_cannot_reach_the_first_users_server_or_files(
    platform: RunningPlatform,
) -> None:
    alice = logged_in(platform, "alice")
    if not alice.api("GET", "/users/alice").json()["servers"]:
        alice.spawn("alice", {"profile": "small"})
    alice_headers = token_headers(alice, "alice")
    assert put_text(alice, "alice", "private.txt", alice_headers).status_code == 201

    bob = logged_in(platform, "bob")
    assert bob.spawn("bob", {}).status_code in (201, 202)
    bob_headers = token_headers(bob, "bob")
    assert contents(bob, "bob", "", bob_headers).status_code == 200
    assert contents(bob, "alice", "private.txt", bob_headers).status_code in (403, 404)
    assert bob.api("GET", "/users/alice").status_code in (403, 404)
    # bob's browser session is not let into alice's server either
    page = bob.session.get(f"{platform.url}/user/alice/api/contents/private.txt", timeout=30)
    assert page.status_code in (403, 404) or "private.txt" not in page.text
    if AS_ROOT:  # the OS itself keeps bob's processes out of alice's home
        alice_file = platform.data_dir / "homes" / "alice" / "private.txt"
        peek = subprocess.run(
            ["runuser", "-u", platform.account("bob"), "--", "cat", str(alice_file)],
            capture_output=True,
            text=True,
        )
        assert peek.returncode != 0 and "Permission denied" in peek.stderr


def test_profile_outside_the_users_groups_is_refused_by_api_and_form(
    platform: RunningPlatform,
) -> None:
    carol = logged_in(platform, "carol")
    refused = carol.api("POST", "/users/carol/server", json={"profile": "gpu"})
    assert refused.status_code == 403
    assert "not available to you" in refused.json()["message"]
    extra = carol.api("POST", "/users/carol/server", json={"profile": "small", "cpu_limit": 64})
    assert extra.status_code == 400
    assert "Unknown spawn option" in extra.json()["message"]
    form = carol.session.post(
        f"{platform.url}/hub/spawn/carol", data={"profile": "gpu", "_xsrf": carol.xsrf}, timeout=60
    )
    assert form.status_code == 403
    assert "is not available to you" in form.text
    assert not carol.api("GET", "/users/carol").json()["servers"]


def test_gpu_profile_is_refused_honestly_on_a_machine_without_gpus(
    platform: RunningPlatform,
) -> None:
    if any(Path("/dev").glob("nvidia[0-9]*")):
        pytest.skip("this machine has a GPU: the gpu profile would start")
    gina = logged_in(platform, "gina")
    response = gina.api("POST", "/users/gina/server", json={"profile": "gpu"})
    assert response.status_code == 409
    assert "this machine has 0" in response.json()["message"]


def test_admin_logs_in_with_the_admin_password(platform: RunningPlatform) -> None:
    ada = logged_in(platform, "ada", ADMIN_PASSWORD)
    assert ada.api("GET", "/user").json()["admin"] is True
    assert HubClient(platform.url).login("ada", SHARED_PASSWORD).status_code == 403


def platform_processes(data_dir: Path) -> list[str]:
    """Processes that belong to the platform on `data_dir` (postgres, servers, proxy, hub)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            env = proc.environ()
        except (psutil.Error, OSError):
            continue
        if (
            str(data_dir) in cmdline
            or env.get("SDL_DATA_DIR") == str(data_dir)
            or env.get("SDL_ARCHIVE_DIR") == str(data_dir / "archive")
        ):
            found.append(f"{proc.pid}: {cmdline}")
    return found


def test_restart_keeps_users_and_homes_and_stop_leaves_no_orphan() -> None:
    with start_platform(SETTINGS) as first:
        client = logged_in(first, "dora")
        client.spawn("dora", {"profile": "small"})
        assert (
            put_text(client, "dora", "keep.txt", token_headers(client, "dora")).status_code == 201
        )
    assert first.proc.returncode == 0
    assert platform_processes(first.data_dir) == []

    with start_platform(SETTINGS, data_dir=first.data_dir) as second:
        ada = logged_in(second, "ada", ADMIN_PASSWORD)
        assert "dora" in {user["name"] for user in ada.api("GET", "/users").json()}
        dora = logged_in(second, "dora")
        dora.spawn("dora", {})
        kept = contents(dora, "dora", "keep.txt", token_headers(dora, "dora"))
        assert kept.json()["content"] == "written by a test"
    assert platform_processes(first.data_dir) == []


def server_environment(username: str) -> dict[str, str]:
    """The environment of `username`'s running single-user server (read via /proc)."""
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
        except (psutil.Error, OSError):
            continue
        if env.get("JUPYTERHUB_USER") == username and "ODC_DEFAULT_DB_URL" in env:
            return env
    raise AssertionError(f"no running server of {username} with ODC settings")


def test_workspace_gets_its_own_read_only_odc_login(platform: RunningPlatform) -> None:
    import sqlalchemy as sa

    client = logged_in(platform, "erin")
    client.spawn("erin", {"profile": "small"})
    env = server_environment("erin")
    url = sa.engine.make_url(env["ODC_DEFAULT_DB_URL"])
    assert url.username == "sdl_u_erin" and url.host == "127.0.0.1"
    assert env["ODC_DEFAULT_INDEX_DRIVER"] == "postgres"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM agdc.dataset")).scalar() >= 0
        limit = conn.execute(
            sa.text("SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user")
        ).scalar()
        assert limit == 8
        # every running user may hold all 8: the server is sized by the bound on servers
        slots = conn.execute(sa.text("SHOW max_connections")).scalar()
        assert int(slots) == connection_slots(100, 8) == 823
    for statement in (
        "INSERT INTO agdc.metadata_type (name, definition) VALUES ('x', '{}')",
        "DELETE FROM agdc.dataset",
        "CREATE TABLE public.mine (x int)",
    ):
        with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission"):
            conn.execute(sa.text(statement))
    engine.dispose()
    # the password opens only erin's own login, and the superuser has no network login
    for other in (url.set(username="sdl_u_alice"), url.set(username="postgres")):
        with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
            sa.create_engine(other).connect()


@pytest.mark.skipif(not AS_ROOT, reason="OS accounts need root")
def test_a_user_named_postgres_is_not_the_database_server(platform: RunningPlatform) -> None:
    from hub.db.embedded import SYSTEM_USER, EmbeddedPostgres

    client = logged_in(platform, "postgres")
    assert client.spawn("postgres", {"profile": "small"}).status_code in (201, 202)
    server = next(p for p in psutil.process_iter() if _env(p).get("JUPYTERHUB_USER") == "postgres")
    postmaster = psutil.Process(EmbeddedPostgres(platform.data_dir).running().pid)
    assert server.username() == platform.account("postgres"), server.username()
    assert postmaster.username() == SYSTEM_USER != server.username()
    assert server.uids().real != postmaster.uids().real
    socket_dir = EmbeddedPostgres(platform.data_dir).running().socket_dir
    peek = subprocess.run(
        ["runuser", "-u", server.username(), "--", "ls", str(socket_dir)],
        capture_output=True,
        text=True,
    )
    assert peek.returncode != 0 and "Permission denied" in peek.stderr
    assert client.api("DELETE", "/users/postgres/server").status_code in (202, 204)


def _env(proc: psutil.Process) -> dict[str, str]:
    try:
        return proc.environ()
    except (psutil.Error, OSError):
        return {}


@pytest.mark.skipif(not AS_ROOT, reason="other OS users exist only as root")
def test_hub_database_and_logs_are_private_to_the_platform(platform: RunningPlatform) -> None:
    private = {
        platform.data_dir / "hub": 0o700,
        platform.data_dir / "logs": 0o700,
        platform.data_dir / "hub" / "jupyterhub.sqlite": 0o600,
        platform.data_dir / "logs" / "hub.log": 0o600,
        platform.data_dir / "logs" / "proxy.log": 0o600,
    }
    for path, mode in private.items():
        assert path.stat().st_mode & 0o777 == mode, f"{path}: {oct(path.stat().st_mode)}"
    for path in private:  # what a workspace sees: another OS user, not root
        if path.is_file():
            peek = subprocess.run(
                ["runuser", "-u", "nobody", "--", "cat", str(path)], capture_output=True, text=True
            )
            assert peek.returncode != 0 and "Permission denied" in peek.stderr, path


def _cpu_group(pid: int) -> str:
    """The cgroup a process is in: the cpu controller's (v1), else the unified one (v2)."""
    lines = [line.split(":", 2) for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines()]
    v1 = [path for _id, controllers, path in lines if "cpu" in controllers.split(",")]
    return (v1 or [path for _id, controllers, path in lines if controllers == ""] or [""])[0]


@pytest.mark.skipif(not AS_ROOT, reason="cgroups need root")
def test_the_platforms_parts_weigh_more_than_the_servers(platform: RunningPlatform) -> None:
    """Under the load benchmark the proxy, one process beside 100 busy servers, got ~2 %
    of the CPU and answered the hub's route request too late: the hub then stopped the
    server it had just started. The parts now run in a group of their own weighing 32
    guaranteed CPUs, and a server (0.5 CPU guaranteed) in its own."""
    from hub.spawners.limits import ResourceLimiter, instance_tag
    from hub.spawners.platform_group import PLATFORM_CPUS

    limiter = ResourceLimiter.detect()
    if "cpu" not in getattr(limiter, "mounts", {}):
        pytest.skip(f"no cgroup cpu controller here: {limiter.reason}")
    client = logged_in(platform, "ivy")
    assert client.spawn("ivy", {"profile": "small"}).status_code in (201, 202)
    group = f"/sdl/platform-{instance_tag(platform.data_dir)}"
    parts = {
        "proxy": "-m hub.proxy",
        "hub": "-m jupyterhub",
        "PostgreSQL": f"{platform.data_dir}/postgres",
    }
    for part, marker in parts.items():
        proc = next(
            p
            for p in psutil.process_iter(["cmdline"])
            if marker in " ".join(p.info["cmdline"] or [])
        )
        assert _cpu_group(proc.pid).endswith(group), (part, _cpu_group(proc.pid))
    server = next(p for p in psutil.process_iter() if _env(p).get("JUPYTERHUB_USER") == "ivy")
    assert not _cpu_group(server.pid).endswith(group), "the server left the platform's group"
    root = Path(limiter.mounts["cpu"])
    file, _, _ = limiter.weight_file
    weight = int((root / group.lstrip("/") / file).read_text())
    server_weight = int((root / _cpu_group(server.pid).lstrip("/") / file).read_text())
    assert weight == PLATFORM_CPUS * (1024 if file == "cpu.shares" else 100)
    assert weight >= 32 * server_weight
