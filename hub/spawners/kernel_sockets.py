"""Kernels talk to their server over Unix sockets in a folder of the user's own.

Jupyter's default transport is TCP on 127.0.0.1: five ports per kernel that every local
user may connect to. Messages are signed but not encrypted, so another user subscribing
to a kernel's IOPub port reads every output of its notebook. The ports are also picked at
random by each server on its own (bind to port 0, close, hand the number to the kernel),
so two servers starting kernels at the same moment can pick the same one; the kernel
that loses dies, and its restarts reuse the cached ports until it is given up (one of
100 kernels in the load benchmark). Over `ipc`, each channel is a socket file in
`<data dir>/run/kernels/<uid>` (mode 0700, the user's): there is no port to hear or to
collide on.

A Unix socket's path has at most 107 bytes; on a data dir too deep for that, kernels keep
TCP and the spawn log says why.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

KERNELS_DIR = ("run", "kernels")
#: What jupyter_client appends to the runtime dir: `/kernel-<uuid>-ipc-<n>`.
SOCKET_NAME_ROOM = len("/kernel-") + 36 + len("-ipc-99")
#: sun_path is 108 bytes, one of them the terminating NUL (libzmq refuses longer).
MAX_SOCKET_PATH = 107


@dataclass(frozen=True)
class KernelSockets:
    """What a server's kernels are told, and a line for the spawn log."""

    env: dict[str, str]
    args: list[str]
    message: str


def sockets_dir(data_dir: Path, uid: int) -> Path:
    return data_dir.joinpath(*KERNELS_DIR) / str(uid)


def prepare_kernel_sockets(data_dir: Path, uid: int, gid: int) -> KernelSockets:
    """A fresh, private sockets folder for the user's kernels (as root: owned by them),
    or TCP where the folder's path leaves no room for the sockets' names."""
    folder = sockets_dir(data_dir.resolve(), uid)
    if len(os.fsencode(folder)) + SOCKET_NAME_ROOM > MAX_SOCKET_PATH:
        return KernelSockets(
            {},
            [],
            f"Kernels: TCP on 127.0.0.1 (the data dir's path is too long for Unix sockets: "
            f"{folder} leaves no room within {MAX_SOCKET_PATH} bytes); other users on this "
            "machine can connect to their ports",
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.parent.chmod(0o711)  # users pass through to their own folder, list nothing
    # fresh at each start: no socket or connection file of an earlier server (or of an
    # account that once had this uid) is left in it
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    if os.geteuid() == 0:
        os.chown(folder, uid, gid)
    folder.chmod(0o700)
    return KernelSockets(
        # the runtime dir holds the kernels' connection files, whose `ip` (for ipc, the
        # path of their sockets) jupyter_client derives from the file's own path
        {"JUPYTER_RUNTIME_DIR": str(folder)},
        ["--KernelManager.transport=ipc"],
        "Kernels: Unix sockets in a folder of your own (no TCP port)",
    )
