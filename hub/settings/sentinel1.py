"""The `data.sentinel1` section: the map grid Sentinel-1 GRD scenes are geocoded to at ingest."""

from __future__ import annotations

from pydantic import Field

from hub.settings.base import PixelSize, ProjectedCrs, Strict


class Sentinel1Grid(Strict):
    """Target grid of Sentinel-1 GRD ingest (sigma0 is geocoded onto it, then indexed)."""

    crs: ProjectedCrs = Field(
        "EPSG:3006",
        description="Coordinate reference system of the geocoded sigma0 COGs (default "
        "SWEREF 99 TM); any projected CRS pyproj knows, e.g. EPSG:32633. `sdl data add "
        "--convert cog --crs ...` overrides it for one run.",
    )
    iw_resolution: PixelSize = Field(
        10, description="Pixel size in metres for IW scenes (GRDH: 10 m)."
    )
    ew_resolution: PixelSize = Field(
        40, description="Pixel size in metres for EW scenes (GRDM: 40 m)."
    )

    def resolution_for(self, mode: str) -> float:
        return self.ew_resolution if mode == "EW" else self.iw_resolution
