"""The `data:` and `sync:` sections: how the archive is indexed and kept current."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from hub.settings.base import Strict
from hub.settings.sentinel1 import Sentinel1Grid
from hub.settings.sentinel3 import Sentinel3Grid


class DataSettings(Strict):
    twins: Literal["newest", "all"] = Field(
        "newest",
        description="Reprocessed twins (one acquisition at several baselines or processing "
        "times): newest keeps only the newest active in the index; all keeps every copy "
        "(eo.load still uses one per acquisition).",
    )
    sentinel1: Sentinel1Grid = Field(
        default_factory=Sentinel1Grid,
        description="Map grid that Sentinel-1 GRD scenes are geocoded to at ingest (sigma0, "
        "thermal noise removed; not terrain-corrected).",
    )
    sentinel3: Sentinel3Grid = Field(
        default_factory=Sentinel3Grid,
        description="Map grid that Sentinel-3 swaths (OLCI, SLSTR) are regridded to at ingest.",
    )


#: The Copernicus Data Space Ecosystem's STAC API and its Sentinel-2 collections.
CDSE_STAC_URL = "https://stac.dataspace.copernicus.eu/v1"
CDSE_S2_COLLECTIONS = ["sentinel-2-l1c", "sentinel-2-l2a"]


class SyncSettings(Strict):
    """`sdl data sync`: what a (scheduled) sync searches for and how it downloads."""

    stac_url: str = Field(CDSE_STAC_URL, description="STAC API searched for new products.")
    collections: list[str] = Field(
        default_factory=lambda: list(CDSE_S2_COLLECTIONS),
        description="Collections searched (CDSE: sentinel-2-l1c, sentinel-2-l2a).",
    )
    aoi: Path | None = Field(
        None,
        description="GeoJSON whose geometry the products must intersect; default: the "
        "shipped outline of Sweden (hub/data/aoi/sweden.geojson, Natural Earth).",
    )
    bbox: tuple[float, float, float, float] | None = Field(
        None, description="W, S, E, N in degrees; replaces the AOI when set."
    )
    since: str | None = Field(None, description="Sensed on or after this date (YYYY-MM-DD).")
    until: str | None = Field(None, description="Sensed on or before this date (YYYY-MM-DD).")
    lookback_days: int = Field(
        10, ge=1, le=3660, description="Without since: search this many days back from today."
    )
    max_cloud: float | None = Field(
        None, ge=0, le=100, description="Skip products with more cloud cover (percent)."
    )
    workers: int = Field(2, ge=1, le=32, description="Products downloaded at the same time.")
    max_mb_per_s: float = Field(
        0, ge=0, description="Bandwidth cap over all downloads in MB/s (0: none)."
    )
    retries: int = Field(
        5, ge=0, le=20, description="Retries (with backoff) of a failed request or download."
    )
    timeout_s: float = Field(60, gt=0, description="Seconds a connection may stay silent.")
    folder: str = Field(
        "sync", description="Folder under the archive that synced products land in."
    )
    s3_endpoint: str = Field(
        "https://eodata.dataspace.copernicus.eu",
        description="Endpoint for s3:// assets (CDSE's S3); credentials from the "
        "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).",
    )

    schedule: str | None = Field(
        None,
        description="Run `sdl data sync` on this cron schedule (UTC), e.g. '0 3 * * *': "
        "the CronJob sdl-data-sync on Kubernetes, a runner beside `sdl up` on one machine; "
        "unset: no scheduled runs.",
    )

    @field_validator("since", "until")
    @classmethod
    def _a_date(cls, value: str | None) -> str | None:
        if value is not None:
            dt.date.fromisoformat(str(value))  # a ValueError names the bad date
        return None if value is None else str(value)

    @field_validator("schedule")
    @classmethod
    def _a_cron_line(cls, value: str | None) -> str | None:
        return check_schedule(value) if value else None

    @field_validator("folder")
    @classmethod
    def _plain_folder(cls, value: str) -> str:
        if not value or "/" in value or value.startswith("."):
            raise ValueError("must be a plain folder name (no '/', not hidden)")
        return value


#: Cron macros Kubernetes' CronJob accepts besides five fields.
CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def check_schedule(value: str) -> str:
    """A cron line both Kubernetes' CronJob and croniter read the same way."""
    from croniter import croniter

    line = " ".join(value.split())
    fields = line.split(" ")
    # croniter's own extensions (L, W, #, H, ?): Kubernetes refuses them
    extensions = any(c in line for c in "#?") or any(
        re.fullmatch(r"\d*[LWH]", part) for part in fields
    )
    if line in CRON_MACROS or (len(fields) == 5 and not extensions and croniter.is_valid(line)):
        return line
    raise ValueError(
        f"{value!r} is not a cron schedule; use five fields (minute hour day month weekday, "
        f"UTC), e.g. '0 3 * * *', or one of {', '.join(CRON_MACROS)}"
    )
