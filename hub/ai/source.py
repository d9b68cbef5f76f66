"""The archive read that training chips and inference both start from.

Reflectance over an area and time, lazily, in Dask chunks of one time step and one
square block of pixels: a chip (or a block of chips) then reads only its own pixels,
and each band file is decoded once a block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hub import eo

if TYPE_CHECKING:
    import xarray as xr
    from datacube import Datacube


def load_reflectance(
    lon: tuple[float, float] | None,
    lat: tuple[float, float] | None,
    time: str | tuple[str, str] | None,
    *,
    bands: Sequence[str],
    mission: str,
    level: str,
    crs: str,
    resolution: float,
    block: int,
    mask_clouds: bool | None = None,
    dc: Datacube | None = None,
) -> xr.Dataset:
    """`bands` as reflectance (0..1), `block` x `block` pixels a chunk; `mask_clouds=None`
    is eo.load's own default (on for Sentinel-2 L2A)."""
    return eo.load(
        lon=lon,
        lat=lat,
        time=time,
        bands=list(bands),
        mission=mission,
        level=level,
        crs=crs,
        resolution=resolution,
        mask_clouds=mask_clouds,
        reflectance=True,
        dask_chunks={"time": 1, "x": block, "y": block},
        dc=dc,
    )
