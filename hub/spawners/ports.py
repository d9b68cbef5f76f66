"""Ports for local servers that two simultaneous spawns never share.

JupyterHub's `random_port()` binds port 0, closes it and hands out the number: two
spawns in the same instant can get the same port, and the hub then routes one user to
another's server. We pick from a range outside the kernel's ephemeral ports, remember
what this hub handed out, and check that nobody listens before handing a port out.
"""

from __future__ import annotations

import random
import socket
import threading

PORT_RANGE = range(20000, 32000)  # below Linux's ephemeral range (32768-60999)

_lock = threading.Lock()
_handed_out: set[int] = set()


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def allocate_port(attempts: int = 200) -> int:
    """A port no server of this hub has and nothing listens on right now."""
    with _lock:
        for _ in range(attempts):
            port = random.choice(PORT_RANGE)
            if port not in _handed_out and _is_free(port):
                _handed_out.add(port)
                return port
    raise RuntimeError(f"no free port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")


def release_port(port: int) -> None:
    with _lock:
        _handed_out.discard(port)
