"""Server processes a dead hub lost track of.

JupyterHub stores a server's pid only once the spawner's `start` has returned, and ours
returns after the database login it makes while JupyterLab starts. A hub killed in
between restarts with a server record but no pid: it calls the server stopped and drops
the spawn, while the process runs on, unseen, beside the one the user's next spawn
starts. Such a process is found by the environment every workspace gets (its user, its
server's name, this platform's archive) and stopped with everything it started.
"""

from __future__ import annotations

import psutil

from hub.processes import processes_where


def server_processes(archive_dir: str, user: str, server_name: str) -> list[psutil.Process]:
    """The processes of one user's server on this platform: the server, its kernels and
    terminals (they inherit its environment)."""
    wanted = {
        "SDL_ARCHIVE_DIR": archive_dir,
        "JUPYTERHUB_USER": user,
        "JUPYTERHUB_SERVER_NAME": server_name,
    }
    return processes_where(lambda env: all(env.get(k) == v for k, v in wanted.items()))
