"""Spawn-time quota checks (filled in by the quotas work)."""

from __future__ import annotations

from typing import Any

from hub.profiles import Profile


async def check_spawn(spawner: Any, profile: Profile) -> None:
    """Raise `tornado.web.HTTPError` when this spawn would exceed the user's quota."""
