"""Hooks every spawner runs, whatever the mode: after a server stops."""

from __future__ import annotations

from typing import Any

from hub.gateway.lifecycle import stop_user_clusters


async def post_stop_hook(spawner: Any) -> None:
    """JupyterHub's `Spawner.post_stop_hook`: a stopped or culled server takes its clusters."""
    try:
        await stop_user_clusters(spawner)
    except Exception:  # a stop must never fail because the gateway is away
        spawner.log.exception("could not stop the Dask clusters of %s", spawner.user.name)
