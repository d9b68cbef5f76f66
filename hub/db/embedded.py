"""The embedded PostgreSQL: the `pgserver` wheel's binaries, run in the data dir.

We use pgserver for its relocatable PostgreSQL 16 build, not for its process handling:
`sdl up` supervises the postmaster itself (clean stop on Ctrl-C), and authentication is
set up for many users: the superuser only over a socket in a folder no workspace can
reach, every other role with a scram-sha-256 password over loopback TCP.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import psutil

from hub.errors import SdlError
from hub.netutil import free_port
from hub.ossetup import ensure_system_user, make_traversable, platform_account, private_file
from hub.ports import unprivileged_port_start

SUPERUSER = "postgres"
# runs the postmaster when we are root (postgres refuses root); in the platform's own
# account namespace, which no user name maps onto (`hub.accounts`)
SYSTEM_USER = platform_account("postgres")

PG_HBA = """\
# Written by Space Data Lab. The superuser may only use the socket, whose folder only the
# platform can enter; every other role needs its password, over loopback only.
local   all   {superuser}   trust
local   all   all           scram-sha-256
host    all   all           127.0.0.1/32   scram-sha-256
host    all   all           ::1/128        scram-sha-256
"""


class DatabaseError(SdlError):
    """The embedded PostgreSQL could not be initialised or started."""


def pgserver_bin_dir() -> Path:
    """The pgserver wheel's PostgreSQL build (initdb, postgres, psql...)."""
    with warnings.catch_warnings():  # pgserver's import warns about XDG_RUNTIME_DIR
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


@dataclass(frozen=True)
class Running:
    """Where a running server listens."""

    port: int
    socket_dir: Path
    pid: int


#: Connection slots of the server, and those only the platform may take: users' logins
#: (each with its own CONNECTION LIMIT) share the rest, so however many connections they
#: hold, the hub, the services and `sdl data` still get one.
MAX_CONNECTIONS = 200
RESERVED_CONNECTIONS = 20  # for roles with pg_use_reserved_connections (and superusers)
SUPERUSER_RESERVED_CONNECTIONS = 3
PLATFORM_CONNECTIONS = RESERVED_CONNECTIONS + SUPERUSER_RESERVED_CONNECTIONS


def connection_slots(active_servers: int, per_user: int) -> int:
    """max_connections for `active_servers` users each holding all `per_user` of theirs,
    plus the platform's own: so a user whose server the hub starts always gets their
    first connection (25 users of 8 once took 187 of 200 slots, and everyone else was
    refused). Idle slots cost PostgreSQL little shared memory; a used one is a process."""
    return max(MAX_CONNECTIONS, PLATFORM_CONNECTIONS + active_servers * per_user)


class _RunAs(TypedDict, total=False):
    """subprocess's user/group arguments: the platform account when running as root."""

    user: str
    group: str


