"""The `quotas:` section of the settings document."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hub.policy.quota import Policy
from hub.profiles import Bytes
from hub.settings.base import ListenPort, Strict


class QuotaSettings(Strict):
    enabled: bool = Field(
        True, description="Run the quota service and check quotas at every spawn."
    )
    defaults: Policy = Field(
        default_factory=Policy,
        description="Platform-wide policy for fields no group or user sets; "
        "a field left out is unlimited. Groups and users are edited in the admin console "
        "or with `sdl quota set`.",
    )
    budget_window_days: int = Field(
        30, ge=1, le=366, description="Rolling window of the CPU-hour budget, in days."
    )
    database: str = Field(
        "sdl",
        description="Database (on the platform's PostgreSQL) holding policies and usage.",
    )
    port: ListenPort = Field(
        0,
        description="Port the quota service listens on (127.0.0.1); 0 picks a free one "
        "locally and 10101 on Kubernetes.",
    )
    poll_interval: float = Field(
        15, ge=0.5, le=3600, description="Seconds between usage polls of the hub API."
    )
    storage_scan_interval: float = Field(
        300,
        ge=1,
        description="Seconds between measurements of home sizes (local mode).",
    )
    home_filesystem: Literal["auto", "folder"] = Field(
        "auto",
        description="Local mode: `auto` gives a home with a `home_storage` limit a file "
        "system of its own of that size (an ext4 image in <data dir>/home-images, "
        "loop-mounted, its whole size allocated on the disk when made or grown), so the "
        "limit holds while the server runs and no user can fill the platform's disk; used "
        "where the platform runs as root and can loop-mount. `folder`: homes stay folders "
        "and the limit is checked at spawn only.",
    )
    platform_reserve: Bytes = Field(
        2 * 2**30,
        description="Local mode: space (bytes, or a size such as `2Gi`) kept free on the "
        "data dir's file system for PostgreSQL and the hub. A home's file system takes its "
        "whole `home_storage` size from that disk when it is made or grown; a spawn that "
        "would leave less than this free is refused, saying to free space or lower the limit.",
    )
    exempt_admins: bool = Field(
        True, description="Hub admins are not limited by quotas (they are still shown)."
    )
    admin_group: str = Field(
        "quota-admins",
        description="Members of this hub group may read and edit every quota without "
        "being hub admins (custom:quotas:read / custom:quotas:write).",
    )
