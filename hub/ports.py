"""Ports on one machine that users cannot take: for servers, and for the platform's parts.

A workspace may bind as many ports as it likes. Had the spawner picked its servers'
ports from a range users can bind, one user could fill that range and stop every spawn
(the security review's finding 4: "no free port in 20000-31999"). So the hub, as root,
binds each server's socket itself, on a privileged port (below the kernel's
`net.ipv4.ip_unprivileged_port_start`, which no user may bind), leaving the ports that
/etc/services names to the services they belong to, and the server inherits the bound
socket as a file descriptor (`hub.listen_fd`). Holding the port from the moment it is
chosen also ends the race of handing out a bare number that two spawns might share.

The platform's own parts that run as root (the hub, its services, Dask Gateway,
PostgreSQL) listen on privileged ports too (`platform_ports`), so no user can be waiting
on one when a part restarts, to answer in its place. `sdl up` picks them all at once,
each socket held until every one is bound: picked one at a time, each number free again
when the next was picked, two of seven parts drew the same of these 76 ports in about a
quarter of starts, and the one that bound second never came up. The proxy's two ports
are held by `sdl up` itself and handed to each proxy it starts (`hold_sockets`), so they
are never free at all.

Not root (the single-user fallback), or a kernel that lets anyone bind low ports (some
container runtimes set the limit to 0): a range users can bind, said in the spawn log.
"""

from __future__ import annotations

import os
import random
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tornado.netutil import bind_sockets

from hub.listen_fd import LISTEN_FD_ENV

__all__ = [
    "LISTEN_FD_ENV",
    "PortPool",
    "bind_server_socket",
    "hold_sockets",
    "platform_port",
    "platform_ports",
    "port_pool",
]

#: Where the kernel says from which port on anyone may bind.
UNPRIVILEGED_START = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")
#: Privileged ports for users' servers, and apart from them for the platform's parts (a
#: server started while a part restarts never takes the part's port); both above the
#: well-known services of 1-511, which a machine without /etc/services would not name.
SERVER_PORTS = range(600, 1024)
PLATFORM_PORTS = range(512, 600)
#: Used when no privileged port can be had: outside Linux's ephemeral range (32768-).
UNPROTECTED_RANGE = range(20000, 32000)


@dataclass(frozen=True)
class PortPool:
    """The ports the hub binds its servers on, and whether users are kept off them."""

    ports: tuple[int, ...]
    protected: bool
    why_not: str = ""

    def describe(self) -> str:
        span = f"{min(self.ports)}-{max(self.ports)}"
        if self.protected:
            return f"{len(self.ports)} privileged ports in {span}, which no user may bind"
        return f"ports {span}, which any user may bind ({self.why_not})"


def unprivileged_port_start(path: Path = UNPRIVILEGED_START) -> int:
    try:
        return int(path.read_text())
    except (OSError, ValueError):  # not Linux, or an old kernel: the classic limit
        return 1024


def _named_in_services(port: int) -> bool:
    try:
        socket.getservbyport(port, "tcp")
    except OSError:
        return False
    return True


@cache
def port_pool(
    as_root: bool, unprivileged_start: int | None = None, band: range = SERVER_PORTS
) -> PortPool:
    """The ports of `band` this platform may bind on (users' servers, or its parts)."""
    start = unprivileged_port_start() if unprivileged_start is None else unprivileged_start
    if not as_root:
        return PortPool(tuple(UNPROTECTED_RANGE), False, "the platform does not run as root")
    low = range(band.start, min(band.stop, start))
    free = tuple(p for p in low if not _named_in_services(p))
    if not free:
        why = f"net.ipv4.ip_unprivileged_port_start is {start}"
        return PortPool(tuple(UNPROTECTED_RANGE), False, why)
    return PortPool(free, True)


def bind_server_socket(pool: PortPool, ip: str = "127.0.0.1") -> socket.socket:
    """A listening socket on a port of `pool` that nothing else holds."""
    for port in random.sample(pool.ports, len(pool.ports)):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # a server that just stopped leaves connections in TIME_WAIT; they do not hold it
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError:
            sock.close()
            continue
        sock.listen(socket.SOMAXCONN)
        return sock
    raise RuntimeError(f"no free port among {pool.describe()}")


def platform_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` different free ports for parts of the platform that run as root:
    privileged if we are root, so that no user can bind one while its part restarts;
    else any free ones. All are held until the last is bound, so no two are the same."""
    pool = port_pool(as_root=os.geteuid() == 0, band=PLATFORM_PORTS)
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            held.append(bind_server_socket(pool, host))
        return [int(sock.getsockname()[1]) for sock in held]
    finally:
        for sock in held:
            sock.close()


def platform_port(host: str = "127.0.0.1") -> int:
    """One such port, for a part started on its own (another part's port, picked but not
    yet bound, may come back: pick the parts that start together with `platform_ports`)."""
    return platform_ports(1, host)[0]


def hold_sockets(ip: str, port: int) -> list[socket.socket]:
    """Listening sockets on ip:port (port 0: a free one; "": every interface), for a
    parent to hold and pass to each child it (re)starts: the port is never free."""
    return bind_sockets(port, ip or None)
