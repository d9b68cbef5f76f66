"""`sdl up`: the embedded platform on one machine, supervised in the foreground.

Starts PostgreSQL (pgserver), the proxy and JupyterHub as child processes, each in its
own process group, and restarts one that dies (`hub.supervise`) without stopping users'
servers. Ctrl-C (or SIGTERM) stops the users' servers, then the parts in reverse order,
reaps anything left behind and removes the servers' cgroups, so nothing outlives `sdl up`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from hub.archive import SERVICE_NAME as ARCHIVE_SERVICE
from hub.config.context import platform_secrets
from hub.config.gateway import gateway_command, gateway_environment
from hub.config.quotas import SERVICE as QUOTAS_SERVICE
from hub.data.sync_schedule import RUNNER_COMMAND, STOP_GRACE_S
from hub.datadir import prepare_data_dir
from hub.db.access import lock_down_embedded
from hub.db.capacity import check_connection_capacity
from hub.db.embedded import EmbeddedPostgres, connection_slots
from hub.errors import SdlError
from hub.gateway.config import SERVICE_NAME as GATEWAY_SERVICE
from hub.paths import PACKAGE_DIR
from hub.ports import hold_sockets, platform_ports
from hub.processes import (
    reap_orphaned_services,
    reap_user_servers,
    spawn_logged,
    stop_user_servers,
    terminate_within,
)
from hub.profiles import load_profiles
from hub.proxy import SOCKETS_ENV, inherited_sockets
from hub.runtime import Runtime, write_runtime
from hub.settings import CONFIG_ENV, Settings
from hub.spawners.home_fs import unmount_homes
from hub.spawners.limits import remove_instance_groups
from hub.spawners.platform_group import PlatformGroup, join_platform_group
from hub.supervise import Restart, RouteKeeper
from hub.workshops import SERVICE_NAME as WORKSHOPS_SERVICE

Say = Callable[[str], None]

#: The hub's services that listen on a port of the platform's (the idle culler has none).
HUB_SERVICES = (QUOTAS_SERVICE, WORKSHOPS_SERVICE, ARCHIVE_SERVICE)


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    stop: Callable[[subprocess.Popen[bytes]], None]
    restart: Restart | None = None


@dataclass
class Platform:
    """The running parts of an embedded platform, stopped in reverse order."""

    settings: Settings
    runtime: Runtime
    children: list[Child] = field(default_factory=list)
    routes: RouteKeeper | None = None
    held_sockets: list[socket.socket] = field(default_factory=list)
    group: PlatformGroup | None = None

    def failed_child(self) -> Child | None:
        return next((c for c in self.children if c.proc.poll() is not None), None)

    def stop(self, say: Say) -> None:
        # users' servers first, all at once (the hub would stop them one by one, and
        # does not at all: cleanup_servers is off so that a hub restart keeps them)
        stopped = stop_user_servers(self.settings, grace=5)
        if stopped:
            say(f"stopped {stopped} user server(s)")
        for child in reversed(self.children):
            say(f"stopping {child.name}")
            child.stop(child.proc)
        self.children.clear()
        reap_user_servers(self.settings)
        if self.group is not None:
            self.group.leave()  # its group goes with the servers': `sdl up` must not be in it
        remove_instance_groups(self.settings.data_dir)
        unmount_homes(self.settings.data_dir)  # their images stay, for the next start
        for sock in self.held_sockets:
            sock.close()


def start_platform(
    settings: Settings, config_file: Path | None, say: Say, with_sample: bool = True
) -> Platform:
    """Start every part; on any failure stop what already runs and raise."""
    load_profiles(settings.profiles_dir)  # a malformed profile stops us before anything runs
    prepare_data_dir(settings)
    secrets = platform_secrets(settings)
    # the proxy's ports are held here for the platform's life and handed to each proxy
    # started: no user can bind them while it restarts (hub.ports says why)
    public_sockets = hold_sockets(settings.hub.ip, settings.hub.port)
    api_sockets = hold_sockets("127.0.0.1", 0)
    ports = part_ports(settings)
    runtime = Runtime(
        public_ip=settings.hub.ip,
        public_port=public_sockets[0].getsockname()[1],
        proxy_api_port=api_sockets[0].getsockname()[1],
        hub_port=ports["hub"],
        config_file=str(config_file.resolve()) if config_file else "",
        service_ports={name: ports[name] for name in HUB_SERVICES},
        **chosen_gateway_ports(settings, ports),
    )
    # before any part starts: each part, and each restart of one, inherits the group
    group = join_platform_group(settings.data_dir)
    say(group.message)
    platform = Platform(
        settings, runtime, held_sockets=[*public_sockets, *api_sockets], group=group
    )
    logs = settings.data_dir / "logs"
    env = {**os.environ, "SDL_DATA_DIR": str(settings.data_dir)}
    try:
        if not settings.database.url:
            slots = connection_slots(
                settings.hub.active_server_limit, settings.database.user_connection_limit
            )
            pg = EmbeddedPostgres(settings.data_dir, max_connections=slots)
            first = pg.initialise()
            say(
                "starting PostgreSQL (embedded)" + (" — first start, initialising" if first else "")
            )
            pg_port = ports["postgres"]  # privileged as root: no user can wait on it
            restart_pg = Restart(lambda: pg.start(pg_port))  # same port: URLs stay valid
            platform.children.append(Child("PostgreSQL", pg.start(pg_port), pg.stop, restart_pg))
            prepare_index(settings, with_sample, say)
            lock_down_embedded(pg.superuser_url("postgres"), settings.database.name)
        else:  # the operator's server: enough slots for every running user, or say so
            say(f"external PostgreSQL: max_connections {check_connection_capacity(settings)}")
        say("starting the proxy")
        held = {runtime.public_port: public_sockets, runtime.proxy_api_port: api_sockets}
        proxy_env = {
            **env,
            "CONFIGPROXY_AUTH_TOKEN": secrets["proxy_token"],
            SOCKETS_ENV: inherited_sockets(held),
        }
        proxy_fds = tuple(sock.fileno() for sock in platform.held_sockets)

        def start_proxy() -> subprocess.Popen[bytes]:
            return spawn_logged(
                proxy_command(runtime), logs / "proxy.log", proxy_env, settings.data_dir, proxy_fds
            )

        keeper = RouteKeeper(f"http://127.0.0.1:{runtime.proxy_api_port}", secrets["proxy_token"])
        platform.routes = keeper

        def routes_back() -> None:
            if keeper.wait_answering(30):
                say(f"proxy: {keeper.restore()} route(s) restored")

        restart_proxy = Restart(start_proxy, routes_back)
        platform.children.append(Child("proxy", start_proxy(), terminate_within(10), restart_proxy))
        if not keeper.wait_answering(30):
            raise SdlError(f"the proxy did not start; see {logs / 'proxy.log'}")
        write_runtime(settings.data_dir, runtime)
        if runtime.gateway_port:
            say("starting Dask Gateway")
            gateway_env = {
                **env,
                **gateway_environment(settings, runtime, secrets["dask_gateway_token"]),
            }
            command = gateway_command(runtime, os.getpid())

            def start_gateway() -> subprocess.Popen[bytes]:
                return spawn_logged(command, logs / "gateway.log", gateway_env, settings.data_dir)

            # beside the hub, not under it: a hub restart keeps every cluster
            gateway = Child(
                "Dask Gateway", start_gateway(), terminate_within(15), Restart(start_gateway)
            )
            platform.children.append(gateway)
        say("starting JupyterHub")
        log_start = _size(logs / "hub.log")  # the log is appended to across restarts
        hub_command = [
            sys.executable,
            "-m",
            "jupyterhub",
            "-f",
            str(PACKAGE_DIR / "jupyterhub_config.py"),
        ]

        def start_hub() -> subprocess.Popen[bytes]:
            if orphans := reap_orphaned_services(settings, spare=[GATEWAY_SERVICE]):
                say(f"stopped {orphans} service(s) a dead hub left running")
            return spawn_logged(hub_command, logs / "hub.log", env, settings.data_dir / "hub")

        health = f"{runtime.public_url}{settings.hub.base_url.rstrip('/')}/hub/health"

        def hub_answers() -> None:  # "restarted" means answering again, as at start
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not _answers(health):
                time.sleep(0.3)

        restart_hub = Restart(start_hub, hub_answers)
        platform.children.append(
            Child("JupyterHub", start_hub(), terminate_within(15), restart_hub)
        )
        wait_healthy(platform, logs / "hub.log", timeout=120, log_start=log_start)
        if settings.sync.schedule:  # opt-in: `sdl data sync` on a cron line
            platform.children.append(sync_schedule_child(settings, runtime, env, say))
    except BaseException:
        platform.stop(say)
        raise
    return platform


def sync_schedule_child(
    settings: Settings, runtime: Runtime, env: dict[str, str], say: Say
) -> Child:
    """The runner of scheduled syncs (hub.data.sync_schedule), supervised like the parts;
    its runs inherit SDL_CONFIG / SDL_DATA_DIR, so they sync this platform."""
    log = settings.data_dir / "logs" / "sync.log"
    run_env = {**env, CONFIG_ENV: runtime.config_file} if runtime.config_file else env

    def start() -> subprocess.Popen[bytes]:
        return spawn_logged(list(RUNNER_COMMAND), log, run_env, settings.data_dir)

    say(f"scheduled sync: {settings.sync.schedule} (UTC); runs logged in {log}")
    return Child("sync schedule", start(), terminate_within(STOP_GRACE_S + 5), Restart(start))


def part_ports(settings: Settings) -> dict[str, int]:
    """A port for each part that listens on one of its own, fixed for the platform's
    life, all picked at once: one at a time, the hub's, not yet bound, could be handed
    to a service too (hub.ports)."""
    names = ["hub", "postgres", "gateway", "gateway_tcp", *HUB_SERVICES]
    return dict(zip(names, platform_ports(len(names)), strict=True))


def chosen_gateway_ports(settings: Settings, ports: dict[str, int]) -> dict[str, int]:
    """The gateway's two ports: the settings', else picked (none without Dask)."""
    dask = settings.dask
    if not dask.enabled:
        return {}
    return {
        "gateway_port": dask.port or ports["gateway"],
        "gateway_tcp_port": dask.tcp_port or ports["gateway_tcp"],
    }


def prepare_index(settings: Settings, with_sample: bool, say: Say) -> None:
    """The ODC schema and roles; on first start also the sample cube (later: nothing)."""
    # datacube (heavy) is loaded only here, where the index is prepared
    from rich.console import Console

    from hub.data.firststart import prepare_index as prepare

    result = prepare(settings, with_sample=with_sample, console=Console(stderr=True))
    if result is not None:
        if not result.ok:
            raise SdlError("the sample cube could not be indexed; see the messages above")
        say(f"sample cube indexed: {result.count('added')} Sentinel-2 datasets")
    say("Open Data Cube index ready")


#: JupyterHub logs this once its services run and the proxy has their routes. Its
#: /hub/health answers earlier: meanwhile /services/... falls through to the hub's login
#: page, and a token sent there is "not accepted".
HUB_STARTED = b"JupyterHub is now running"


def wait_healthy(platform: Platform, hub_log: Path, timeout: float, log_start: int = 0) -> None:
    """Until the hub has started every service and answers through the proxy."""
    url = f"{platform.runtime.public_url}{platform.settings.hub.base_url.rstrip('/')}/hub/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        failed = platform.failed_child()
        if failed:
            tail = hub_log.read_text(errors="replace")[-3000:]
            raise SdlError(
                f"{failed.name} exited at start-up (code {failed.proc.returncode}):\n{tail}"
            )
        if _logged_since(hub_log, log_start, HUB_STARTED) and _answers(url):
            return
        time.sleep(0.3)
    raise SdlError(f"JupyterHub was not ready after {timeout:.0f}s; see {hub_log}")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _logged_since(path: Path, offset: int, line: bytes) -> bool:
    with path.open("rb") as log:
        log.seek(offset)
        return line in log.read()


def proxy_command(runtime: Runtime) -> list[str]:
    return [
        sys.executable,
        "-m",
        "hub.proxy",
        "--ip",
        runtime.public_ip,
        "--port",
        str(runtime.public_port),
        "--api-ip",
        "127.0.0.1",
        "--api-port",
        str(runtime.proxy_api_port),
        "--default-target",
        f"http://127.0.0.1:{runtime.hub_port}",
        "--error-target",
        f"http://127.0.0.1:{runtime.hub_port}/hub/error",
    ]
