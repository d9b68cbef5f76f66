"""A user's attempt to take a port of the platform's: what a squatter would do first."""

from __future__ import annotations

import subprocess
import sys

#: Bind the port as the user would (SO_REUSEADDR: connections left in TIME_WAIT by the
#: part that died do not stop it); say whether the kernel let it.
BIND = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError as exc:
    print("refused:", exc.strerror)
else:
    print("bound")
"""


def bind_as(user: str, port: int) -> str:
    """'bound', or 'refused: <why>', for `user` binding 127.0.0.1:`port` (from root)."""
    done = subprocess.run(
        ["runuser", "-u", user, "--", sys.executable, "-c", BIND, str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/tmp",
    )
    return done.stdout.strip() or done.stderr.strip()