class EmbeddedPostgres:
    """A PostgreSQL cluster in `<data_dir>/postgres`, listening on 127.0.0.1:<port>."""

    def __init__(
        self,
        data_dir: Path,
        max_connections: int = MAX_CONNECTIONS,
        reserved_connections: int = RESERVED_CONNECTIONS,
    ) -> None:
        self.data_dir = data_dir
        self.max_connections = max_connections
        self.reserved_connections = reserved_connections
        self.pgdata = data_dir / "postgres"
        self.socket_dir = data_dir / "run" / "postgres"
        self.log_file = data_dir / "logs" / "postgres.log"
        self.as_root = os.geteuid() == 0

    # -- set-up ---------------------------------------------------------------------
    def _run_as(self) -> _RunAs:
        return {"user": SYSTEM_USER, "group": SYSTEM_USER} if self.as_root else {}

    @staticmethod
    def _with_port_right() -> list[str]:
        """Run as the platform account with one right kept: binding a privileged port.

        On an unprivileged port, a user who bound it while PostgreSQL restarts would be
        asked for every workspace's password (libpq sends a cleartext one when a server
        asks; this libpq has no `require_auth`). Below `ip_unprivileged_port_start` no
        user can. setpriv (util-linux) passes the capability on as an ambient one.
        """
        return [
            "setpriv",
            f"--reuid={SYSTEM_USER}",
            f"--regid={SYSTEM_USER}",
            "--clear-groups",
            "--inh-caps=+net_bind_service",
            "--ambient-caps=+net_bind_service",
            "--",
        ]

    def _own(self, *paths: Path) -> None:
        if self.as_root:
            entry = pwd.getpwnam(SYSTEM_USER)
            for path in paths:
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def _adopt_old_cluster(self) -> None:
        """A cluster made by an earlier version belongs to its old account (`sdl-postgres`,
        in the users' namespace): hand it to SYSTEM_USER before it starts again."""
        if not self.as_root or not (self.pgdata / "PG_VERSION").exists() or self.running():
            return
        entry = pwd.getpwnam(SYSTEM_USER)
        if self.pgdata.stat().st_uid == entry.pw_uid:
            return
        log_file = [self.log_file] if self.log_file.exists() else []
        for path in [self.pgdata, *self.pgdata.rglob("*"), *log_file]:
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)

    def initialise(self) -> bool:
        """Create the cluster on first use; True if it was created now."""
        if self.as_root:
            ensure_system_user(SYSTEM_USER)
            make_traversable(pgserver_bin_dir())
        for folder in (self.socket_dir, self.log_file.parent):
            folder.mkdir(parents=True, exist_ok=True)
        self.socket_dir.chmod(0o700)
        self.log_file.parent.chmod(0o700)  # logs are the platform's, never a workspace's
        self._own(self.socket_dir)
        if (self.pgdata / "PG_VERSION").exists():
            self._adopt_old_cluster()
            return False
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        self._own(self.pgdata)
        result = subprocess.run(
            [
                str(pgserver_bin_dir() / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                "--encoding=UTF8",
                "--locale=C",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ],
            capture_output=True,
            text=True,
            **self._run_as(),
        )
        if result.returncode != 0:
            raise DatabaseError(f"initdb failed in {self.pgdata}:\n{result.stderr.strip()}")
        (self.pgdata / "pg_hba.conf").write_text(PG_HBA.format(superuser=SUPERUSER))
        return True

    # -- running --------------------------------------------------------------------
    def command(self, port: int) -> list[str]:
        return [
            str(pgserver_bin_dir() / "postgres"),
            "-D",
            str(self.pgdata),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-k",
            str(self.socket_dir),
            "-c",
            "password_encryption=scram-sha-256",
            "-c",
            f"max_connections={self.max_connections}",
            "-c",
            f"reserved_connections={self.reserved_connections}",
            "-c",
            f"superuser_reserved_connections={SUPERUSER_RESERVED_CONNECTIONS}",
        ]

    def running(self) -> Running | None:
        """The server on this data dir, if one runs (started by us or by `sdl up`)."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
        except OSError:
            return None
        if len(lines) < 8 or lines[7].strip() != "ready":
            return None
        pid = int(lines[0])
        if not psutil.pid_exists(pid):
            return None
        return Running(port=int(lines[3]), socket_dir=Path(lines[4]), pid=pid)

    def start(self, port: int, timeout: float = 30) -> subprocess.Popen[bytes]:
        """Start the postmaster in the foreground of a new process group; wait until ready."""
        self.initialise()
        if self.running():
            raise DatabaseError(f"a PostgreSQL server already runs on {self.pgdata}")
        with private_file(self.log_file).open("ab") as log:
            self._own(self.log_file)
            privileged = self.as_root and port < unprivileged_port_start()
            proc = subprocess.Popen(
                [*self._with_port_right(), *self.command(port)]
                if privileged
                else self.command(port),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **({} if privileged else self._run_as()),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = self.log_file.read_text(errors="replace")[-2000:]
                raise DatabaseError(f"PostgreSQL exited at start-up; its log says:\n{tail}")
            if self.running():
                return proc
            time.sleep(0.1)
        proc.kill()
        raise DatabaseError(
            f"PostgreSQL did not become ready in {timeout:.0f}s; see {self.log_file}"
        )

    @staticmethod
    def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
        """Fast shutdown (SIGINT): roll back open transactions, then exit cleanly."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def superuser_url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL for the superuser over the private socket (root / platform only)."""
        running = self.running()
        if running is None:
            raise DatabaseError(f"no PostgreSQL runs on {self.pgdata}; start `sdl up` first")
        return (
            f"postgresql+psycopg2://{SUPERUSER}@/{database}"
            f"?host={running.socket_dir}&port={running.port}"
        )

    def tcp_url(self, user: str, password: str, database: str) -> str:
        """URL for a password role over loopback, as workspaces use it."""
        running = self.running()
        if running is None:
            raise DatabaseError(f"no PostgreSQL runs on {self.pgdata}")
        return f"postgresql+psycopg2://{user}:{password}@127.0.0.1:{running.port}/{database}"

    @contextlib.contextmanager
    def ensure_running(self, port: int = 0) -> Iterator[Running]:
        """Use the server `sdl up` runs, or run one just for the duration of the block."""
        running = self.running()
        if running is not None:
            yield running
            return
        proc = self.start(port or free_port())
        try:
            running = self.running()
            assert running is not None
            yield running
        finally:
            self.stop(proc)
