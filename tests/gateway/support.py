"""Helpers for the gateway tests: workspace environments and gateway clients."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
from dask_gateway import Gateway, JupyterHubAuth

from hub.accounts import os_username
from tests.support.platform import account_prefix

AS_ROOT = os.geteuid() == 0
OPEN_GATEWAYS: list[Gateway] = []  # closed after each test (see close_gateways)


def server_environment(username: str, data_dir: Path) -> dict[str, str]:
    """The environment of `username`'s running single-user server on the platform of
    `data_dir` (other platforms may run on this machine), read via /proc."""
    archive = str(data_dir / "archive")
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
        except (psutil.Error, OSError):
            continue
        if (
            env.get("JUPYTERHUB_USER") == username
            and "DASK_GATEWAY__ADDRESS" in env
            and env.get("SDL_ARCHIVE_DIR") == archive
        ):
            return env
    raise AssertionError(f"no running server of {username} with the gateway environment")


def run_in_workspace(username: str, data_dir: Path, code: str, timeout: float = 150) -> Any:
    """Run `code` as the user's OS account with their server's environment.

    The code prints one JSON document on its last line; that is returned.
    """
    env = server_environment(username, data_dir)
    command = [sys.executable, "-c", code]
    if AS_ROOT:
        command = ["runuser", "-u", os_username(username, account_prefix(data_dir)), "--", *command]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, cwd="/tmp"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def gateway_as(env: dict[str, str], token: str) -> Gateway:
    """A gateway client at the workspace's addresses, with the given hub token."""
    gateway = Gateway(
        address=env["DASK_GATEWAY__ADDRESS"],
        proxy_address=env["DASK_GATEWAY__PROXY_ADDRESS"],
        public_address=env["DASK_GATEWAY__PUBLIC_ADDRESS"],
        auth=JupyterHubAuth(api_token=token),
    )
    OPEN_GATEWAYS.append(gateway)
    return gateway


def close_gateways() -> None:
    while OPEN_GATEWAYS:
        OPEN_GATEWAYS.pop().close()
    gc.collect()  # here, not on a client's loop thread (see finish)


def finish(cluster: Any) -> None:
    """Stop a cluster and close its client side.

    dask_gateway's client deadlocks when a cluster's internal Gateway is garbage
    collected on its own event-loop thread (its __del__ waits on that loop), so close
    it explicitly, from this thread.
    """
    cluster.shutdown()
    cluster.close()


def cluster_processes(cluster_name: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("DASK_GATEWAY_CLUSTER_NAME") == cluster_name:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def dashboard_websocket_ack(page_url: str, page_html: str, token: str) -> str:
    """Open the bokeh websocket of a dashboard page as a browser would; its first message.

    Bokeh authenticates sessions with a token in the page, sent as a subprotocol.
    """
    import asyncio
    import re

    import aiohttp

    session_token = re.search(r'"token":"([^"]+)"', page_html)
    assert session_token, "no bokeh session token in the dashboard page"

    async def first_message() -> str:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(
                page_url.replace("http", "ws", 1) + "/ws",
                headers={"Authorization": f"token {token}"},
                protocols=["bokeh", session_token.group(1)],
            ) as ws,
        ):
            message = await asyncio.wait_for(ws.receive(), 20)
            return str(message.data)

    return asyncio.run(first_message())
