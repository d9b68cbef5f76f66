"""The single-user server's side of `hub.spawners.ports`: serve on the inherited socket.

The hub binds each local server's port itself (as root, on a port no user may bind) and
passes the listening socket down as a file descriptor named by SDL_LISTEN_FD. Jupyter
Server would bind its port itself, and fail, since this process already holds it; so
before it binds (the workspace extension loads first), its two binding steps are
replaced, on this one server, by adopting the socket.
"""

from __future__ import annotations

import socket
from typing import Any

LISTEN_FD_ENV = "SDL_LISTEN_FD"


def adopt_listening_socket(serverapp: Any, environ: dict[str, str]) -> int | None:
    """Make `serverapp` serve on the inherited socket; its port, or None if none."""
    fd = environ.get(LISTEN_FD_ENV)
    if not fd:
        return None
    sock = socket.socket(fileno=int(fd))
    sock.setblocking(False)  # tornado's accept loop expects what bind_sockets makes
    port: int = sock.getsockname()[1]

    def bind() -> bool:
        serverapp.http_server.add_sockets([sock])
        return True

    serverapp.port = port  # what the server prints and writes to its runtime file
    serverapp._find_http_port = lambda: None  # the port is ours already
    serverapp._bind_http_server_tcp = bind
    return port
