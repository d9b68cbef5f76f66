"""What happens to a user's clusters when their server stops (filled in by the gateway work)."""

from __future__ import annotations

from typing import Any


async def stop_user_clusters(spawner: Any) -> None:
    """Stop every Dask cluster of the spawner's user."""
