"""Listening sockets for local servers: bound by the hub, handed to each server.

A workspace may bind as many ports as it likes. Had the spawner picked its servers'
ports from a range users can bind, one user could fill that range and stop every spawn
(the security review's finding 4: "no free port in 20000-31999"). So the hub, as root,
binds each server's socket itself, on a privileged port (below the kernel's
`net.ipv4.ip_unprivileged_port_start`, which no user may bind), leaving the ports that
/etc/services names to the services they belong to, and the server inherits the bound
socket as a file descriptor (`hub.listen_fd`). Holding the port from the moment it is
chosen also ends the race of handing out a bare number that two spawns might share.

Not root (the single-user fallback), or a kernel that lets anyone bind low ports (some
container runtimes set the limit to 0): a range users can bind, said in the spawn log.
"""

from __future__ import annotations

import random
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from hub.listen_fd import LISTEN_FD_ENV

__all__ = ["LISTEN_FD_ENV", "PortPool", "bind_server_socket", "port_pool"]

#: Where the kernel says from which port on anyone may bind.
UNPRIVILEGED_START = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")
#: The privileged ports servers may have: above the well-known services of 1-511, which a
#: machine without /etc/services would not name.
PRIVILEGED_FLOOR = 512
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
def port_pool(as_root: bool, unprivileged_start: int | None = None) -> PortPool:
    """The ports this hub may bind its servers on."""
    start = unprivileged_port_start() if unprivileged_start is None else unprivileged_start
    if not as_root:
        return PortPool(tuple(UNPROTECTED_RANGE), False, "the platform does not run as root")
    free = tuple(p for p in range(PRIVILEGED_FLOOR, min(start, 1024)) if not _named_in_services(p))
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
