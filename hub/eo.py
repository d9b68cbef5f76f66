"""Notebook helpers for the lab's archive (Sentinel-1, -2, -3): a thin layer over `datacube`.

    from hub import eo
    ds = eo.load(lon=(22.1, 22.2), lat=(65.56, 65.6), time=("2026-06-01", "2026-08-31"),
                 bands=["red", "nir"])             # L2A, clouds masked, EPSG:3006 at 10 m
    ndvi = (ds.nir - ds.red) / (ds.nir + ds.red)

    s1 = eo.load(mission="sentinel-1", lon=..., lat=..., time=..., bands=["vv"])  # sigma0

What it adds to `dc.load`: products chosen by mission and processing level (from each
product definition's own metadata), band aliases checked up front with an error naming
the product's bands (and the mission that has the one asked for), cloud masking from the
L2A scene classification (SCL), per-band scaling, search fields such as orbit direction
as filters, an error instead of an empty dataset when nothing matches, and export.

This module is the notebooks' one entry point: `load` and `connect` live here, the rest
in its own module (the query: `hub.eo_query`; pixel values: `hub.eo_values`; export:
`hub.eo_export`; the archive's map: `hub.eo_map`), all of it reachable as `eo.<name>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import xarray as xr

from hub.data.db import datacube_for
from hub.data.twins import newest_per_acquisition
from hub.eo_export import NetcdfEngine, to_cog, to_netcdf
from hub.eo_map import coverage_map
from hub.eo_query import (
    DEFAULT_LEVEL,
    DEFAULT_PRODUCT,
    QueryError,
    bands_elsewhere,
    describe_query,
    mission_level,
    pick_product,
    products_for,
    resolve_bands,
    spatial_query,
)
from hub.eo_values import (
    GroupBy,
    apply_scaling,
    hide_clouds,
    slice_offsets,
    to_db,
    to_reflectance,
)

if TYPE_CHECKING:  # datacube is slow to import: at run time only where it is used
    from datacube import Datacube

__all__ = [  # what notebooks reach as eo.<name>, wherever it is defined
    "DEFAULT_BANDS",
    "DEFAULT_CHUNKS",
    "DEFAULT_CRS",
    "DEFAULT_LEVEL",
    "DEFAULT_PRODUCT",
    "GroupBy",
    "NetcdfEngine",
    "QueryError",
    "apply_scaling",
    "connect",
    "coverage_map",
    "load",
    "products_for",
    "resolve_bands",
    "slice_offsets",
    "spatial_query",
    "to_cog",
    "to_db",
    "to_netcdf",
    "to_reflectance",
]

DEFAULT_CRS = "EPSG:3006"  # SWEREF 99 TM
DEFAULT_BANDS = ("red", "green", "blue", "nir")
#: One time step per chunk, 2048 px squares (~8 MB of uint16): good for Dask Gateway workers.
DEFAULT_CHUNKS = {"time": 1, "x": 2048, "y": 2048}


def connect(url: str | None = None, app: str = "sdl-notebook") -> Datacube:
    """A Datacube on `url` (legacy postgres driver), or from the workspace's ODC config."""
    return datacube_for(url, app)


def load(
    *,
    lon: tuple[float, float] | None = None,
    lat: tuple[float, float] | None = None,
    geometry: Any = None,
    time: str | tuple[str, str] | None = None,
    mission: str = "sentinel-2",
    level: str | None = None,
    bands: Sequence[str] | None = None,
    product: str | None = None,
    crs: str = DEFAULT_CRS,
    resolution: float = 10,
    mask_clouds: bool | None = None,
    reflectance: bool = False,
    scaled: bool = False,
    dask_chunks: dict[str, int | Literal["auto"]] | Literal["auto"] | None = "auto",
    group_by: GroupBy = "solar_day",
    resampling: str = "nearest",
    dc: Datacube | None = None,
    **extra: Any,
) -> xr.Dataset:
    """Load bands (names or aliases) for an area and time, reprojected to `crs`.

    `mission` (sentinel-1, -2, -3) and `level` (e.g. GRD, L1C, L2A; default L2A for
    Sentinel-2, else the mission's only level) choose the product, `product=` one of
    several. `bands` defaults to red/green/blue/nir for Sentinel-2, all bands otherwise.
    `mask_clouds` (default: on for Sentinel-2 L2A) hides SCL no-data, defects, cloud
    shadows, clouds and cirrus as NaN. `reflectance` turns Sentinel-2 digital numbers
    into reflectance (0..1, with the processing baseline's offset); `scaled` applies each
    band's scale_factor/add_offset (other missions' packed integers). Search fields of
    the index (e.g. orbit_direction="ascending", relative_orbit=29, platform=...) filter
    datasets. `dask_chunks="auto"` loads lazily in DEFAULT_CHUNKS; None loads now.
    """
    dc = dc or connect()
    found = pick_product(dc, mission, level, product, bands)
    level = mission_level(found)[1]
    is_s2 = mission.lower() == "sentinel-2"
    if mask_clouds is None:
        mask_clouds = is_s2 and level.upper() == "L2A"
    if mask_clouds and "SCL" not in found.measurements:
        raise QueryError(
            f"mask_clouds needs the L2A scene classification; {mission} {level} has none "
            "(use level='L2A' or mask_clouds=False)"
        )
    if bands is None:
        bands = DEFAULT_BANDS if is_s2 else list(found.measurements)
    try:
        wanted = resolve_bands(found, list(bands))
    except QueryError as exc:
        raise QueryError(f"{exc}{bands_elsewhere(dc, bands)}") from None
    searchable = set(found.metadata_type.dataset_fields)
    search = {k: extra.pop(k) for k in list(extra) if k in searchable}
    query = spatial_query(lon, lat, geometry)
    if time is not None:
        query["time"] = time
    # twins (reprocessed copies of one acquisition) would be fused into one time slice
    datasets = newest_per_acquisition(dc.find_datasets(product=found.name, **query, **search))
    if not datasets:
        raise QueryError(
            f"no {found.name} datasets for {describe_query({**query, **search})}; "
            "`sdl data ls` shows what the index covers"
        )
    measurements = list(wanted)
    if mask_clouds and "SCL" not in wanted.values():
        measurements.append("scl")
    chunks = DEFAULT_CHUNKS if dask_chunks == "auto" else dask_chunks
    data = dc.load(
        datasets=datasets,
        measurements=measurements,
        output_crs=crs,
        resolution=resolution,
        group_by=group_by,
        dask_chunks=chunks,
        resampling={"*": resampling, "scl": "nearest", "SCL": "nearest"},
        **query,
        **extra,
    )
    if mask_clouds:
        data = hide_clouds(data, wanted)
    if reflectance and is_s2:
        data = to_reflectance(data, wanted, slice_offsets(dc, datasets, group_by))
    elif reflectance or scaled:
        data = apply_scaling(data, found, wanted)
    data.attrs.update({"product": found.name, "mission": mission.lower(), "level": level})
    return data
