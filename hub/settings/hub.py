"""The `hub:` section: where browsers reach the platform and how long servers live."""

from __future__ import annotations

from pydantic import Field

from hub.settings.base import ListenPort, Strict


class HubSettings(Strict):
    ip: str = Field("127.0.0.1", description="Address the proxy listens on for browsers.")
    port: ListenPort = Field(8000, description="Port for browsers; 0 picks a free one.")
    base_url: str = Field("/", description="URL prefix of the whole platform.")
    os_user_prefix: str = Field(
        "sdl-",
        pattern=r"^[a-z_][a-z0-9_-]{0,15}$",
        description="Local mode: prefix of the OS account each user gets (`sdl-alice`). "
        "An account belongs to one platform (the one whose data dir holds its home): give "
        "each platform on one machine its own prefix.",
    )
    spawn_timeout: int = Field(120, ge=10, le=3600, description="Seconds a server may take.")
    cull_idle_after: int = Field(
        3600, ge=0, description="Stop servers idle this many seconds (0: never)."
    )
    active_server_limit: int = Field(
        100,
        ge=1,
        le=5000,
        description="Servers that may run at once (JupyterHub's `active_server_limit`; "
        "one more is told to try again in a few minutes). It also sizes the embedded "
        "PostgreSQL: every running user can hold all of `database.user_connection_limit` "
        "and the platform still has its own slots, so a user's first connection always "
        "gets one. An external `database.url` needs `max_connections` of at least "
        "23 plus this times the connection limit; `sdl up` checks it before starting.",
    )
