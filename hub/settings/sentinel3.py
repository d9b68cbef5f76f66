"""The `data.sentinel3` section: the map grid Sentinel-3 swaths are regridded to at ingest."""

from __future__ import annotations

from pydantic import Field

from hub.settings.base import PixelSize, ProjectedCrs, Strict


class Sentinel3Grid(Strict):
    """Target grid of Sentinel-3 ingest (the swath is resampled onto it, then indexed)."""

    crs: ProjectedCrs = Field(
        "EPSG:3006",
        description="Coordinate reference system of the regridded COGs (default SWEREF 99 "
        "TM); any that pyproj knows, e.g. EPSG:3035 or EPSG:32633.",
    )
    olci_resolution: PixelSize = Field(
        300, description="Pixel size in metres for OLCI full resolution."
    )
    slstr_resolution: PixelSize = Field(
        1000, description="Pixel size in metres for SLSTR (1 km TIR grid)."
    )

    def resolution_for(self, instrument: str) -> float:
        return self.slstr_resolution if instrument == "SLSTR" else self.olci_resolution
