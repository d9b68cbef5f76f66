"""The quota service as a hub service (filled in by the quotas work)."""

from __future__ import annotations

from traitlets.config import Config

from hub.config.context import HubContext


def apply_quotas(ctx: HubContext, c: Config) -> None:
    """Register the quota service, its roles and the spawn-time checks."""
