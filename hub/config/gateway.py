"""Dask Gateway as a hub service (filled in by the gateway work)."""

from __future__ import annotations

from traitlets.config import Config

from hub.config.context import HubContext


def apply_gateway(ctx: HubContext, c: Config) -> None:
    """Register the gateway service, its role and the workspace environment."""
