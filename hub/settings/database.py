"""The `database:` section: the PostgreSQL holding the Open Data Cube index."""

from __future__ import annotations

from pydantic import Field

from hub.settings.base import Strict


class DatabaseSettings(Strict):
    url: str = Field(
        "",
        description="Admin URL of an external PostgreSQL for the ODC index; "
        "empty runs the embedded one (pgserver) in the data dir.",
    )
    name: str = Field("datacube", description="Database holding the Open Data Cube index.")
    user_connection_limit: int = Field(
        8, ge=1, le=1000, description="Connections each user's read-only login may hold."
    )
