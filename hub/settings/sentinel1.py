"""The `data.sentinel1` section: the map grid Sentinel-1 GRD scenes are geocoded to at ingest."""

from __future__ import annotations

from pydantic import Field, field_validator

from hub.settings.base import Strict


class Sentinel1Grid(Strict):
    """Target grid of Sentinel-1 GRD ingest (sigma0 is geocoded onto it, then indexed)."""

    crs: str = Field(
        "EPSG:3006",
        description="Coordinate reference system of the geocoded sigma0 COGs (default "
        "SWEREF 99 TM); any projected CRS pyproj knows, e.g. EPSG:32633. `sdl data add "
        "--convert cog --crs ...` overrides it for one run.",
    )
    iw_resolution: float = Field(
        10, gt=0, le=10_000, description="Pixel size in metres for IW scenes (GRDH: 10 m)."
    )
    ew_resolution: float = Field(
        40, gt=0, le=10_000, description="Pixel size in metres for EW scenes (GRDM: 40 m)."
    )

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, value: str) -> str:
        # pyproj is heavy and only needed when a settings file names a CRS
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            crs = CRS.from_user_input(value)
        except CRSError as exc:
            raise ValueError(f"{value!r} is not a coordinate reference system ({exc})") from exc
        if not crs.is_projected:
            raise ValueError(f"{value!r} is not a projected CRS; use metres, e.g. EPSG:3006")
        return value

    def resolution_for(self, mode: str) -> float:
        return self.ew_resolution if mode == "EW" else self.iw_resolution
